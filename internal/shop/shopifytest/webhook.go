package shopifytest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// OrderWebhook is the body Shopify would send for the order now in an
// orders/* webhook, so tests can deliver a late webhook for an order the
// API already returned. It panics on an unknown id, a mistake of the test.
func (s *Shop) OrderWebhook(id int64) []byte {
	o, ok := s.Order(id)
	if !ok {
		panic(fmt.Sprintf("shopifytest: no order %d", id))
	}
	items := make([]map[string]any, 0, len(o.Lines))
	for _, l := range o.Lines {
		props := make([]map[string]any, 0, len(l.Learners))
		for _, email := range l.Learners {
			props = append(props, map[string]any{"name": "email", "value": email})
		}
		items = append(items, map[string]any{"id": l.ID, "sku": l.SKU, "quantity": l.Quantity, "properties": props})
	}
	var customer any
	if o.CustomerEmail != "" {
		customer = map[string]any{"email": o.CustomerEmail}
	}
	body, err := json.Marshal(map[string]any{
		"id":                   o.ID,
		"admin_graphql_api_id": gid("Order", o.ID),
		"email":                o.Email,
		"customer":             customer,
		"created_at":           timeValue(o.CreatedAt),
		"updated_at":           timeValue(o.UpdatedAt),
		"cancelled_at":         timeValue(o.CancelledAt),
		"financial_status":     strings.ToLower(o.FinancialStatus),
		"line_items":           items,
	})
	if err != nil {
		panic(err) // maps of strings and numbers always encode
	}
	return body
}

// RefundWebhook is the body of the refunds/create webhook for a refund of
// an order. It panics on an unknown id, a mistake of the test.
func (s *Shop) RefundWebhook(orderID, refundID int64) []byte {
	o, ok := s.Order(orderID)
	if !ok {
		panic(fmt.Sprintf("shopifytest: no order %d", orderID))
	}
	for _, r := range o.Refunds {
		if r.ID != refundID {
			continue
		}
		lines := make([]map[string]any, 0, len(r.Lines))
		for _, l := range r.Lines {
			lines = append(lines, map[string]any{"line_item_id": l.LineItemID, "quantity": l.Quantity})
		}
		body, err := json.Marshal(map[string]any{"id": r.ID, "order_id": o.ID, "created_at": timeValue(r.CreatedAt),
			"refund_line_items": lines})
		if err != nil {
			panic(err)
		}
		return body
	}
	panic(fmt.Sprintf("shopifytest: order %d has no refund %d", orderID, refundID))
}
