// Package jobs runs the durable enrollment jobs: one job per group of items
// stored together with the same SKU (at most BatchSize items), kept in the
// same database as the orders so that saving an order and enqueueing its
// enrollments commit together. A queue owns every goroutine it starts: Stop
// ends them all before it returns.
package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// softStopTimeout is how long running jobs get to finish at shutdown.
const softStopTimeout = 5 * time.Second

// extraJobAttempts are the runs a job gets beyond its item's attempts, for
// runs that used none (rescued after a crash, database errors).
const extraJobAttempts = 10

// Options tune the queue. Zero values take the defaults noted.
type Options struct {
	// Workers is how many jobs run at once; 0 makes an insert-only queue.
	Workers int
	// MaxAttempts is how many counted attempts an item gets (default 25).
	MaxAttempts int
	// RetryDelay is the first retry's delay; each next one doubles, capped at MaxRetryDelay.
	RetryDelay time.Duration
	// MaxRetryDelay caps the delay between attempts (default 1h).
	MaxRetryDelay time.Duration
	// BatchSize caps the learners enrolled by one call (default 50).
	BatchSize int
	// AutoEnroll and EmailStudents are sent with every enrollment.
	AutoEnroll, EmailStudents bool
	// JobTimeout bounds one attempt (default 2m).
	JobTimeout time.Duration
	// RescueAfter is how long a job may look running before it is taken to
	// be lost (its process died) and run again (default JobTimeout + 30s).
	RescueAfter time.Duration
	// PollInterval is how often idle workers look for new jobs (default 1s).
	PollInterval time.Duration
	// IngestBusy reports that webhooks are being stored. When set, a job
	// waits while it does, at most MaxHold, so that ingest goes first
	// during a burst and the workers catch up after it.
	IngestBusy func() bool
	// MaxHold caps how long a job waits for ingest (default 1s), so that
	// enrollment goes on, slower, under sustained load.
	MaxHold time.Duration
	Logger  *slog.Logger
	// Metrics count item outcomes, retries and throttled attempts; nil counts nothing.
	Metrics *metrics.Metrics
	// Retention, when not 0, runs the retention job (retention.go): every
	// RetentionInterval (default a day) and at start, it drops the raw
	// bodies of deliveries older than this.
	Retention         time.Duration
	RetentionInterval time.Duration
	// RegistrationCheck is how often the items of courses sold in a mode
	// whose learners had no account are checked (default 1h).
	RegistrationCheck time.Duration
	// RegistrationWait is how long such an item waits for its learner to
	// register before it fails (default 30 days).
	RegistrationWait time.Duration
	// Shops runs the health check and the reconciliation of the shops and
	// sites with API access (shops.go); none: neither.
	Shops ShopOptions
}

