package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics/metricstest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// want changes the desired state of the order's items as a refund or a
// cancellation does: the items are pending again, with a fresh budget,
// and a job for them is enqueued in the same transaction.
func (f *fixture) want(t *testing.T, id int64, w enroll.Want) {
	t.Helper()
	ctx := context.Background()
	o, err := f.db.FindOrder(ctx, enroll.Shopify, source, id)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := f.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var ids []int64
	for _, it := range o.Items {
		if _, err := tx.ExecContext(ctx, `UPDATE items SET want = $1, status = $2, tries = 0 WHERE id = $3`,
			w, enroll.ItemPending, it.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	if err := f.queue.Enqueue(ctx, tx, [][]int64{ids}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestRefundUnenrolls(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		const course = "course-v1:Org+Refund+1"
		db := storetest.Open(t, d)
		if err := jobs.Migrate(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		m := metrics.New(metrics.Options{})
		f := &fixture{db: db, lms: edxtest.New(t)}
		f.queue = f.startWith(t, jobs.Options{MaxAttempts: 3, Metrics: m})
		f.lms.SetIdentifier("new@example.com", edxtest.NoAccount)
		f.lms.SetIdentifier("ghost@example.com", edxtest.Invalid)
		id := f.order(t, item(course, "old@example.com"), item(course, "new@example.com"))
		f.settled(t, id)
		if !f.lms.Enrolled(course, "old@example.com") || !f.lms.Allowed(course, "new@example.com") {
			t.Fatal("the learners were not enrolled before the refund")
		}
		before := len(f.lms.Calls())

		f.want(t, id, enroll.WantUnenrolled)
		o := f.settled(t, id)
		for _, it := range o.Items {
			if it.Status != enroll.ItemUnenrolled || it.LastError != "" {
				t.Errorf("%s: %s (%q); want unenrolled", it.Email, it.Status, it.LastError)
			}
		}
		if o.Status != enroll.OrderProcessed {
			t.Errorf("order %s; want %s", o.Status, enroll.OrderProcessed)
		}
		if f.lms.Enrolled(course, "old@example.com") || f.lms.Allowed(course, "new@example.com") {
			t.Error("a learner is still enrolled, or allowed, after the refund")
		}
		calls := f.lms.Calls()[before:]
		if len(calls) != 1 || calls[0].Action != "unenroll" || len(calls[0].Identifiers) != 2 {
			t.Errorf("calls after the refund: %+v; want one unenroll of both learners", calls)
		}
		attempts, err := f.db.Attempts(context.Background(), o.Items[0].ID)
		if err != nil || len(attempts) != 2 || attempts[len(attempts)-1].Outcome != enroll.OutcomeUnenrolled {
			t.Errorf("attempts %+v, %v; want the enrollment, then the unenrollment", attempts, err)
		}

		// The LMS refuses an identifier: the item fails, saying why.
		ghost := f.order(t, item(course, "ghost@example.com"))
		f.settled(t, ghost)
		f.want(t, ghost, enroll.WantUnenrolled)
		if it := f.settled(t, ghost).Items[0]; it.Status != enroll.ItemFailed || it.LastError !=
			"the LMS rejected the learner email as an invalid identifier: it cannot unenroll it" {
			t.Errorf("unenroll of an invalid identifier: %s (%q); want failed", it.Status, it.LastError)
		}

		srv := httptest.NewServer(m.Handler())
		defer srv.Close()
		want := map[string]float64{`webhook_receiver_items_total{outcome="unenrolled"}`: 2}
		if diff := cmp.Diff(want, metricstest.Pick(metricstest.Scrape(t, srv.URL), want)); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
	})
}

// An item that is to be unenrolled before it was ever enrolled is still
// sent: an earlier call may have enrolled it without its answer reaching
// us. An item that cannot have been enrolled (no valid email) needs nothing.
func TestUnenrollOfANeverEnrolledItem(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, 3)
		stop(t, f.queue)
		intake, err := jobs.New(f.db, nil, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		f.queue = intake
		id := f.order(t, item("course-v1:Org+Never+1", "never@example.com"), item("course-v1:Org+Never+1", "not an email"))
		f.want(t, id, enroll.WantUnenrolled)
		f.queue = f.start(t, 3)
		o := f.settled(t, id)
		for _, it := range o.Items {
			if it.Status != enroll.ItemUnenrolled {
				t.Errorf("%q: %s (%q); want unenrolled", it.Email, it.Status, it.LastError)
			}
		}
		calls := f.lms.Calls()
		if len(calls) != 1 || calls[0].Action != "unenroll" || !slices.Equal(calls[0].Identifiers, []string{"never@example.com"}) {
			t.Errorf("calls %+v; want one unenroll of the learner with an email", calls)
		}
	})
}

// A cancellation while the enrollment waits for a retry (the LMS answers
// 503) replaces it: after the change, the LMS gets no enroll call, and the
// learner ends unenrolled.
func TestUnenrollReplacesAWaitingEnroll(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		const course = "course-v1:Org+Wait+1"
		f := newFixture(t, d, 5)
		stop(t, f.queue)
		f.queue = f.startWith(t, jobs.Options{MaxAttempts: 5, RetryDelay: 5 * time.Minute})
		f.lms.FailNext(1000, http.StatusServiceUnavailable)
		id := f.order(t, item(course, "waiting@example.com"))
		waitFor(t, "the item's job to wait for its retry", func() bool { return retryableJobs(t, f.db) == 1 })
		before := len(f.lms.Calls())
		f.want(t, id, enroll.WantUnenrolled)
		f.lms.FailNext(0, 0)
		if it := f.settled(t, id).Items[0]; it.Status != enroll.ItemUnenrolled {
			t.Fatalf("item %s (%q); want unenrolled", it.Status, it.LastError)
		}
		// The job that waited runs too (the LMS answers again): it finds
		// nothing to do.
		waitFor(t, "the waiting job to finish", func() bool { return retryableJobs(t, f.db) == 0 })
		calls := f.lms.Calls()
		if before == 0 || calls[0].Action != "enroll" {
			t.Fatalf("calls before the change %+v; want failed enroll calls", calls[:before])
		}
		for _, c := range calls[before:] {
			if c.Action != "unenroll" {
				t.Errorf("an %s call after the change: %+v", c.Action, c)
			}
		}
		if len(calls) == before || f.lms.Enrolled(course, "waiting@example.com") {
			t.Errorf("calls after the change %+v, enrolled %v; want an unenroll, not enrolled", calls[before:],
				f.lms.Enrolled(course, "waiting@example.com"))
		}
	})
}

