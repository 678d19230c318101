package woo

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop"
)

// Refunds returns an order's refunds with the order lines each refunded
// and how many seats, read from /orders/<id>/refunds. The order webhook
// only holds refund totals; this is where a partial refund names its lines.
// Each refund comes with its REST JSON.
func (c *Client) Refunds(ctx context.Context, orderID int64) ([]shop.Refund, error) {
	op := fmt.Sprintf("list refunds of order %d", orderID)
	var refunds []shop.Refund
	err := c.pages(ctx, op, "/orders/"+strconv.FormatInt(orderID, 10)+"/refunds", url.Values{},
		func(page int, body []byte) (int, error) {
			rs, n, err := parseRefunds(orderID, body)
			if err != nil {
				return 0, fmt.Errorf("%s, page %d: %w", op, page, err)
			}
			refunds = append(refunds, rs...)
			return n, nil
		})
	if err != nil {
		return nil, err
	}
	return refunds, nil
}

type wooRefund struct {
	ID          json.RawMessage `json:"id"`
	DateCreated json.RawMessage `json:"date_created_gmt"`
	LineItems   json.RawMessage `json:"line_items"`
}

type wooRefundLine struct {
	Quantity       json.RawMessage `json:"quantity"`
	RefundedItemID json.RawMessage `json:"refunded_item_id"`
	MetaData       json.RawMessage `json:"meta_data"`
}

type wooMeta struct {
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

// ParseRefunds reads a page of /orders/<id>/refunds: each refund's line
// items, whose negative quantities are the seats refunded and whose meta
// _refunded_item_id names the order's line. A refund line that names no
// line or no whole seat (a refund of money only) is skipped; lines of the
// same order line are added up. An element that is not a refund object is
// skipped. Only an answer that is not a list is an error.
func ParseRefunds(orderID int64, body []byte) ([]enroll.Refund, error) {
	found, _, err := parseRefunds(orderID, body)
	var refunds []enroll.Refund
	for _, r := range found {
		refunds = append(refunds, r.Refund)
	}
	return refunds, err
}

// parseRefunds is ParseRefunds with each refund's JSON, also returning how
// many elements the page had, for paging.
func parseRefunds(orderID int64, body []byte) ([]shop.Refund, int, error) {
	elems, err := elements(body)
	if err != nil {
		return nil, 0, err
	}
	var refunds []shop.Refund
	for _, raw := range elems {
		var in wooRefund
		if raw[0] != '{' || json.Unmarshal(raw, &in) != nil {
			continue
		}
		r := enroll.Refund{OrderID: orderID, At: gmtTime(in.DateCreated)}
		r.ID, _ = positiveID(in.ID)
		lines, _ := elements(in.LineItems)
		index := map[int64]int{} // order line id → its line in r.Lines
		for _, rawLine := range lines {
			var l wooRefundLine
			if json.Unmarshal(rawLine, &l) != nil {
				continue
			}
			itemID, ok := refundedItemID(l)
			n := seats(l.Quantity)
			if !ok || n == 0 {
				continue
			}
			if i, seen := index[itemID]; seen {
				r.Lines[i].Quantity = int(min(int64(r.Lines[i].Quantity)+int64(n), math.MaxInt32))
				continue
			}
			index[itemID] = len(r.Lines)
			r.Lines = append(r.Lines, enroll.RefundLine{LineItemID: itemID, Quantity: n})
		}
		refunds = append(refunds, shop.Refund{Refund: r, Body: slices.Clone([]byte(raw))})
	}
	return refunds, len(elems), nil
}

// refundedItemID is the order line a refund line refunds: its
// refunded_item_id field where the API has one, else its _refunded_item_id
// meta, where WooCommerce stores it.
func refundedItemID(l wooRefundLine) (int64, bool) {
	if id, ok := positiveID(l.RefundedItemID); ok {
		return id, true
	}
	metas, _ := elements(l.MetaData)
	for _, raw := range metas {
		var m wooMeta
		if json.Unmarshal(raw, &m) == nil && str(m.Key) == "_refunded_item_id" {
			return positiveID(m.Value)
		}
	}
	return 0, false
}
