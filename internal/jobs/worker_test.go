package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

const source = "shop.example.com"

type fixture struct {
	db    *store.DB
	lms   *edxtest.LMS
	queue *jobs.Queue
	next  int64
}

func newFixture(t *testing.T, d store.Dialect, maxAttempts int) *fixture {
	t.Helper()
	db := storetest.Open(t, d)
	if err := jobs.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, lms: edxtest.New(t)}
	f.queue = f.start(t, maxAttempts)
	return f
}

// start runs a queue with workers until the test ends.
func (f *fixture) start(t *testing.T, maxAttempts int) *jobs.Queue {
	return f.startWith(t, jobs.Options{MaxAttempts: maxAttempts})
}

// startWith is start with some options set; fast retries for tests fill the rest.
func (f *fixture) startWith(t *testing.T, opts jobs.Options) *jobs.Queue {
	t.Helper()
	ctx := context.Background()
	db, lms := f.db, f.lms
	client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret,
		SKUPrefix: "sku/", Timeout: 10 * time.Second})
	if opts.Workers == 0 {
		opts.Workers = 2
	}
	if opts.RetryDelay == 0 {
		opts.RetryDelay, opts.MaxRetryDelay = 10*time.Millisecond, 50*time.Millisecond
	}
	opts.AutoEnroll, opts.PollInterval, opts.JobTimeout = true, 20*time.Millisecond, 30*time.Second
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	queue, err := jobs.New(db, client, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, queue) })
	return queue
}

// stop stops a queue, failing the test if it does not stop cleanly.
func stop(t *testing.T, q *jobs.Queue) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Errorf("stop the queue: %v", err)
	}
}

// waitFor polls cond until it holds, and fails the test if it does not
// within 20 s (far beyond what any of these tests needs).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// order stores a new order with the given items and enqueues them.
func (f *fixture) order(t *testing.T, items ...enroll.Item) int64 {
	t.Helper()
	f.next++
	id := 9000000000 + f.next
	_, err := f.db.SaveAccepted(context.Background(), store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: source, Path: "/test", Status: 200},
		Order:    enroll.Order{Platform: enroll.Shopify, Source: source, ID: id, Paid: true, Items: items},
	}, f.queue.Enqueue)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// orderHeld stores an order with one item whose bulk enrollment call the
// fake LMS holds until the receiver gives up on it (at a shutdown), and
// returns once the job has made that call: the order's id and the call.
// Later calls are answered at once.
func (f *fixture) orderHeld(t *testing.T, it enroll.Item) (int64, edxtest.Call) {
	t.Helper()
	held := make(chan edxtest.Call, 1)
	f.lms.SetHold(func(r *http.Request, c edxtest.Call) {
		held <- c
		<-r.Context().Done()
	})
	defer f.lms.SetHold(nil)
	id := f.order(t, it)
	select {
	case c := <-held:
		return id, c
	case <-time.After(20 * time.Second):
		t.Fatal("the job never called bulk enroll")
		return 0, edxtest.Call{}
	}
}

// orderWaiting restarts the queue with opts and stores an order whose item
// is tried while the LMS is down; it returns the order's id once the
// item's job waits for its retry. The LMS is left down.
func (f *fixture) orderWaiting(t *testing.T, opts jobs.Options) int64 {
	t.Helper()
	stop(t, f.queue)
	f.queue = f.startWith(t, opts)
	f.lms.SetDown(true)
	id := f.order(t, item("course-v1:Org+A+1", "waiting@example.com"))
	waitFor(t, "the job of the item tried while the LMS was down to wait for its retry", func() bool { return retryableJobs(t, f.db) == 1 })
	return id
}

