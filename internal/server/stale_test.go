package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics/metricstest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// TestStaleSnapshotMetrics: a delivery of an order older than the one
// applied is answered 200, stored as stale, counted as outcome stale, and
// shown as such with its order.
func TestStaleSnapshotMetrics(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		const shopify = "/webhooks/shopify/order/create"
		at := func(updated string) string {
			return strings.Replace(shopifyOrder, `{"id": 5834765623456,`, `{"id": 5834765623456, "updated_at": "`+updated+`",`, 1)
		}
		for i, body := range []string{at("2026-11-23T10:00:00Z"), at("2026-11-23T09:00:00Z")} {
			h := shopifyHeaders(shopDomain, shopSecret, body)
			h["X-Shopify-Webhook-Id"] = []string{"newer", "older"}[i] // two deliveries, not one sent twice
			if got := f.post(t, shopify, "application/json", h, body); got != 200 {
				t.Fatalf("delivery %d: status %d, want 200", i, got)
			}
		}
		got := metricstest.Scrape(t, f.srv.URL+"/metrics")
		want := map[string]float64{
			`webhook_receiver_deliveries_total{outcome="accepted",platform="shopify"}`: 1,
			`webhook_receiver_deliveries_total{outcome="stale",platform="shopify"}`:    1,
		}
		if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
			t.Errorf("deliveries (-want +got):\n%s", diff)
		}
		o, err := f.db.FindOrder(context.Background(), enroll.Shopify, shopDomain, 5834765623456)
		if err != nil {
			t.Fatal(err)
		}
		detail, err := f.db.OrderDetail(context.Background(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if newer := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC); detail.StaleSnapshots() != 1 || !detail.Snapshot.At.Equal(newer) {
			t.Errorf("order: %d stale snapshots, snapshot at %v; want 1, and the newer one applied", detail.StaleSnapshots(), detail.Snapshot.At)
		}
	})
}
