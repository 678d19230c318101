// Package cli is the webhook-receiver command: it parses arguments, loads
// the configuration and wires the concrete pieces together.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
)

// ErrUsage reports a command line that could not be understood; its usage
// has been printed already.
var ErrUsage = errors.New("invalid usage")

const usage = `webhook-receiver turns Shopify and WooCommerce order webhooks into Open edX enrollments.

Usage:
  webhook-receiver <command> [flags]

Commands:
  serve     run the HTTP server and the enrollment workers
  worker    run the enrollment workers only (health and metrics endpoints on the listen address)
  migrate   create or upgrade the database schema, then exit
  check     validate the configuration, the database and the LMS connection
  orders    list, show and retry orders: orders list|show|retry|resolve
  deliveries  list and replay webhook deliveries: deliveries list|replay
  hash-password  print a bcrypt hash of a password read from standard input
  send-test  send one signed sample order to a running service
  version   print the version
  help      print this help, or a command's help: help <command>

Configuration comes from an optional YAML file (WEBHOOK_RECEIVER_CONFIG or
--config), environment variables (WEBHOOK_RECEIVER_*, and the Django app's
DJANGO_* names) and the flags --listen and --database-url, each overriding the
one before; see the README.
`

// Run runs the command line args (args[0] is the program name), reading
// the process's standard input where a command needs input.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return RunWithInput(ctx, args, getenv, os.Stdin, stdout, stderr)
}

// RunWithInput is Run with the standard input given (hash-password reads it).
func RunWithInput(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return ErrUsage
	}
	env := &environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if err := dispatch(ctx, env, args[0], args[1], args[2:]); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

func dispatch(ctx context.Context, env *environment, prog, cmd string, rest []string) error {
	switch cmd {
	case "serve":
		return serve(ctx, env, rest)
	case "worker":
		return worker(ctx, env, rest)
	case "migrate":
		return migrate(ctx, env, rest)
	case "check":
		return check(ctx, env, rest)
	case "orders":
		return orders(ctx, env, rest)
	case "deliveries":
		return deliveries(ctx, env, rest)
	case "hash-password":
		return hashPassword(ctx, env, rest)
	case "send-test":
		return sendTest(ctx, env, rest)
	case "version", "-version", "--version":
		return printVersion(env, rest)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 && rest[0] != "help" {
			return dispatch(ctx, env, prog, rest[0], []string{"-h"})
		}
		fmt.Fprint(env.stdout, usage)
		return nil
	default:
		fmt.Fprint(env.stderr, usage)
		return fmt.Errorf("unknown command %q (try 'webhook-receiver help')", cmd)
	}
}

// environment is what every command gets from the process.
type environment struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// configFlags are the flags shared by commands that load the configuration.
type configFlags struct {
	file, listen, databaseURL string
}

func newFlagSet(env *environment, name, summary string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: webhook-receiver %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.file, "config", "", "YAML configuration file (default $WEBHOOK_RECEIVER_CONFIG)")
	fs.StringVar(&c.listen, "listen", "", "address to listen on (default $WEBHOOK_RECEIVER_LISTEN or :8000)")
	fs.StringVar(&c.databaseURL, "database-url", "", "database URL (default $WEBHOOK_RECEIVER_DATABASE_URL or sqlite:webhook-receiver.db)")
}

// parse parses the flags; a request for help returns errHelp.
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(io.Discard)
		return errHelp
	case err != nil:
		return ErrUsage
	case fs.NArg() > 0:
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return ErrUsage
	}
	return nil
}

// errHelp ends a command that printed its help; Run turns it into success.
var errHelp = errors.New("help requested")

// load reads the configuration: defaults < YAML < environment < flags. The
// flags are validated with the rest, and win before validation, so that a
// good flag replaces a bad value from the environment or a file.
func (c *configFlags) load(env *environment) (config.Config, []string, error) {
	flags := config.Flags{File: c.file, Listen: c.listen, DatabaseURL: c.databaseURL}
	cfg, warnings, err := config.Load(env.getenv, flags)
	if err != nil {
		return cfg, warnings, fmt.Errorf("configuration: %w", err)
	}
	return cfg, warnings, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
