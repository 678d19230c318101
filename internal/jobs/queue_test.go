package jobs_test

import (
	"context"
	"database/sql"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// queueGoroutines returns the stacks of the goroutines that run the
// queue's code or River's, or that River started.
func queueGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var found []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "/internal/jobs.") || strings.Contains(g, "github.com/riverqueue/river") {
			found = append(found, g)
		}
	}
	return found
}

// assertNothingRunning fails the test if goroutines of the queue are left
// once it has stopped. It gives those that have just said they are done a
// moment to return.
func assertNothingRunning(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	left := queueGoroutines()
	for len(left) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		left = queueGoroutines()
	}
	if len(left) > 0 {
		t.Fatalf("%d goroutines of the queue still run after Stop returned:\n\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// retryableJobs counts the enrollment jobs waiting for a retry.
func retryableJobs(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM river_job WHERE state = 'retryable'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Stop ends a wake of the waiting jobs that is under way, and returns only
// once it has ended: nothing the queue started runs after Stop (and after
// the database is closed). Here the wake is held up by a row lock the test
// takes on the waiting job (PostgreSQL: SQLite has no row locks).
func TestStopEndsAWakeUnderWay(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, store.Postgres, 5)
	f.orderWaiting(t, jobs.Options{MaxAttempts: 5, RetryDelay: 5 * time.Minute})

	tx, err := f.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var locked int64
	if err := tx.QueryRow(`SELECT id FROM river_job WHERE state = 'retryable' FOR UPDATE`).Scan(&locked); err != nil {
		t.Fatal(err)
	}
	// The LMS answers again: the next answered call wakes the waiting job,
	// which waits for the test's lock.
	f.lms.SetDown(false)
	f.settled(t, f.order(t, item("course-v1:Org+B+1", "next@example.com")))
	waitFor(t, "the wake to wait for the locked job", func() bool {
		var n int
		err := f.db.SQL().QueryRow(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n > 0
	})
	stop(t, f.queue)
	assertNothingRunning(t)
}

// Once the LMS answers again and the waiting jobs are woken, Stop leaves
// nothing running: neither the workers nor the loop that woke them.
func TestStopLeavesNothingRunning(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 5)
		waiting := f.orderWaiting(t, jobs.Options{MaxAttempts: 5, RetryDelay: 5 * time.Minute})
		f.lms.SetDown(false)
		f.settled(t, f.order(t, item("course-v1:Org+B+1", "next@example.com")))
		f.settled(t, waiting) // woken, long before its retry delay
		stop(t, f.queue)
		assertNothingRunning(t)
	})
}

// holdWake is a log handler that holds the wake loop in its last line (the
// LMS answers again) until Stop has cancelled the loop, and then until
// Stop has returned, or a second has passed: Stop must wait for the loop.
type holdWake struct {
	slog.Handler
	inWake   chan struct{} // closed when the loop is held
	once     *sync.Once
	stopped  <-chan struct{}
	finished *atomic.Bool // the held line has returned
}

// Enabled lets the wake loop's INFO line through to Handle.
func (h holdWake) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelInfo || h.Handler.Enabled(ctx, l)
}

func (h holdWake) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "the LMS answers again") {
		h.once.Do(func() { close(h.inWake) })
		<-ctx.Done() // Stop has cancelled the loop
		select {
		case <-h.stopped: // Stop returned before the loop did: the test fails
		case <-time.After(time.Second): // Stop waits for the loop, as it must
		}
		h.finished.Store(true)
	}
	if !h.Handler.Enabled(ctx, r.Level) {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

// Stop returns only once the wake loop has returned, however long the
// loop takes to end after Stop has cancelled it.
func TestStopWaitsForTheWakeLoop(t *testing.T) {
	f := newFixture(t, store.SQLite, 5)
	stopped := make(chan struct{})
	h := holdWake{Handler: slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}),
		inWake: make(chan struct{}), once: &sync.Once{}, stopped: stopped, finished: &atomic.Bool{}}
	waiting := f.orderWaiting(t, jobs.Options{MaxAttempts: 5, RetryDelay: 5 * time.Minute, Logger: slog.New(h)})
	f.lms.SetDown(false)
	f.settled(t, f.order(t, item("course-v1:Org+B+1", "next@example.com")))
	f.settled(t, waiting)
	select {
	case <-h.inWake:
	case <-time.After(20 * time.Second):
		t.Fatal("the wake loop never said the LMS answers again")
	}
	stop(t, f.queue)
	close(stopped)
	if !h.finished.Load() {
		t.Fatal("Stop returned while the wake loop was still running")
	}
	assertNothingRunning(t)
}

