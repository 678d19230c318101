package cli

// The plumbing shared by the operator commands (orders, deliveries):
// subcommand dispatch, argument parsing, opening the database for ops,
// naming the operator, and the order filter flags.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os/user"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// command is a subcommand's entry point.
type command func(ctx context.Context, env *environment, args []string) error

// subcommand runs the subcommand args[0] of the command name.
func subcommand(ctx context.Context, env *environment, args []string, name, usage string, subs map[string]command) error {
	if len(args) == 0 {
		fmt.Fprint(env.stderr, usage)
		return ErrUsage
	}
	sub := args[0]
	if run, ok := subs[sub]; ok {
		return run(ctx, env, args[1:])
	}
	switch sub {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(env.stdout, usage)
		return nil
	}
	fmt.Fprint(env.stderr, usage)
	return fmt.Errorf("unknown subcommand %q of %s", sub, name)
}

// registerDatabase registers the flags of commands that only use the
// configuration and the database.
func (c *configFlags) registerDatabase(fs *flag.FlagSet) {
	fs.StringVar(&c.file, "config", "", "YAML configuration file (default $WEBHOOK_RECEIVER_CONFIG)")
	fs.StringVar(&c.databaseURL, "database-url", "", "database URL (default $WEBHOOK_RECEIVER_DATABASE_URL or sqlite:webhook-receiver.db)")
}

// parseArgs parses flags placed before, between or after the positional
// arguments, and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			return nil, errHelp
		case err != nil:
			return nil, ErrUsage
		case fs.NArg() == 0:
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// usageError prints a command's usage after a message and returns ErrUsage.
func usageError(fs *flag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(fs.Output(), format+"\n", a...)
	fs.Usage()
	return ErrUsage
}

// openOps loads the configuration and opens its database for an operator
// command. The database must exist, and is never created: a command run
// without the service's --config or --database-url would otherwise find
// a new, empty one. The schema must be current: these commands run beside
// a live service and leave migrating to it (or to 'migrate').
func openOps(ctx context.Context, env *environment, flags *configFlags) (*ops.Ops, func(), error) {
	cfg, _, err := flags.load(env)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: min(cfg.DatabaseMaxConns, 4), Existing: true})
	if errors.Is(err, store.ErrNoDatabase) {
		return nil, nil, errors.New(noDatabase(env, cfg, missingFile(cfg)))
	}
	if err != nil {
		return nil, nil, databaseError(cfg, err)
	}
	has, err := db.HasSchema(ctx)
	if err == nil && !has {
		err = errors.New(noDatabase(env, cfg, noTables))
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	pending, err := db.PendingMigrations(ctx)
	if err == nil {
		var queuePending int
		queuePending, err = jobs.PendingMigrations(ctx, db)
		pending += queuePending
	}
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	if pending > 0 {
		db.Close()
		return nil, nil, fmt.Errorf("the database at %s lacks %d migration(s): run 'webhook-receiver migrate' (or start serve) first",
			config.RedactURL(cfg.DatabaseURL), pending)
	}
	// Insert-only: the jobs are worked by serve or worker.
	queue, err := jobs.New(db, nil, jobs.Options{Workers: 0, MaxAttempts: cfg.MaxAttempts, BatchSize: cfg.LMS.BatchSize})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return &ops.Ops{DB: db, Enqueue: queue.Enqueue, Config: cfg}, func() { db.Close() }, nil
}

// actor names the operator of a command in the actions it records: their
// USER, or their login name from the OS when USER is empty (a cron job, a
// container); "cli" only when neither is known.
func actor(env *environment) string {
	if u := strings.TrimSpace(env.getenv("USER")); u != "" {
		return "cli:" + u
	}
	lookup := env.osUser
	if lookup == nil {
		lookup = loginName
	}
	if u, err := lookup(); err == nil && strings.TrimSpace(u) != "" {
		return "cli:" + strings.TrimSpace(u)
	}
	return "cli"
}

// loginName is the name of the user running the process, from the OS.
func loginName() (string, error) {
	u, err := user.Current()
	if err != nil {
		return "", err
	}
	return u.Username, nil
}

// filterNames names the filter flags that narrow the orders (ops.HasFilter).
const filterNames = "--query, --email, --course, --platform, --source, --since or --until"

// filterFlags are the order filters shared by list and retry --all-failed.
type filterFlags struct {
	query, status, email, course, platform, source, since, until string
}

func (f *filterFlags) register(fs *flag.FlagSet, status bool) {
	fs.StringVar(&f.query, "query", "", "a shop order id, a learner email or a course id / SKU")
	if status {
		fs.StringVar(&f.status, "status", "", fmt.Sprintf("item status (%s) or order status (%s)",
			enroll.Or(enroll.ItemStatuses()), enroll.Or(enroll.OrderStatuses())))
	}
	fs.StringVar(&f.email, "email", "", "learner email (any case)")
	fs.StringVar(&f.course, "course", "", "course id or SKU")
	fs.StringVar(&f.platform, "platform", "", "shopify or woocommerce")
	fs.StringVar(&f.source, "source", "", "shop domain (any case) or site URL (any case of scheme and host, with or without its trailing slash)")
	fs.StringVar(&f.since, "since", "", "orders created since: a duration back from now (24h, 7d) or a date or time (2026-11-01, RFC 3339)")
	fs.StringVar(&f.until, "until", "", "orders created before: same forms as --since")
}

func (f *filterFlags) filter(now time.Time) (store.OrderFilter, error) {
	of := store.OrderFilter{Query: f.query, Status: f.status, Email: f.email, Course: f.course, Source: f.source}
	switch p := enroll.Platform(strings.ToLower(f.platform)); p {
	case "", enroll.Shopify, enroll.WooCommerce:
		of.Platform = p
	default:
		return of, fmt.Errorf("--platform %q: use shopify or woocommerce", f.platform)
	}
	var err error
	if of.Since, err = parseMoment("--since", f.since, now); err != nil {
		return of, err
	}
	if of.Until, err = parseMoment("--until", f.until, now); err != nil {
		return of, err
	}
	return of, nil
}

// parseMoment reads --since or --until (see ops.ParseTime).
func parseMoment(name, s string, now time.Time) (time.Time, error) {
	t, err := ops.ParseTime(s, now, name == "--until")
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}
