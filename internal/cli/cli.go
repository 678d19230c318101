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
	"net/http"
	"os"
	"os/signal"
	"strings"
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
  worker    run the enrollment workers and periodic jobs, no webhooks (health and metrics endpoints on the listen address)
  migrate   create or upgrade the database schema, then exit
  check     validate the configuration, the database and the LMS connection
  orders    list, show and retry orders: orders list|show|retry|resolve
  deliveries  list and replay webhook deliveries: deliveries list|replay
  privacy   personal data: privacy export|redact|requests|answer
  shops     the shops' webhook subscriptions, through their APIs: shops subscribe|status
  reconcile  store the orders the webhooks did not bring, read from the shops' APIs
  purge     drop the raw bodies of old deliveries of finished orders and of rejected ones
  hash-password  print a bcrypt hash of a password read from standard input
  send-test  send one signed sample order to a running service
  import-django  copy the Django app's orders and items, with their history, into this database
  healthcheck  ask the running service whether it is ready (/readyz) or alive (--live): exit 0 or 1
  script    run a script of webhook-receiver commands without a shell (Tutor's init tasks)
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
	return runCommand(ctx, args, &environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr})
}

// RunEnviron is RunWithInput for a whole environment, NAME=value pairs as
// os.Environ gives them: the commands then also warn about the variables
// that look like settings but are none (a misspelled name is otherwise
// ignored without a word).
func RunEnviron(ctx context.Context, args, environ []string, stdin io.Reader, stdout, stderr io.Writer) error {
	vars := make(map[string]string, len(environ))
	var names []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if _, dup := vars[name]; !dup { // the first one counts, as for os.Getenv
			vars[name] = value
			names = append(names, name)
		}
	}
	getenv := func(name string) string { return vars[name] }
	return runCommand(ctx, args, &environment{getenv: getenv, names: names, stdin: stdin, stdout: stdout, stderr: stderr})
}

func runCommand(ctx context.Context, args []string, env *environment) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(args) < 2 {
		fmt.Fprint(env.stderr, usage)
		return ErrUsage
	}
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
	case "privacy":
		return privacy(ctx, env, rest)
	case "shops":
		return shops(ctx, env, rest)
	case "reconcile":
		return reconcile(ctx, env, rest)
	case "purge":
		return purge(ctx, env, rest)
	case "hash-password":
		return hashPassword(ctx, env, rest)
	case "send-test":
		return sendTest(ctx, env, rest)
	case "import-django":
		return importDjango(ctx, env, rest)
	case "healthcheck":
		return healthcheck(ctx, env, rest)
	case "script":
		return script(ctx, env, rest)
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
	getenv func(string) string
	// names are the names of the environment's variables, when known
	// (RunEnviron), to warn about those that are not settings.
	names          []string
	stdin          io.Reader
	stdout, stderr io.Writer
	// osUser tells the login name of the user running the process; nil
	// asks the OS.
	osUser func() (string, error)
	// httpClient calls the shops' APIs; nil is a client of their own.
	// Tests give one that trusts their fake shops.
	httpClient *http.Client
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
// good flag replaces a bad value from the environment or a file. When it
// fails, the warnings are printed first, on standard error: they often say
// why (an ignored, misspelled name).
func (c *configFlags) load(env *environment) (config.Config, []string, error) {
	cfg, warnings, err := c.read(env)
	if err != nil {
		for _, w := range warnings {
			fmt.Fprintf(env.stderr, "warning: %s\n", w)
		}
	}
	return cfg, warnings, err
}

// read is load for the commands that show the warnings themselves, and
// the Django app's names that were read (see startLog).
func (c *configFlags) read(env *environment) (config.Config, []string, error) {
	flags := config.Flags{File: c.file, Listen: c.listen, DatabaseURL: c.databaseURL}
	cfg, warnings, err := config.Load(env.getenv, flags)
	warnings = append(config.UnknownVariables(env.names), warnings...)
	if err != nil {
		return cfg, warnings, fmt.Errorf("configuration: %w", err)
	}
	return cfg, warnings, nil
}

// startLog logs what an operator should see at start about the
// configuration, before an error can end the start: which of the Django
// app's names were read, and every warning.
func startLog(logger *slog.Logger, cfg config.Config, warnings []string) {
	if names := cfg.LegacyNames(); len(names) > 0 {
		logger.Info("read the Django app's setting names", "names", strings.Join(names, ","))
	}
	for _, w := range warnings {
		logger.Warn(w)
	}
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