func (o *Options) defaults() {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 25
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 3 * time.Minute
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 50
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = time.Hour
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = 2 * time.Minute
	}
	if o.RescueAfter <= o.JobTimeout {
		o.RescueAfter = o.JobTimeout + 30*time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.MaxHold <= 0 {
		o.MaxHold = time.Second
	}
	if o.RetentionInterval <= 0 {
		o.RetentionInterval = 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.RegistrationCheck <= 0 {
		o.RegistrationCheck = time.Hour
	}
	if o.RegistrationWait <= 0 {
		o.RegistrationWait = 30 * 24 * time.Hour
	}
}

// Queue enqueues and works enrollment jobs.
type Queue struct {
	client      *river.Client[*sql.Tx]
	worker      *Worker // nil on an insert-only queue, and on one that runs upkeep jobs only
	runs        bool    // the client works some queue: Start starts it
	maxAttempts int
	batchSize   int

	mu       sync.Mutex
	stopWake context.CancelFunc // ends the wake loop; nil while it does not run
	loops    sync.WaitGroup     // the queue's own goroutines (River waits for its own)
}

// driver picks the queue's driver for the store's backend. Both work on
// *sql.Tx, so that orders and their jobs commit in one transaction on
// either; on PostgreSQL, listening workers are woken by LISTEN/NOTIFY
// instead of waiting for their next poll.
func driver(db *store.DB, listen bool) riverdriver.Driver[*sql.Tx] {
	switch {
	case db.Dialect() != store.Postgres:
		return riversqlite.New(db.SQL())
	case listen:
		return riverdatabasesql.NewWithPgxListener(db.SQL(), db.ListenerPool())
	}
	return riverdatabasesql.New(db.SQL())
}

// Migrate creates or upgrades the queue's tables.
func Migrate(ctx context.Context, db *store.DB) error {
	m, err := rivermigrate.New(driver(db, false), nil)
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	return nil
}

// PendingMigrations returns how many of the queue's migrations the database lacks.
func PendingMigrations(ctx context.Context, db *store.DB) (int, error) {
	m, err := rivermigrate.New(driver(db, false), nil)
	if err != nil {
		return 0, fmt.Errorf("job queue migrations: %w", err)
	}
	existing, err := m.ExistingVersions(ctx)
	if err != nil {
		return 0, fmt.Errorf("read job queue migrations: %w", err)
	}
	return len(m.AllVersions()) - len(existing), nil
}

// New builds a queue over the store's database. With opts.Workers > 0 and
// lms set, Start runs enrollment workers.
func New(db *store.DB, lms *edx.Client, opts Options) (*Queue, error) {
	opts.defaults()
	cfg := &river.Config{
		Logger:               riverLogger(opts.Logger),
		MaxAttempts:          opts.MaxAttempts + extraJobAttempts,
		JobTimeout:           opts.JobTimeout,
		RescueStuckJobsAfter: opts.RescueAfter,
		FetchPollInterval:    opts.PollInterval,
		FetchCooldown:        min(20*time.Millisecond, opts.PollInterval), // jobs/s ≈ workers ÷ cooldown
		PollOnly:             db.Dialect() != store.Postgres,
	}
	// The job may run a few more times than the item's attempt budget, so
	// that a database error on the last attempt does not strand the item:
	// the worker itself marks it failed once the budget is spent.
	q := &Queue{maxAttempts: opts.MaxAttempts + extraJobAttempts, batchSize: opts.BatchSize}
	workers, queues := river.NewWorkers(), map[string]river.QueueConfig{}
	if opts.Workers > 0 && lms != nil {
		q.worker = &Worker{db: db, lms: lms, opts: opts, wake: make(chan struct{}, 1)}
		river.AddWorker(workers, q.worker)
		// The registration check (registration.go) uses the LMS as the
		// enrollment jobs do, and runs beside them.
		river.AddWorker(workers, &registrationWorker{db: db, lms: lms, opts: opts})
		cfg.PeriodicJobs = append(cfg.PeriodicJobs, periodicRegistrationCheck(opts.RegistrationCheck))
		queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: opts.Workers}
	}
	if opts.Retention > 0 {
		addRetention(cfg, workers, db, opts)
		queues[maintenanceQueue] = river.QueueConfig{MaxWorkers: 1}
	}
	if addShops(cfg, workers, q, db, opts) {
		// A reconciliation may take a while: the health check runs beside it.
		queues[maintenanceQueue] = river.QueueConfig{MaxWorkers: 2}
	}
	if q.runs = len(queues) > 0; q.runs {
		cfg.Workers, cfg.Queues = workers, queues
	}
	client, err := river.NewClient(driver(db, q.worker != nil), cfg)
	if err != nil {
		return nil, fmt.Errorf("create job queue: %w", err)
	}
	q.client = client
	if q.worker != nil {
		q.worker.client = client
	}
	return q, nil
}

// Enqueue inserts enrollment jobs inside tx: one per group of items (same
// SKU), of at most BatchSize items each. It is a store.EnqueueFunc.
func (q *Queue) Enqueue(ctx context.Context, tx *sql.Tx, groups [][]int64) error {
	var params []river.InsertManyParams
	for _, g := range groups {
		for ids := range slices.Chunk(g, q.batchSize) {
			params = append(params, river.InsertManyParams{Args: Args{ItemIDs: ids},
				InsertOpts: &river.InsertOpts{MaxAttempts: q.maxAttempts}})
		}
	}
	if len(params) == 0 {
		return nil
	}
	if _, err := q.client.InsertManyFastTx(ctx, tx, params); err != nil {
		return fmt.Errorf("insert %d jobs: %w", len(params), err)
	}
	return nil
}

// Start runs the workers, and the loop that wakes waiting jobs when the LMS
// answers again, until Stop (or until ctx ends). It does nothing on an
// insert-only queue.
func (q *Queue) Start(ctx context.Context) error {
	if !q.runs {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("start workers: %w", err)
	}
	if q.stopWake == nil && q.worker != nil {
		wakeCtx, cancel := context.WithCancel(ctx)
		q.stopWake = cancel
		q.loops.Go(func() { q.worker.wakeLoop(wakeCtx, q.client) })
	}
	return nil
}

// Stop ends the wake loop, stops fetching jobs and gives running ones a few
// seconds to finish; then it cancels them (they run again at the next
// start) and waits for them to return, at most until ctx ends. Once it has
// returned nil, nothing the queue started is left running.
func (q *Queue) Stop(ctx context.Context) error {
	if !q.runs {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopWake != nil {
		q.stopWake()
		q.stopWake = nil
	}
	q.loops.Wait() // the loop returns as soon as its context ends
	soft, cancel := context.WithTimeout(ctx, softStopTimeout)
	defer cancel()
	if err := q.client.Stop(soft); err == nil {
		return nil
	}
	if err := q.client.StopAndCancel(ctx); err != nil {
		return fmt.Errorf("stop workers: %w", err)
	}
	return nil
}