// settled waits until every item of the order needs no more attempts.
func (f *fixture) settled(t *testing.T, id int64) store.OrderRecord {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		o, err := f.db.FindOrder(context.Background(), enroll.Shopify, source, id)
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for _, it := range o.Items {
			done = done && it.Status.Done()
		}
		if done {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %d not settled: %+v", id, o)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func item(sku, email string) enroll.Item { return enroll.Item{LineItemID: 1, SKU: sku, Email: email} }

func TestEnrollments(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		const course = "course-v1:Org+Course+2026"
		tests := []struct {
			name       string
			setup      func(*edxtest.LMS)
			item       enroll.Item
			wantStatus enroll.ItemStatus
			wantOrder  enroll.OrderStatus
			wantError  string
			wantCalls  int
		}{
			{name: "course id as SKU", item: item(course, "learner@example.com"),
				wantStatus: enroll.ItemEnrolled, wantOrder: enroll.OrderProcessed, wantCalls: 1},
			{name: "SKU looked up through redirects", setup: func(l *edxtest.LMS) { l.AddSKU("sku/PY101", course) },
				item: item("PY101", "learner@example.com"), wantStatus: enroll.ItemEnrolled, wantOrder: enroll.OrderProcessed, wantCalls: 1},
			{name: "SKU without a course", item: item("NOPE", "learner@example.com"),
				wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError, wantError: "NOPE", wantCalls: 0},
			{name: "learner without an account", setup: func(l *edxtest.LMS) { l.SetIdentifier("new@example.com", edxtest.NoAccount) },
				item: item(course, "new@example.com"), wantStatus: enroll.ItemAllowed, wantOrder: enroll.OrderProcessed, wantCalls: 1},
			{name: "invalid identifier", setup: func(l *edxtest.LMS) { l.SetIdentifier("ghost@example.com", edxtest.Invalid) },
				item: item(course, "ghost@example.com"), wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError,
				wantError: "invalid identifier", wantCalls: 1},
			{name: "no email", item: item(course, ""), wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError,
				wantError: "no learner email", wantCalls: 0},
			{name: "invalid email", item: item(course, "not an email"), wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError,
				wantError: "not a valid address", wantCalls: 0},
			{name: "no SKU", item: item("", "learner@example.com"), wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError,
				wantError: "no SKU", wantCalls: 0},
			{name: "malformed course key is permanent", item: item("course-v1:broken", "learner@example.com"),
				wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError, wantError: "400", wantCalls: 1},
			{name: "unknown course is permanent", setup: func(l *edxtest.LMS) { l.AddCourse("course-v1:Org+Other+1") },
				item: item(course, "learner@example.com"), wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError,
				wantError: "404", wantCalls: 1},
			{name: "bulk enrollment view disabled", setup: func(l *edxtest.LMS) { l.SetBulkEnrollEnabled(false) },
				item: item(course, "learner@example.com"), wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError,
				wantError: "ENABLE_BULK_ENROLLMENT_VIEW", wantCalls: 1},
			{name: "not global staff is permanent", setup: func(l *edxtest.LMS) {
				l.SetFault(func(r *http.Request) (int, bool) { return 403, r.URL.Path == edxtest.BulkEnrollPath })
			}, item: item(course, "learner@example.com"), wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError,
				wantError: "403", wantCalls: 1},
			{name: "transient failures retried", setup: func(l *edxtest.LMS) { l.FailNext(2, 503) },
				item: item(course, "learner@example.com"), wantStatus: enroll.ItemEnrolled, wantOrder: enroll.OrderProcessed, wantCalls: 3},
			{name: "server error retried", setup: func(l *edxtest.LMS) { l.FailNext(1, 500) },
				item: item(course, "learner@example.com"), wantStatus: enroll.ItemEnrolled, wantOrder: enroll.OrderProcessed, wantCalls: 2},
			{name: "429 without Retry-After is a counted retry", setup: func(l *edxtest.LMS) { l.SetRetryAfter(0); l.FailNext(100, 429) },
				item: item(course, "learner@example.com"), wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError,
				wantError: "gave up after 4 attempts", wantCalls: 4},
			{name: "token refused twice in a row is retried", setup: func(l *edxtest.LMS) {
				var refused atomic.Int32
				l.SetFault(func(r *http.Request) (int, bool) {
					return 401, r.URL.Path == edxtest.BulkEnrollPath && refused.Add(1) <= 2
				})
			}, item: item(course, "learner@example.com"), wantStatus: enroll.ItemEnrolled, wantOrder: enroll.OrderProcessed, wantCalls: 3},
			{name: "bad OAuth2 credentials wait for a fix", setup: func(l *edxtest.LMS) {
				var refused atomic.Int32
				l.SetFault(func(r *http.Request) (int, bool) {
					return 401, r.URL.Path == "/oauth2/access_token" && refused.Add(1) <= 2
				})
			}, item: item(course, "learner@example.com"), wantStatus: enroll.ItemEnrolled, wantOrder: enroll.OrderProcessed, wantCalls: 1},
			{name: "gives up after max attempts", setup: func(l *edxtest.LMS) { l.FailNext(100, 502) },
				item: item(course, "learner@example.com"), wantStatus: enroll.ItemFailed, wantOrder: enroll.OrderError,
				wantError: "gave up after 4 attempts", wantCalls: 4},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, d, 4)
				if tt.setup != nil {
					tt.setup(f.lms)
				}
				o := f.settled(t, f.order(t, tt.item))
				it := o.Items[0]
				if it.Status != tt.wantStatus || o.Status != tt.wantOrder || !strings.Contains(it.LastError, tt.wantError) {
					t.Errorf("item %s (%q), order %s; want %s (%q), %s", it.Status, it.LastError, o.Status, tt.wantStatus, tt.wantError, tt.wantOrder)
				}
				if got := len(f.lms.Calls()); got != tt.wantCalls {
					t.Errorf("bulk enroll calls = %d; want %d", got, tt.wantCalls)
				}
				attempts, err := f.db.Attempts(context.Background(), it.ID)
				if err != nil || len(attempts) == 0 {
					t.Errorf("attempts recorded: %v, %v", attempts, err)
				}
			})
		}
	})
}

