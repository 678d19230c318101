package jobs_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics/metricstest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

func TestMetricsCountOutcomes(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		db := storetest.Open(t, d)
		if err := jobs.Migrate(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		m := metrics.New(metrics.Options{})
		f := &fixture{db: db, lms: edxtest.New(t)}
		f.queue = f.startWith(t, jobs.Options{MaxAttempts: 2, Metrics: m})

		// Two transient failures with two attempts: one retry, then failed.
		f.lms.FailNext(2, 503)
		f.settled(t, f.order(t, item("course-v1:Org+A+1", "unlucky@example.com")))
		// A learner's own result decides.
		f.lms.SetIdentifier("new@example.com", edxtest.NoAccount)
		f.lms.SetIdentifier("bad@example.com", edxtest.Invalid)
		f.settled(t, f.order(t, item("course-v1:Org+B+1", "ok@example.com"), item("course-v1:Org+C+1", "new@example.com"),
			item("course-v1:Org+D+1", "bad@example.com")))
		// A 429 with Retry-After uses no attempt: throttled, then enrolled.
		f.lms.FailNext(1, 429)
		f.settled(t, f.order(t, item("course-v1:Org+E+1", "later@example.com")))

		srv := httptest.NewServer(m.Handler())
		defer srv.Close()
		want := map[string]float64{
			`webhook_receiver_items_total{outcome="enrolled"}`: 2,
			`webhook_receiver_items_total{outcome="allowed"}`:  1,
			`webhook_receiver_items_total{outcome="failed"}`:   2,
			`webhook_receiver_retries_total`:                   1,
			`webhook_receiver_throttled_total`:                 1,
		}
		got := metricstest.Scrape(t, srv.URL)
		if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
			t.Errorf("metrics (-want +got):\n%s", diff)
		}
	})
}
