package shopify

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseOrder is ParseOrder with the refunds apart, as most tests read them.
func parseOrder(node []byte) (enroll.Order, []enroll.Refund, error) {
	found, err := ParseOrder(node)
	var refunds []enroll.Refund
	for _, r := range found.Refunds {
		refunds = append(refunds, r.Refund)
	}
	return found.Order, refunds, err
}

func TestParseOrder(t *testing.T) {
	order, refunds, err := parseOrder(readTestdata(t, "order_node.json"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 28, 9, 41, 7, 0, time.UTC)
	want := enroll.Order{
		Platform: enroll.Shopify,
		ID:       5820443214123,
		Email:    "Customer@Example.com",
		Paid:     true,
		Items: []enroll.Item{
			{LineItemID: 14620431352107, SKU: "course-v1:edX+DemoX+Demo_2026", Email: "ana@example.com", Quantity: 2},
			{LineItemID: 14620431352107, SKU: "course-v1:edX+DemoX+Demo_2026", Email: "bo@example.com", Quantity: 2},
			{LineItemID: 14620431384875, SKU: "course-v1:edX+Other+2026", Email: "Customer@Example.com", Quantity: 1},
		},
		Snapshot: enroll.Snapshot{At: at, ShopStatus: "partially_refunded"},
	}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	wantRefunds := []enroll.Refund{{ID: 948532519211, OrderID: 5820443214123, At: at,
		Lines: []enroll.RefundLine{{LineItemID: 14620431384875, Quantity: 1}}}}
	if diff := cmp.Diff(wantRefunds, refunds); diff != "" {
		t.Errorf("refunds (-want +got):\n%s", diff)
	}
}

func TestParseOrderCancelled(t *testing.T) {
	order, refunds, err := parseOrder(readTestdata(t, "order_node_cancelled.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !order.Cancelled || order.ShopStatus != "pending" || len(refunds) != 0 {
		t.Errorf("got cancelled %v, status %q, refunds %v; want cancelled, pending, none", order.Cancelled, order.ShopStatus, refunds)
	}
	if len(order.Items) != 1 || order.Items[0].SKU != "" || order.Items[0].Email != "" || order.Items[0].LineItemID != 14620431399999 {
		t.Errorf("items %+v: want one line without SKU or email", order.Items)
	}
}

// The GraphQL order and the webhook of the same order give the same order.
func TestParseOrderMatchesWebhook(t *testing.T) {
	node := readTestdata(t, "order_node.json")
	got, _, err := parseOrder(node)
	if err != nil {
		t.Fatal(err)
	}
	hook := []byte(`{"id": 5820443214123, "email": "buyer@example.com", "customer": {"email": "Customer@Example.com"},
		"updated_at": "2026-11-28T10:41:07+01:00", "financial_status": "partially_refunded", "cancelled_at": null,
		"line_items": [
			{"id": 14620431352107, "sku": "course-v1:edX+DemoX+Demo_2026", "quantity": 2,
			 "properties": [{"name": "Email", "value": "ana@example.com; bo@example.com"}, {"name": "gift", "value": "yes"}]},
			{"id": 14620431384875, "sku": "course-v1:edX+Other+2026", "quantity": 1, "properties": []}]}`)
	want, err := webhook.ParseShopifyOrder(hook)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GraphQL order differs from the webhook's (-webhook +graphql):\n%s", diff)
	}
}

func TestParseOrderErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		node string
		want error
	}{
		{"not JSON", `{"legacyResourceId": `, webhook.ErrInvalidJSON},
		{"an array", `[1]`, webhook.ErrNotOrder},
		{"no id", `{"updatedAt": "2026-11-28T09:41:07Z"}`, webhook.ErrNotOrder},
		{"id not a number", `{"legacyResourceId": "gid://shopify/Order/1"}`, webhook.ErrNotOrder},
		{"line items not a connection", `{"legacyResourceId": "1", "lineItems": 3}`, webhook.ErrNotOrder},
		{"a line item not an object", `{"legacyResourceId": "1", "lineItems": {"nodes": [3]}}`, webhook.ErrNotOrder},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseOrder([]byte(tc.node)); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzParseOrder(f *testing.F) {
	for _, name := range []string{"order_node.json", "order_node_cancelled.json"} {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`{"legacyResourceId": 7, "lineItems": {"nodes": [{"id": "gid://shopify/LineItem/", "customAttributes": [{"key": "email", "value": 3}]}]}}`))
	f.Add([]byte(`{"legacyResourceId": "9", "displayFinancialStatus": 1, "refunds": [{"id": 4, "refundLineItems": {"nodes": [{"lineItem": null, "quantity": "x"}]}}, 7]}`))
	f.Fuzz(func(t *testing.T, node []byte) {
		found, err := ParseOrder(node)
		order := found.Order
		if err != nil {
			if !errors.Is(err, webhook.ErrInvalidJSON) && !errors.Is(err, webhook.ErrNotOrder) {
				t.Errorf("error %v is neither ErrInvalidJSON nor ErrNotOrder", err)
			}
			return
		}
		if order.ID <= 0 || order.Platform != enroll.Shopify {
			t.Errorf("order %d of %q accepted", order.ID, order.Platform)
		}
		for _, it := range order.Items {
			if it.Quantity < 1 || it.LineItemID < 0 {
				t.Errorf("item %+v", it)
			}
		}
		// The body kept is the webhook body the order reads as, and each
		// refund's the refunds/create body it reads as: a replay of them
		// gives the same.
		if again, err := webhook.ParseShopifyOrder(found.Body); err != nil {
			t.Errorf("the order's body does not parse: %v", err)
		} else if diff := cmp.Diff(order, again); diff != "" {
			t.Errorf("the order's body reads as another order (-order +body):\n%s", diff)
		}
		for _, fr := range found.Refunds {
			r := fr.Refund
			if again, err := webhook.ParseShopifyRefund(fr.Body); err != nil {
				t.Errorf("refund %d's body does not parse: %v", r.ID, err)
			} else if diff := cmp.Diff(r, again); diff != "" {
				t.Errorf("refund %d's body reads as another refund (-refund +body):\n%s", r.ID, diff)
			}
			if r.OrderID != order.ID {
				t.Errorf("refund of order %d in order %d", r.OrderID, order.ID)
			}
			for _, l := range r.Lines {
				if l.LineItemID <= 0 || l.Quantity < 1 {
					t.Errorf("refund line %+v", l)
				}
			}
		}
		// Whatever it reads survives a round trip through JSON, as the
		// store and the job keep it.
		if _, err := json.Marshal(order); err != nil {
			t.Errorf("order does not encode: %v", err)
		}
	})
}
