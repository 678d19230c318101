package webhook

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

type shopifyRefund struct {
	ID              json.RawMessage `json:"id"`
	OrderID         json.RawMessage `json:"order_id"`
	CreatedAt       json.RawMessage `json:"created_at"`
	RefundLineItems json.RawMessage `json:"refund_line_items"`
}

type shopifyRefundLine struct {
	LineItemID json.RawMessage `json:"line_item_id"`
	Quantity   json.RawMessage `json:"quantity"`
}

// ParseShopifyRefund reads the body of a Shopify refunds/create webhook.
// Only order_id is required: an odd refund id is 0, an odd created_at is
// zero, and a refund line without a line item id is skipped, as it names
// no seat. Lines of the same line item are added up, so each line item
// appears once.
func ParseShopifyRefund(body []byte) (enroll.Refund, error) {
	var in shopifyRefund
	if err := decodeObject(body, &in, ErrNotRefund); err != nil {
		return enroll.Refund{}, err
	}
	orderID, ok := positive(in.OrderID, 64)
	if !ok {
		if isNull(in.OrderID) {
			return enroll.Refund{}, ErrNotRefund
		}
		return enroll.Refund{}, fmt.Errorf("order_id %.24q is not a positive integer: %w", numberText(in.OrderID), ErrNotRefund)
	}
	refund := enroll.Refund{OrderID: orderID, At: timestamp(in.CreatedAt, time.RFC3339)}
	refund.ID, _ = positive(in.ID, 64)
	index := map[int64]int{} // line item id → its line in refund.Lines
	for _, raw := range elements(in.RefundLineItems) {
		var line shopifyRefundLine
		if json.Unmarshal(raw, &line) != nil {
			continue
		}
		lineItemID, ok := positive(line.LineItemID, 64)
		if !ok {
			continue
		}
		seats := quantity(line.Quantity)
		if i, seen := index[lineItemID]; seen {
			refund.Lines[i].Quantity = min(refund.Lines[i].Quantity+seats, maxQuantity)
			continue
		}
		index[lineItemID] = len(refund.Lines)
		refund.Lines = append(refund.Lines, enroll.RefundLine{LineItemID: lineItemID, Quantity: seats})
	}
	return refund, nil
}
