package ingest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ingest"
)

// A shop that requires payment awaits it by the topic and the financial
// status; an order read as it is now that was refunded was paid.
func TestShopifyOrderAwaitsPayment(t *testing.T) {
	shop := config.Shop{Domain: "s.myshopify.com", RequirePayment: true, UnenrollOnRefund: true}
	for _, tc := range []struct {
		topic, status string
		awaiting      bool
	}{
		{ingest.OrdersCreate, "pending", true},
		{"", "pending", true},
		{ingest.OrdersCreate, "paid", false},
		{ingest.OrdersPaid, "pending", false},
		{ingest.OrdersCreate, "partially_refunded", true},
		{ingest.OrdersUpdated, "partially_refunded", false},
		{ingest.OrdersUpdated, "refunded", false},
		{ingest.OrdersUpdated, "authorized", true},
	} {
		a, err := ingest.ShopifyOrder(config.Config{}, shop, tc.topic, enroll.Order{ID: 1, Snapshot: enroll.Snapshot{ShopStatus: tc.status}})
		if err != nil || a.AwaitingPayment != tc.awaiting || !a.UnenrollOnRefund {
			t.Errorf("%s %s: awaiting %v (%v), want %v", tc.topic, tc.status, a.AwaitingPayment, err, tc.awaiting)
		}
	}
	a, _ := ingest.ShopifyOrder(config.Config{}, shop, ingest.OrdersCancelled, enroll.Order{ID: 1})
	if !a.Order.Cancelled {
		t.Error("orders/cancelled: not cancelled")
	}
	if _, err := ingest.ShopifyOrder(config.Config{}, shop, "customers/redact", enroll.Order{ID: 1}); !errors.Is(err, ingest.ErrNotOrderTopic) {
		t.Errorf("customers/redact: %v, want ErrNotOrderTopic", err)
	}
}

func TestWooCommerceOrder(t *testing.T) {
	site := config.Site{Source: "https://shop.example.com", RequirePayment: true}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if _, err := ingest.WooCommerceOrder(config.Config{}, site, enroll.Order{ID: 7}); !errors.Is(err, ingest.ErrUnpaid) {
		t.Errorf("unpaid: %v, want ErrUnpaid", err)
	}
	a, err := ingest.WooCommerceOrder(config.Config{}, site, enroll.Order{ID: 7, Paid: true,
		Snapshot: enroll.Snapshot{At: at, ShopStatus: "processing\n"}})
	if err != nil || len(a.Keys) != 1 || a.Keys[0] != `order:7:processing\x0a:2026-12-01T10:00:00` {
		t.Errorf("paid: keys %q (%v)", a.Keys, err)
	}
}
