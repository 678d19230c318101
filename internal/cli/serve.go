package cli

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/admin"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/server"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// shutdownTimeout bounds how long in-flight requests and jobs get to finish.
const shutdownTimeout = 15 * time.Second

// Group commit: how many goroutines write webhooks (PostgreSQL; SQLite has
// one writer) and how many webhooks one transaction stores at most. One
// writer on PostgreSQL too: a batch costs the same round trips whatever its
// size, and more writers make smaller batches that each pay them, and
// take more of the CPU the database and the enrollment workers need.
const (
	writerCount = 1
	maxBatch    = 256
)

func serve(ctx context.Context, env *environment, args []string) error {
	return run(ctx, env, args, "serve", "Run the HTTP server and the enrollment workers in one process.\nThe database schema is created or upgraded at start.")
}

// worker runs enrollment workers with only the health endpoints, so that
// enrollment scales apart from webhook intake (serve with
// WEBHOOK_RECEIVER_WORKERS=0).
func worker(ctx context.Context, env *environment, args []string) error {
	return run(ctx, env, args, "worker", "Run enrollment workers and the periodic jobs (no webhooks), with /healthz, /readyz and /metrics on WEBHOOK_RECEIVER_LISTEN.\nThe database schema is created or upgraded at start.")
}

func run(ctx context.Context, env *environment, args []string, name, summary string) error {
	var flags configFlags
	fs := newFlagSet(env, name, summary)
	flags.register(fs)
	createDirs := registerCreateDirs(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, warnings, err := flags.read(env)
	logger := newLogger(cfg, env.stderr)
	startLog(logger, cfg, warnings)
	if err != nil {
		return err
	}
	if name == "worker" && (cfg.LMS.BaseURL == "" || cfg.Workers == 0) {
		return fmt.Errorf("worker needs WEBHOOK_RECEIVER_LMS_BASE_URL and WEBHOOK_RECEIVER_WORKERS of 1 or more")
	}
	// Bind before the database is opened: a port in use then stops the
	// start before a new database is created or migrated.
	ln, err := listen(cfg.Listen, cfg.ListenSource())
	if err != nil {
		return err
	}
	defer ln.Close() // closed already after a shutdown; this is for early returns
	var metricsLn net.Listener
	if cfg.MetricsListen != "" {
		if metricsLn, err = listen(cfg.MetricsListen, cfg.MetricsListenSource()); err != nil {
			return err
		}
		defer metricsLn.Close()
	}
	var pprofLn net.Listener
	if cfg.PprofListen != "" {
		if pprofLn, err = listen(cfg.PprofListen, cfg.Source("pprof_listen")); err != nil {
			return err
		}
		defer pprofLn.Close()
	}
	db, err := openDatabase(ctx, cfg, logger, *createDirs)
	if err != nil {
		return err
	}
	defer db.Close()
	m := newMetrics(cfg, db, logger)
	lms := newLMSClient(cfg, m)
	opts := jobOptions(cfg, logger)
	opts.Metrics = m
	opts.Shops.HTTPClient = env.httpClient
	// The writer enqueues through the queue, whose workers give way to the
	// writer: the queue is set before the first webhook can arrive.
	var queue *jobs.Queue
	writer := db.NewWriter(func(ctx context.Context, tx *sql.Tx, groups [][]int64) error {
		return queue.Enqueue(ctx, tx, groups)
	}, writerCount, maxBatch)
	defer writer.Close()
	opts.IngestBusy = writer.Busy
	if queue, err = jobs.New(db, lms, opts); err != nil {
		return err
	}
	// Rejected webhooks past the first few of a minute are counted, and the
	// counts written each minute and, through the writer, at the end.
	rejections := server.NewRejections(writer, logger)
	defer rejections.Close()
	deps := server.Deps{Logger: logger, DB: db, Writer: writer, Config: cfg, Metrics: m,
		Admin: newConsole(cfg, db, queue, logger), Rejections: rejections}
	handler := server.NewServer(deps)
	if name == "worker" {
		handler = server.NewHealthServer(deps)
	}
	srv := newHTTPServer(handler, logger)
	served := make(chan error, 2)
	stopMetrics := serveMetrics(metricsLn, deps, served)
	stopProfiler := serveProfiler(pprofLn, logger)
	defer stopProfiler()
	// The workers stop when told to, after the HTTP server, not when the
	// signal arrives: running enrollments get a chance to finish.
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		stopMetrics(ctx)
		return err
	}
	workers := cfg.Workers
	if lms == nil {
		workers = 0
	}
	logger.Info("listening", "command", name, "addr", ln.Addr().String(), "database", config.RedactURL(cfg.DatabaseURL), "workers", workers)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err = <-served:
		err = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		logger.Info("shutting down")
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if serr := srv.Shutdown(stopCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		logger.Warn("http shutdown", "error", serr)
	}
	if serr := stopMetrics(stopCtx); serr != nil {
		logger.Warn("metrics shutdown", "error", serr)
	}
	if qerr := queue.Stop(stopCtx); qerr != nil {
		logger.Warn("workers shutdown", "error", qerr)
	}
	logger.Info("stopped")
	return err
}