func TestEnrollCallFields(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 3)
		f.settled(t, f.order(t, item("course-v1:Org+A+1", "learner@example.com")))
		calls := f.lms.Calls()
		if len(calls) != 1 {
			t.Fatalf("calls: %+v", calls)
		}
		c := calls[0]
		if c.Action != "enroll" || strings.Join(c.Courses, ",") != "course-v1:Org+A+1" ||
			strings.Join(c.Identifiers, ",") != "learner@example.com" || !c.AutoEnroll || c.EmailStudents {
			t.Errorf("call: %+v", c)
		}
	})
}

func TestThrottleIsNotAFailedAttempt(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 2)
		f.lms.SetRetryAfter(time.Second)
		f.lms.FailNext(3, 429)
		o := f.settled(t, f.order(t, item("course-v1:Org+A+1", "learner@example.com")))
		it := o.Items[0]
		if it.Status != enroll.ItemEnrolled {
			t.Fatalf("item %s (%s) after throttling with max 2 attempts; want enrolled", it.Status, it.LastError)
		}
		if it.Attempts != 1 {
			t.Errorf("counted attempts = %d; want 1 (throttled calls do not count)", it.Attempts)
		}
		attempts, err := f.db.Attempts(context.Background(), it.ID)
		if err != nil {
			t.Fatal(err)
		}
		throttled := 0
		for _, a := range attempts {
			if a.Outcome == enroll.OutcomeThrottled {
				throttled++
			}
		}
		if throttled == 0 {
			t.Errorf("no throttled attempt recorded: %+v", attempts)
		}
	})
}