// refuseReleases makes the database refuse to give back claims (an update
// that only clears an item's claim), as a database that went away would.
func refuseReleases(t *testing.T, db *sql.DB, d store.Dialect) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER refuse_release BEFORE UPDATE OF claim_expires ON items
		WHEN OLD.claim_expires <> 0 AND NEW.claim_expires = 0 AND NEW.updated_at = OLD.updated_at
		BEGIN SELECT RAISE(ABORT, 'releases refused by the test'); END`}
	if d == store.Postgres {
		stmts = []string{`CREATE FUNCTION refuse_release() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF OLD.claim_expires <> 0 AND NEW.claim_expires = 0 AND NEW.updated_at = OLD.updated_at THEN
					RAISE EXCEPTION 'releases refused by the test';
				END IF;
				RETURN NEW;
			END $$`,
			`CREATE TRIGGER refuse_release BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION refuse_release()`}
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
}

// A job stopped mid-call gives its item back; when the database refuses
// that, the item stays claimed until its claim expires, and the log says
// so with the item's id.
func TestFailedReleaseIsLogged(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 3)
		stop(t, f.queue)
		var logs syncLog
		f.queue = f.startWith(t, jobs.Options{MaxAttempts: 3,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		refuseReleases(t, f.db.SQL(), d)
		id, _ := f.orderHeld(t, item("course-v1:Org+A+1", "held@example.com"))
		stop(t, f.queue)

		o, err := f.db.FindOrder(context.Background(), enroll.Shopify, source, id)
		if err != nil {
			t.Fatal(err)
		}
		itemID := strconv.FormatInt(o.Items[0].ID, 10)
		var line string
		for l := range strings.Lines(logs.String()) {
			if strings.Contains(l, "claims not released") {
				line = l
			}
		}
		for _, want := range []string{"level=ERROR", "item_ids=[" + itemID + "]", "releases refused by the test"} {
			if !strings.Contains(line, want) {
				t.Errorf("no log line about the claim not released with %q:\n%s", want, logs.String())
			}
		}
	})
}

// River's own INFO lines (job counts, every job that returned an error)
// stay out of the log, while the workers' enrollment lines are there; at
// debug level River says everything.
func TestRiverLogsWarningsOnly(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			db := storetest.Open(t, store.SQLite)
			if err := jobs.Migrate(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			f := &fixture{db: db, lms: edxtest.New(t)}
			var logs syncLog
			f.queue = f.startWith(t, jobs.Options{MaxAttempts: 5,
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))})
			f.lms.FailNext(2, 503)
			// Enrolled at the third run of its job: River has logged the
			// errors of the first two.
			if o := f.settled(t, f.order(t, item("course-v1:Org+A+1", "learner@example.com"))); o.Items[0].Attempts != 3 {
				t.Fatalf("item %+v; want enrolled at its third attempt", o.Items[0])
			}
			lines := slices.Collect(strings.Lines(logs.String()))
			ours := slices.DeleteFunc(slices.Clone(lines), func(l string) bool {
				return !strings.Contains(l, `msg="enrollment attempt"`)
			})
			if len(ours) != 3 || !strings.Contains(ours[0], "level=INFO") || !strings.Contains(ours[0], "outcome=retry") {
				t.Errorf("enrollment lines:\n%s\nwant 3, from INFO, the first a retry; all lines:\n%s", strings.Join(ours, ""), logs.String())
			}
			rivers := slices.DeleteFunc(slices.Clone(lines), func(l string) bool {
				return !strings.Contains(l, "component=queue") || strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR")
			})
			errored := strings.Contains(logs.String(), "Job errored; retrying")
			switch {
			case level == slog.LevelInfo && len(rivers) > 0:
				t.Errorf("River's routine lines in an INFO log:\n%s", strings.Join(rivers, ""))
			case level == slog.LevelDebug && !errored:
				t.Errorf("no River line about the job's errors in a debug log:\n%s", logs.String())
			}
		})
	}
}
