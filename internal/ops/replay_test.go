package ops_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// A stored Shopify delivery is replayed as its topic's endpoint reads it:
// a refund as a refund (not as an order of the refund's id), a
// cancellation as cancelled; a topic that is not an order's is refused.
func TestReplayOfShopifyTopics(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cfg := testConfig(false, false)
		cfg.Shopify[0].UnenrollOnRefund = true
		o := newOps(t, db, cfg)
		stored := func(topic, body string) int64 {
			t.Helper()
			id, err := db.SaveDelivery(ctx, store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: shop,
				Path: "/webhooks/shopify", Headers: http.Header{"X-Shopify-Topic": {topic}}, Body: []byte(body), KeepBody: true,
				Status: 503, Reason: "could not store the order: please retry"})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		order := `{"id": 70, "updated_at": "2026-12-01T10:00:00Z", "financial_status": "paid",
			"line_items": [{"id": 1, "sku": "course-v1:Org+A+1", "properties": [{"name": "email", "value": "a@example.com"}]}]}`
		refund := `{"id": 71, "order_id": 70, "refund_line_items": [{"line_item_id": 1, "quantity": 1}]}`

		if _, err := o.Replay(ctx, "admin", stored("orders/create", order)); err != nil {
			t.Fatal(err)
		}
		res, err := o.Replay(ctx, "admin", stored("refunds/create", refund))
		if err != nil || res.NewOrder {
			t.Fatalf("replay of a refund = %+v, %v; want a refund of order 70", res, err)
		}
		if _, err := db.FindOrder(ctx, enroll.Shopify, shop, 71); err == nil {
			t.Error("the refund was replayed as an order of its own id")
		}
		d, err := db.OrderDetail(ctx, res.OrderID)
		if err != nil || d.ExternalID != 70 || len(d.Refunds) != 1 || d.Items[0].Want != enroll.WantUnenrolled || !d.Items[0].Refunded {
			t.Errorf("order after the refund's replay: %+v, refunds %+v, %v", d.Items, d.Refunds, err)
		}
		cancelled := strings.Replace(order, "10:00:00Z", "10:05:00Z", 1)
		if res, err := o.Replay(ctx, "admin", stored("orders/cancelled", cancelled)); err != nil {
			t.Fatal(err)
		} else if d, _ := db.OrderDetail(ctx, res.OrderID); !d.Snapshot.Cancelled {
			t.Errorf("replay of orders/cancelled: %+v; want the order cancelled", d.Snapshot)
		}
		if _, err := o.Replay(ctx, "admin", stored("customers/redact", `{"shop_id": 1}`)); err == nil ||
			!strings.Contains(err.Error(), `topic "customers/redact" is not an order's`) {
			t.Errorf("replay of a compliance delivery: %v", err)
		}
	})
}