func TestTokenReusedAndRefreshed(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 3)
		for i := range 3 {
			f.settled(t, f.order(t, item("course-v1:Org+A+1", string(rune('a'+i))+"@example.com")))
		}
		if n := f.lms.TokenRequests(); n != 1 {
			t.Fatalf("token requests for 3 orders = %d; want 1", n)
		}
		f.lms.ExpireTokens()
		o := f.settled(t, f.order(t, item("course-v1:Org+A+1", "z@example.com")))
		if o.Items[0].Status != enroll.ItemEnrolled || f.lms.TokenRequests() != 2 {
			t.Fatalf("after expiry: %s, %d token requests; want enrolled with one refresh", o.Items[0].Status, f.lms.TokenRequests())
		}
	})
}

func TestEachItemEnrolledOnce(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 3)
		items := []enroll.Item{
			item("course-v1:Org+A+1", "one@example.com"),
			item("course-v1:Org+B+1", "one@example.com"),
			item("course-v1:Org+A+1", "two@example.com"),
		}
		id := f.order(t, items...)
		// Redeliveries while the jobs run must not enqueue again.
		for range 5 {
			_, err := f.db.SaveAccepted(context.Background(), store.Accepted{
				Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: source, Path: "/test", Status: 200},
				Order:    enroll.Order{Platform: enroll.Shopify, Source: source, ID: id, Paid: true, Items: items},
			}, f.queue.Enqueue)
			if err != nil {
				t.Fatal(err)
			}
		}
		f.settled(t, id)
		for _, it := range items {
			if n := f.lms.EnrollCount(it.SKU, it.Email); n != 1 {
				t.Errorf("%s in %s enrolled %d times; want 1", it.Email, it.SKU, n)
			}
		}
	})
}

func TestBackoff(t *testing.T) {
	base, max := 3*time.Minute, time.Hour
	tests := []struct {
		attempt  int
		low, top time.Duration
	}{
		{1, 144 * time.Second, 216 * time.Second},
		{2, 288 * time.Second, 432 * time.Second},
		{3, 576 * time.Second, 864 * time.Second},
		{6, 48 * time.Minute, time.Hour},
		{25, 48 * time.Minute, time.Hour},
		{200, 48 * time.Minute, time.Hour},
	}
	for _, tt := range tests {
		for range 50 {
			if d := jobs.Backoff(base, max, tt.attempt); d < tt.low || d > tt.top {
				t.Fatalf("Backoff(attempt %d) = %v; want within [%v, %v]", tt.attempt, d, tt.low, tt.top)
			}
		}
	}
}

func TestShutdownInterruptsSlowCallAndRetriesAfterRestart(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 3)
		id, c := f.orderHeld(t, item("course-v1:Org+Slow+1", "slow@example.com"))
		if len(c.Identifiers) != 1 || c.Identifiers[0] != "slow@example.com" {
			t.Fatalf("held call %+v; want the order's learner", c)
		}
		stop(t, f.queue)
		o, err := f.db.FindOrder(context.Background(), enroll.Shopify, source, id)
		if err != nil {
			t.Fatal(err)
		}
		if it := o.Items[0]; it.Status != enroll.ItemPending || it.Attempts != 0 {
			t.Fatalf("after an interrupted call: %+v; want pending, no attempt used", it)
		}
		f.queue = f.start(t, 3)
		if o := f.settled(t, id); o.Items[0].Status != enroll.ItemEnrolled {
			t.Fatalf("after restart: %+v", o.Items[0])
		}
	})
}

func TestLearnerErrorRetriedUntilItClears(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 25)
		f.lms.SetIdentifier("flaky@example.com", edxtest.Error)
		id := f.order(t, item("course-v1:Org+A+1", "flaky@example.com"))
		deadline := time.Now().Add(20 * time.Second)
		for {
			o, err := f.db.FindOrder(context.Background(), enroll.Shopify, source, id)
			if err != nil {
				t.Fatal(err)
			}
			if o.Items[0].Status == enroll.ItemRetrying {
				if !strings.Contains(o.Items[0].LastError, "reported an error") {
					t.Errorf("last error %q", o.Items[0].LastError)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("item never retried: %+v", o.Items[0])
			}
			time.Sleep(20 * time.Millisecond)
		}
		f.lms.SetIdentifier("flaky@example.com", edxtest.Enrolled)
		if o := f.settled(t, id); o.Items[0].Status != enroll.ItemEnrolled {
			t.Fatalf("item %+v; want enrolled once the LMS recovers", o.Items[0])
		}
	})
}

