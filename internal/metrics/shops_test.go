package metrics_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics/metricstest"
)

// TestShopWebhooks reads the subscriptions at each scrape, as the last
// check stored them, and counts the orders reconciliations found.
func TestShopWebhooks(t *testing.T) {
	stored := []metrics.ShopWebhook{{Shop: "a.myshopify.com", Topic: "ORDERS_CREATE", Up: true},
		{Shop: "https://shop.example.com/", Topic: "order.created", Up: false}}
	m := metrics.New(metrics.Options{ShopWebhooks: func(context.Context) ([]metrics.ShopWebhook, error) { return stored, nil }})
	m.Reconciled("https://shop.example.com/", 3, 1)
	m.Reconciled("https://shop.example.com/", 2, 0)
	m.Reconciled("a.myshopify.com", 0, 0)
	got := metricstest.Scrape(t, serve(t, m))
	want := map[string]float64{
		`webhook_receiver_shop_webhook_up{shop="a.myshopify.com",topic="ORDERS_CREATE"}`:              1,
		`webhook_receiver_shop_webhook_up{shop="https://shop.example.com/",topic="order.created"}`:    0,
		`webhook_receiver_reconciled_orders_total{reason="missing",shop="https://shop.example.com/"}`: 5,
		`webhook_receiver_reconciled_orders_total{reason="stale",shop="https://shop.example.com/"}`:   1,
		`webhook_receiver_reconciled_orders_total{reason="missing",shop="a.myshopify.com"}`:           0,
		`webhook_receiver_reconciled_orders_total{reason="stale",shop="a.myshopify.com"}`:             0,
	}
	if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	stored[1].Up = true // a later check, by any replica
	if got := metricstest.Scrape(t, serve(t, m))[`webhook_receiver_shop_webhook_up{shop="https://shop.example.com/",topic="order.created"}`]; got != 1 {
		t.Errorf("after the subscription is up again: %v", got)
	}
	var none *metrics.Metrics
	none.Reconciled("x", 1, 1)
}
