package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Retention: a periodic job drops the raw bodies of deliveries older than
// Options.Retention (ops.Purge). River inserts periodic jobs on its leader
// only, so that one process of several runs it at a time.

// maintenanceQueue is the queue of periodic upkeep jobs: one at a time per
// process, beside the enrollment jobs rather than in their queue.
const maintenanceQueue = "maintenance"

// retentionActor names the retention job in the actions it records.
const retentionActor = "retention"

// RetentionArgs are the arguments of the retention job: none, the age is
// the process's setting.
type RetentionArgs struct{}

func (RetentionArgs) Kind() string { return "retention" }

func (RetentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: maintenanceQueue, MaxAttempts: 3}
}

// retentionWorker runs the retention job.
type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	ops     *ops.Ops
	age     time.Duration
	logger  *slog.Logger
	metrics *metrics.Metrics
}

// retentionTimeout bounds a run: the first purge of a large database
// takes a while, in short transactions.
const retentionTimeout = time.Hour

func (w *retentionWorker) Timeout(*river.Job[RetentionArgs]) time.Duration { return retentionTimeout }

func (w *retentionWorker) Work(ctx context.Context, job *river.Job[RetentionArgs]) error {
	res, cut, err := w.ops.Purge(ctx, retentionActor, w.age, false)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	w.metrics.Purged(res.Deliveries, res.Bytes)
	w.logger.Info("retention purged", "received_before", cut.UTC().Format(time.RFC3339), "deliveries", res.Deliveries,
		"bytes", res.Bytes, "delivery_keys", res.Keys, "reconcile_runs", res.ReconcileRuns, "webhook_outages", res.Outages)
	return nil
}

// addRetention registers the retention job, run every opts.RetentionInterval
// and once at start (a service restarted more often than the interval
// would otherwise never run it).
func addRetention(cfg *river.Config, workers *river.Workers, db *store.DB, opts Options) {
	river.AddWorker(workers, &retentionWorker{ops: &ops.Ops{DB: db}, age: opts.Retention, logger: opts.Logger, metrics: opts.Metrics})
	cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(opts.RetentionInterval),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{ID: "retention", RunOnStart: true}))
}