// On PostgreSQL, storing an order wakes the workers through LISTEN/NOTIFY,
// even when another process (here, an insert-only queue) stored it: they
// do not wait for their next poll.
func TestPostgresWorkersWokenByNotify(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.Postgres)
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	lms := edxtest.New(t)
	client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret})
	workers, err := jobs.New(db, client, jobs.Options{Workers: 2, PollInterval: time.Minute,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := workers.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, workers) })
	// Start has returned: the workers listen already (River's producers
	// LISTEN before Start returns), and have made their first poll.
	for i := range 3 {
		// A client announces at most one insert per queue per fetch
		// cooldown: each order is stored by an intake of its own, as by
		// another process, so that each is announced.
		intake, err := jobs.New(db, nil, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = db.SaveAccepted(ctx, store.Accepted{
			Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: source, Path: "/test", Status: 200},
			Order: enroll.Order{Platform: enroll.Shopify, Source: source, ID: int64(7000 + i), Paid: true,
				Items: []enroll.Item{item("course-v1:Org+N+1", fmt.Sprintf("n%d@example.com", i))}},
		}, intake.Enqueue)
		if err != nil {
			t.Fatal(err)
		}
		for !lms.Enrolled("course-v1:Org+N+1", fmt.Sprintf("n%d@example.com", i)) {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("order %d not enrolled 5 s after it was stored, with a one-minute poll interval", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestLearnersOfOneCourseShareACall(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 3)
		f.lms.AddSKU("sku/PY101", "course-v1:Org+Py+1")
		f.lms.SetIdentifier("new@example.com", edxtest.NoAccount)
		f.lms.SetIdentifier("ghost@example.com", edxtest.Invalid)
		id := f.order(t,
			enroll.Item{LineItemID: 1, SKU: "PY101", Email: "one@example.com"},
			enroll.Item{LineItemID: 2, SKU: "PY101", Email: "new@example.com"},
			enroll.Item{LineItemID: 3, SKU: "PY101", Email: "ghost@example.com"},
			enroll.Item{LineItemID: 4, SKU: "course-v1:Org+Other+1", Email: "one@example.com"},
		)
		o := f.settled(t, id)
		want := map[string]enroll.ItemStatus{"one@example.com/PY101": enroll.ItemEnrolled, "new@example.com/PY101": enroll.ItemAllowed,
			"ghost@example.com/PY101": enroll.ItemFailed, "one@example.com/course-v1:Org+Other+1": enroll.ItemEnrolled}
		for _, it := range o.Items {
			if got := it.Status; got != want[it.Email+"/"+it.SKU] {
				t.Errorf("%s in %s: %s (%s); want %s", it.Email, it.SKU, got, it.LastError, want[it.Email+"/"+it.SKU])
			}
		}
		calls := f.lms.Calls()
		if len(calls) != 2 {
			t.Fatalf("%d bulk enroll calls; want 2 (one per course): %+v", len(calls), calls)
		}
		for _, c := range calls {
			if c.Courses[0] == "course-v1:Org+Py+1" && len(c.Identifiers) != 3 {
				t.Errorf("PY101 call enrolled %v; want the 3 learners at once", c.Identifiers)
			}
		}
	})
}