// listen binds addr; source names the setting that gave it, for the error.
func listen(addr, source string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (%s): %w", addr, source, err)
	}
	return ln, nil
}

// newHTTPServer returns a server with the timeouts every listener gets.
func newHTTPServer(handler http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// registerCreateDirs registers --create-dirs, for the commands that
// create a SQLite database.
func registerCreateDirs(fs *flag.FlagSet) *bool {
	return fs.Bool("create-dirs", false, "create the missing directories of a new SQLite database file (without it, a missing directory is an error)")
}

// openDatabase opens the configured database, creating a SQLite file (and,
// with createDirs, its missing directories) when there is none, and brings
// its schema up to date.
func openDatabase(ctx context.Context, cfg config.Config, logger *slog.Logger, createDirs bool) (*store.DB, error) {
	if d, _ := store.DialectOf(cfg.DatabaseURL); d == store.SQLite && createDirs {
		dir, err := store.CreateSQLiteDir(cfg.DatabaseURL)
		if err != nil {
			return nil, databaseError(cfg, err)
		}
		if dir != "" {
			logger.Warn("created database directory (--create-dirs)", "dir", dir)
		}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return nil, databaseError(cfg, err)
	}
	var applied []string
	err = db.WithMigrationLock(ctx, func() error {
		if applied, err = db.Migrate(ctx); err != nil {
			return err
		}
		return jobs.Migrate(ctx, db)
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, name := range applied {
		logger.Info("migration applied", "name", name)
	}
	return db, nil
}

// databaseError names the setting that gave the database URL in an error
// about the database.
func databaseError(cfg config.Config, err error) error {
	if errors.Is(err, store.ErrNoDirectory) {
		return fmt.Errorf("%s: %w: create it, or use --create-dirs", cfg.DatabaseURLSource(), err)
	}
	return fmt.Errorf("%s: %w", cfg.DatabaseURLSource(), err)
}

// noDatabase explains that the database URL names no database of ours
// (what says how), and where the URL came from: the usual cause is a
// command run without the --config or --database-url the service has.
func noDatabase(env *environment, cfg config.Config, what string) string {
	source := cfg.DatabaseURLSource()
	from := "from " + source
	if source == "WEBHOOK_RECEIVER_DATABASE_URL" && env.getenv(source) == "" {
		from = "the default: no --database-url, WEBHOOK_RECEIVER_DATABASE_URL or database_url in a --config file"
	}
	return fmt.Sprintf("no database here — wrong --config or --database-url? %s (%s)%s", config.RedactURL(cfg.DatabaseURL), from, what)
}

// noTables is what noDatabase says of a database without our tables.
const noTables = " has no webhook-receiver tables (a new database of the service's? run 'webhook-receiver migrate', or start serve, first)"

// missingFile is what noDatabase says of a SQLite file that does not
// exist, named by its absolute path.
func missingFile(cfg config.Config) string {
	path, err := store.SQLitePath(cfg.DatabaseURL)
	if err != nil {
		return " does not exist"
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return ": sqlite file " + path + " does not exist"
}

// newLMSClient returns nil when no LMS is configured: items then wait.
func newLMSClient(cfg config.Config, obs edx.Observer) *edx.Client {
	if cfg.LMS.BaseURL == "" {
		return nil
	}
	return edx.New(edx.Options{
		BaseURL: cfg.LMS.BaseURL, ClientID: cfg.LMS.OAuth2Key, ClientSecret: cfg.LMS.OAuth2Secret.Value(),
		SKUPrefix: cfg.LMS.SKUPrefix, Timeout: cfg.LMS.Timeout, RateLimit: cfg.LMS.RateLimit, Observer: obs,
	})
}

func jobOptions(cfg config.Config, logger *slog.Logger) jobs.Options {
	return jobs.Options{
		Workers: cfg.Workers, MaxAttempts: cfg.MaxAttempts, RetryDelay: cfg.RetryDelay, BatchSize: cfg.LMS.BatchSize,
		AutoEnroll: cfg.LMS.AutoEnroll, EmailStudents: cfg.LMS.SendEnrollmentEmail,
		JobTimeout: cfg.JobTimeout(), RescueAfter: cfg.RescueDelay(), Logger: logger,
		Retention: cfg.Retention, RegistrationWait: cfg.RegistrationWait,
		Shops: jobs.ShopOptions{Config: cfg, CheckEvery: cfg.ShopCheckEvery, ReconcileEvery: cfg.ReconcileEvery},
	}
}

// newConsole returns the operator console, or nil when no admin password
// is configured.
func newConsole(cfg config.Config, db *store.DB, queue *jobs.Queue, logger *slog.Logger) http.Handler {
	if !cfg.Admin.Enabled() {
		return nil
	}
	return admin.New(admin.Deps{
		Logger: logger, DB: db, Admin: cfg.Admin,
		Ops:      &ops.Ops{DB: db, Enqueue: queue.Enqueue, Config: cfg, ReconcileLater: queue.ReconcileNow},
		ClientIP: func(r *http.Request) string { return server.ClientIP(r, cfg.TrustedProxies) },
	})
}
