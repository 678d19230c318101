package jobs_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// The retention job runs on a queue without enrollment workers (no LMS
// here), at start and then at each interval, and purges old bodies.
func TestRetentionJobPurges(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		rejected := func(age time.Duration) int64 {
			t.Helper()
			id, err := db.SaveDelivery(ctx, store.Delivery{ReceivedAt: time.Now().Add(-age), Platform: enroll.Shopify,
				Source: "shop.example.com", Path: "/webhooks/shopify", Headers: http.Header{"X-Test": {"1"}},
				Body: []byte(`{"id": 1}`), KeepBody: true, Status: 402, Reason: "order is not paid"})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		old, recent := rejected(100*24*time.Hour), rejected(time.Hour)
		m := metrics.New(metrics.Options{})
		q, err := jobs.New(db, nil, jobs.Options{Retention: 90 * 24 * time.Hour, RetentionInterval: 50 * time.Millisecond,
			PollInterval: 20 * time.Millisecond, Metrics: m, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		purged := func(id int64) bool {
			d, err := db.Delivery(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return !d.HasBody
		}
		waitUntil(t, "the old body to be purged", func() bool { return purged(old) })
		// A later run finds what became old since: another delivery, stored
		// 100 days ago as far as the cut can tell.
		older := rejected(200 * 24 * time.Hour)
		waitUntil(t, "the next run", func() bool { return purged(older) })
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := q.Stop(stop); err != nil {
			t.Fatal(err)
		}
		if purged(recent) {
			t.Error("a recent body was purged")
		}
		var actions int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM actions WHERE action = 'purge' AND actor = 'retention'`).Scan(&actions); err != nil || actions < 2 {
			t.Errorf("%d purge actions recorded, %v; want one per run", actions, err)
		}
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