func TestBatchSizeCapsACall(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 3)
		stop(t, f.queue)
		f.queue = f.startWith(t, jobs.Options{BatchSize: 2})
		var items []enroll.Item
		for i := range 5 {
			items = append(items, enroll.Item{LineItemID: int64(i), SKU: "course-v1:Org+B+1", Email: fmt.Sprintf("b%d@example.com", i)})
		}
		f.settled(t, f.order(t, items...))
		for _, c := range f.lms.Calls() {
			if len(c.Identifiers) > 2 {
				t.Errorf("a call enrolled %d learners; want at most 2", len(c.Identifiers))
			}
		}
		if n := len(f.lms.Calls()); n != 3 {
			t.Errorf("%d calls for 5 learners in batches of 2; want 3", n)
		}
	})
}

// Orders stored apart (one job each) while no worker runs are enrolled in
// a few calls once workers start: a job takes pending items of its SKU
// that no other job holds.
func TestJobsShareCallsForPendingItems(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 3)
		stop(t, f.queue)
		intake, err := jobs.New(f.db, nil, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f.queue = intake
		var ids []int64
		for i := range 20 {
			ids = append(ids, f.order(t, item("course-v1:Org+Merge+1", fmt.Sprintf("m%d@example.com", i))))
		}
		f.queue = f.start(t, 3)
		for _, id := range ids {
			if o := f.settled(t, id); o.Items[0].Status != enroll.ItemEnrolled {
				t.Fatalf("order %d: %+v", id, o.Items[0])
			}
		}
		if n := len(f.lms.Calls()); n > 4 {
			t.Errorf("%d bulk enroll calls for 20 pending learners of one course; want a few", n)
		}
		for i := range 20 {
			if n := f.lms.EnrollCount("course-v1:Org+Merge+1", fmt.Sprintf("m%d@example.com", i)); n != 1 {
				t.Errorf("learner %d enrolled %d times", i, n)
			}
		}
	})
}

// While webhooks are being stored, jobs wait (ingest goes first) and run
// once ingest quietens; under ingest that never stops they still run after
// MaxHold.
func TestJobsGiveWayToIngest(t *testing.T) {
	tests := []struct {
		name    string
		maxHold time.Duration
		quieten bool
	}{
		{"until ingest quietens", time.Minute, true},
		{"at most MaxHold", 50 * time.Millisecond, false},
	}
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, d, 3)
				stop(t, f.queue)
				var busy atomic.Bool
				var asked atomic.Int64 // IngestBusy is asked only by a job that is holding
				busy.Store(true)
				ingestBusy := func() bool { asked.Add(1); return busy.Load() }
				f.queue = f.startWith(t, jobs.Options{IngestBusy: ingestBusy, MaxHold: tt.maxHold})
				id := f.order(t, item("course-v1:Org+A+1", "held@example.com"))
				if tt.quieten {
					// The job has been picked up, and has found ingest busy
					// several times, polling: it has not called the LMS.
					waitFor(t, "the job to find ingest busy", func() bool { return asked.Load() >= 5 })
					if n, tokens := len(f.lms.Calls()), f.lms.TokenRequests(); n != 0 || tokens != 0 {
						t.Fatalf("%d bulk enroll calls and %d token requests while ingest was busy; want none", n, tokens)
					}
					busy.Store(false)
				}
				if o := f.settled(t, id); o.Items[0].Status != enroll.ItemEnrolled {
					t.Fatalf("item %+v; want enrolled", o.Items[0])
				}
				if asked.Load() == 0 {
					t.Error("the job never asked whether ingest was busy")
				}
			})
		}
	})
}

// Items that failed while the LMS was down do not wait out their backoff
// once it answers again: the first answered call wakes their jobs.
func TestLMSBackWakesWaitingItems(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 5)
		waiting := f.orderWaiting(t, jobs.Options{MaxAttempts: 5, RetryDelay: 5 * time.Minute})
		f.lms.SetDown(false)
		f.settled(t, f.order(t, item("course-v1:Org+B+1", "next@example.com")))
		if o := f.settled(t, waiting); o.Items[0].Status != enroll.ItemEnrolled || o.Items[0].Attempts != 2 {
			t.Fatalf("item %+v; want enrolled at its second attempt, long before its 5-minute retry delay", o.Items[0])
		}
	})
}