// A cancellation that arrives while the enroll call is under way: the
// enrollment's answer is recorded, but the item does not stay enrolled;
// it is unenrolled next.
func TestUnenrollAfterAnEnrollUnderWay(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		const course = "course-v1:Org+Race+1"
		f := newFixture(t, d, 3)
		held, release := make(chan struct{}), make(chan struct{})
		f.lms.SetHold(func(r *http.Request, c edxtest.Call) {
			if c.Action == "enroll" {
				close(held)
				<-release
			}
		})
		id := f.order(t, item(course, "racing@example.com"))
		<-held
		f.want(t, id, enroll.WantUnenrolled)
		close(release)
		it := f.settled(t, id).Items[0]
		if it.Status != enroll.ItemUnenrolled || f.lms.Enrolled(course, "racing@example.com") {
			t.Fatalf("item %s (%q), enrolled %v; want unenrolled", it.Status, it.LastError, f.lms.Enrolled(course, "racing@example.com"))
		}
		var actions []string
		for _, c := range f.lms.Calls() {
			actions = append(actions, c.Action)
		}
		if !slices.Equal(actions, []string{"enroll", "unenroll"}) {
			t.Errorf("calls %v; want the enroll under way, then an unenroll", actions)
		}
		attempts, err := f.db.Attempts(context.Background(), it.ID)
		if err != nil || len(attempts) != 2 || attempts[0].Outcome != enroll.OutcomeEnrolled {
			t.Errorf("attempts %+v, %v; want the enrollment recorded, then the unenrollment", attempts, err)
		}
	})
}
