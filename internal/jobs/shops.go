package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// The shops' jobs, for the shops and sites with API access: the health
// check of their webhook subscriptions (ops.CheckShops) every
// ShopCheckEvery, and the reconciliation of their orders (ops.Reconcile)
// every ReconcileEvery, both on the maintenance queue; and the
// reconciliation of one shop asked for by an operator (ReconcileNow).
//
// River inserts periodic jobs on its leader only; each is also unique per
// period of its interval, so that a leader elected in the middle of one
// (another replica, a restart) does not run it a second time in it.

// ShopCheckArgs are the arguments of the health check: none, it checks
// every shop with API access.
type ShopCheckArgs struct{}

// Kind names the job in the queue's tables.
func (ShopCheckArgs) Kind() string { return "shop_check" }

func (ShopCheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: maintenanceQueue, MaxAttempts: shopJobAttempts}
}

// ReconcileArgs are the arguments of a reconciliation: of one shop or site
// (Shop), or of every one with API access; StartedBy is one of the
// store.Reconcile* ways, Actor who asked.
type ReconcileArgs struct {
	Shop      string `json:"shop,omitempty"`
	StartedBy string `json:"started_by"`
	Actor     string `json:"actor,omitempty"`
}

// Kind names the job in the queue's tables.
func (ReconcileArgs) Kind() string { return "reconcile" }

func (ReconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: maintenanceQueue, MaxAttempts: shopJobAttempts}
}

// shopJobAttempts bounds the runs of a shop job that fails as a whole (the
// database is down): the next period's comes soon enough. A shop whose API
// fails is recorded as such, which is no failure of the job.
const shopJobAttempts = 3

// shopJobTimeout bounds a run: a reconciliation pages through days of
// orders at the shop's API rate, and a repair reconciles first.
const shopJobTimeout = time.Hour

// ShopOptions tune the shops' jobs (Options.Shops).
type ShopOptions struct {
	// Config names the shops and sites; only those with API access are
	// checked and reconciled, and without any the jobs are not run.
	Config config.Config
	// CheckEvery and ReconcileEvery are the jobs' intervals; 0 runs none.
	// How far back a reconciliation reads is Config's ReconcileLookback.
	CheckEvery, ReconcileEvery time.Duration
	// HTTPClient calls the shops' APIs; nil is a client with a timeout.
	HTTPClient *http.Client
}

// shopsWorker runs both shop jobs with the operator actions of ops.
type shopsWorker struct {
	ops     *ops.Ops
	http    *http.Client
	logger  *slog.Logger
	metrics *metrics.Metrics
}

type shopCheckWorker struct {
	river.WorkerDefaults[ShopCheckArgs]
	*shopsWorker
}

func (w *shopCheckWorker) Timeout(*river.Job[ShopCheckArgs]) time.Duration { return shopJobTimeout }

func (w *shopCheckWorker) Work(ctx context.Context, job *river.Job[ShopCheckArgs]) error {
	hs, err := w.ops.CheckShops(ctx, ops.CheckOptions{HTTPClient: w.http, Logger: w.logger})
	for _, h := range hs {
		w.count(h.Reconciled)
	}
	if err != nil {
		return fmt.Errorf("shop check: %w", err)
	}
	return nil
}

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	*shopsWorker
}

func (w *reconcileWorker) Timeout(*river.Job[ReconcileArgs]) time.Duration { return shopJobTimeout }

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileArgs]) error {
	a := job.Args
	// The window is the configured lookback (ops.Reconcile's default).
	reports, err := w.ops.Reconcile(ctx, ops.ReconcileOptions{Shop: a.Shop,
		StartedBy: a.StartedBy, Actor: a.Actor, HTTPClient: w.http, Logger: w.logger})
	w.count(reports)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	return nil
}

// count adds what reconciliations stored to reconciled_orders_total.
func (w *shopsWorker) count(reports []ops.ReconcileReport) {
	for _, r := range reports {
		if r.Skipped == "" && !r.Run.DryRun {
			w.metrics.Reconciled(r.Shop, r.Run.Missing, r.Run.Stale)
		}
	}
}

// addShops registers the shop jobs' workers when some shop or site has
// API access, and their periodic jobs when their interval is not 0: each
// at start and then every interval, at most once per interval.
func addShops(cfg *river.Config, workers *river.Workers, q *Queue, db *store.DB, opts Options) bool {
	s := opts.Shops
	if !s.Config.HasAPI() {
		return false
	}
	w := &shopsWorker{ops: &ops.Ops{DB: db, Enqueue: q.Enqueue, Config: s.Config},
		http: s.HTTPClient, logger: opts.Logger, metrics: opts.Metrics}
	river.AddWorker(workers, &reconcileWorker{shopsWorker: w})
	if s.ReconcileEvery > 0 {
		cfg.PeriodicJobs = append(cfg.PeriodicJobs, onePerPeriod(s.ReconcileEvery,
			ReconcileArgs{StartedBy: store.ReconcilePeriodic}))
	}
	if s.CheckEvery > 0 {
		river.AddWorker(workers, &shopCheckWorker{shopsWorker: w})
		cfg.PeriodicJobs = append(cfg.PeriodicJobs, onePerPeriod(s.CheckEvery, ShopCheckArgs{}))
	}
	return true
}

// onePerPeriod is a periodic job run every interval and at start, unique
// per interval: inserted once in each, whichever process inserts it.
func onePerPeriod(every time.Duration, args river.JobArgs) *river.PeriodicJob {
	period := max(every, time.Second) // River's shortest unique period
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: period}}
	}, &river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true})
}

// ReconcileNow inserts a reconciliation of one shop or site (source, as
// configured), asked for by actor from the console; a worker of any
// process runs it. It is ops.Ops.ReconcileLater.
func (q *Queue) ReconcileNow(ctx context.Context, source, actor string) error {
	_, err := q.client.Insert(ctx, ReconcileArgs{Shop: source, StartedBy: store.ReconcileConsole, Actor: actor}, nil)
	if err != nil {
		return fmt.Errorf("insert the reconciliation of %s: %w", source, err)
	}
	return nil
}
