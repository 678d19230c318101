package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// syncLog collects the queue's warnings.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A backlog of thousands of jobs for two courses, worked by 8 workers that
// all fill their calls from the same pending items: every learner is
// enrolled once, and no job runs into another's locks (a deadlock left the
// items it had claimed stranded until their claims expired).
func TestBacklogDrainsWithoutLockTrouble(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		lms := edxtest.New(t)
		inserter, err := jobs.New(db, nil, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		const orders = 1500
		w := db.NewWriter(inserter.Enqueue, 4, 256)
		var wg sync.WaitGroup
		for g := range 32 {
			wg.Go(func() {
				for i := g; i < orders; i += 32 {
					_, err := w.SaveAccepted(ctx, store.Accepted{
						Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: source, Path: "/test", Status: 200},
						Order: enroll.Order{Platform: enroll.Shopify, Source: source, ID: int64(i + 1), Paid: true, Items: []enroll.Item{
							item("course-v1:Org+A+1", fmt.Sprintf("a%d@example.com", i)),
							item("course-v1:Org+B+1", fmt.Sprintf("b%d@example.com", i))}},
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		w.Close()

		var logs syncLog
		client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret, Timeout: 10 * time.Second})
		q, err := jobs.New(db, client, jobs.Options{Workers: 8, MaxAttempts: 3, BatchSize: 50, PollInterval: 50 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		deadline := time.Now().Add(90 * time.Second) // far beyond the few seconds it takes
		for lms.Enrollments() < 2*orders && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := lms.Enrollments(); got != 2*orders {
			t.Errorf("%d of %d learners enrolled", got, 2*orders)
		}
		for i := range orders {
			for _, e := range []string{"course-v1:Org+A+1 a", "course-v1:Org+B+1 b"} {
				course, prefix, _ := strings.Cut(e, " ")
				if n := lms.EnrollCount(course, fmt.Sprintf("%s%d@example.com", prefix, i)); n > 1 {
					t.Errorf("%s%d enrolled %d times", prefix, i, n)
				}
			}
		}
		if strings.Contains(logs.String(), "deadlock") {
			t.Errorf("jobs ran into each other's locks:\n%s", logs.String())
		}
	})
}

// Orders stored one by one leave a job per item. The first job's call
// takes up to BatchSize of them, and the jobs of the items it did end with
// its record: with one worker, every job that runs makes a call, and none
// is left behind with nothing to do.
func TestSweptJobsEndWithTheCall(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		lms := edxtest.New(t)
		inserter, err := jobs.New(db, nil, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		const orders = 120
		w := db.NewWriter(inserter.Enqueue, 1, 1)
		for i := range orders {
			_, err := w.SaveAccepted(ctx, store.Accepted{
				Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: source, Path: "/test", Status: 200},
				Order: enroll.Order{Platform: enroll.Shopify, Source: source, ID: int64(i + 1), Paid: true,
					Items: []enroll.Item{item("course-v1:Org+A+1", fmt.Sprintf("a%d@example.com", i))}},
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		w.Close()
		if n := countJobs(t, db, rivertype.JobStateAvailable); n != orders {
			t.Fatalf("%d jobs enqueued for %d items, want one each", n, orders)
		}

		client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret, Timeout: 10 * time.Second})
		q, err := jobs.New(db, client, jobs.Options{Workers: 1, BatchSize: 50, PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		deadline := time.Now().Add(60 * time.Second) // far beyond the second it takes
		for (lms.Enrollments() < orders || queuedJobs(t, db) > 0) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := lms.Enrollments(); got != orders {
			t.Errorf("%d of %d learners enrolled", got, orders)
		}
		for i := range orders {
			if n := lms.EnrollCount("course-v1:Org+A+1", fmt.Sprintf("a%d@example.com", i)); n != 1 {
				t.Errorf("a%d enrolled %d times", i, n)
			}
		}
		var pending int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM items WHERE status IN ($1, $2)`,
			enroll.ItemPending, enroll.ItemRetrying).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending > 0 {
			t.Errorf("%d items left pending", pending)
		}
		if n := queuedJobs(t, db); n > 0 {
			t.Errorf("%d jobs left to run", n)
		}
		calls, ran := len(lms.Calls()), countJobs(t, db, rivertype.JobStateCompleted)
		if calls != 3 || ran != calls {
			t.Errorf("%d jobs ran for %d calls, want 3 of each (%d learners, 50 a call)", ran, calls, orders)
		}
	})
}

// Items tried during an outage wait for a retry, a job each. Once the LMS
// answers again their jobs are woken, and the first calls take them all,
// BatchSize a call, ending the jobs whose items they did: the backlog
// drains at the LMS's pace, not a queue turn and a call per job.
func TestBacklogOfAnOutageDrainsInFullCalls(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		lms := edxtest.New(t)
		lms.SetDown(true)
		q := slowRetryQueue(t, db, lms, 2)
		const orders = 120
		save := func(i int) { saveOneItem(t, db, q, int64(i+1), fmt.Sprintf("a%d@example.com", i)) }
		for i := range orders {
			save(i)
		}
		deadline := time.Now().Add(60 * time.Second)
		for retryableJobs(t, db) < orders && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := itemsIn(t, db, enroll.ItemRetrying); n != orders {
			t.Fatalf("%d of %d items tried during the outage", n, orders)
		}

		// The LMS is back; a new order's call finds it so.
		lms.SetDown(false)
		save(orders)
		for (lms.Enrollments() < orders+1 || queuedJobs(t, db) > 0) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if got := lms.Enrollments(); got != orders+1 {
			t.Fatalf("%d of %d learners enrolled", got, orders+1)
		}
		if n := queuedJobs(t, db); n > 0 {
			t.Errorf("%d jobs left to run", n)
		}
		calls := 0
		for _, c := range lms.Calls() {
			if c.Status == 200 {
				calls++
			}
		}
		// The new order's call, then three of 50, 50 and 20; a few more when
		// the two workers' calls split the backlog between them.
		if calls > 8 {
			t.Errorf("%d calls answered for %d learners, want at most 8", calls, orders+1)
		}
		for i := range orders + 1 {
			if n := lms.EnrollCount("course-v1:Org+A+1", fmt.Sprintf("a%d@example.com", i)); n != 1 {
				t.Errorf("a%d enrolled %d times", i, n)
			}
		}
	})
}

// slowRetryQueue starts a queue of workers against lms whose retries wait
// an hour or more, so that only a wake or another job's call retries an
// item during a test; it stops with the test.
func slowRetryQueue(t *testing.T, db *store.DB, lms *edxtest.LMS, workers int) *jobs.Queue {
	t.Helper()
	client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret, Timeout: 10 * time.Second})
	q, err := jobs.New(db, client, jobs.Options{Workers: workers, BatchSize: 50, PollInterval: 20 * time.Millisecond,
		RetryDelay: time.Hour, MaxRetryDelay: 2 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Stop(context.Background()) })
	return q
}

// saveOneItem stores a paid order id with one item of course A for email.
func saveOneItem(t *testing.T, db *store.DB, q *jobs.Queue, id int64, email string) {
	t.Helper()
	_, err := db.SaveAccepted(context.Background(), store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: source, Path: "/test", Status: 200},
		Order: enroll.Order{Platform: enroll.Shopify, Source: source, ID: id, Paid: true,
			Items: []enroll.Item{item("course-v1:Org+A+1", email)}},
	}, q.Enqueue)
	if err != nil {
		t.Fatal(err)
	}
}

// itemsIn counts the items in a status.
func itemsIn(t *testing.T, db *store.DB, s enroll.ItemStatus) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM items WHERE status = $1`, s).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A retrying item whose backoff has passed fills another job's call. When
// the LMS answers it short of final again (its learner's own error), the
// answer is not recorded, yet the item was sent: it is not due again, for
// the calls that follow, before a backoff has passed once more. Else every
// call of its SKU sends it, far more often than its own job would.
func TestItemTriedInAnotherCallWaitsItsBackoff(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		var ahead atomic.Int64 // how far the database's clock runs ahead
		db.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		lms := edxtest.New(t)
		lms.SetIdentifier("stuck@example.com", edxtest.Error)
		q := slowRetryQueue(t, db, lms, 1)
		save := func(id int64, email string) { saveOneItem(t, db, q, id, email) }
		sent := func() int {
			n := 0
			for _, c := range lms.Calls() {
				if slices.Contains(c.Identifiers, "stuck@example.com") {
					n++
				}
			}
			return n
		}
		deadline := time.Now().Add(60 * time.Second)
		save(1, "stuck@example.com")
		for itemsIn(t, db, enroll.ItemRetrying) < 1 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		// Its backoff (at most 1.2 h) has passed: the next call takes it.
		ahead.Store(int64(2 * time.Hour))
		const orders = 5
		for i := range orders {
			save(int64(i+2), fmt.Sprintf("a%d@example.com", i))
			for lms.Enrollments() < i+1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if got := lms.Enrollments(); got != orders {
			t.Fatalf("%d of %d learners enrolled", got, orders)
		}
		// Its own job's attempt, then the first call after its backoff.
		if n := sent(); n != 2 {
			t.Errorf("the retrying learner was sent %d times, want 2", n)
		}
		if n := itemsIn(t, db, enroll.ItemRetrying); n != 1 {
			t.Errorf("%d items retrying, want 1", n)
		}
	})
}
