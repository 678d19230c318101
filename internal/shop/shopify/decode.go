package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// The GraphQL order reads as the webhook's order does because it is read by
// the webhook's parser: ParseOrder rewrites a node of the orders connection
// into the body of an orders/* webhook (legacyResourceId → id, the GID's
// numeric tail → a line item id, displayFinancialStatus lower-cased →
// financial_status, customAttributes → properties) and its refunds into
// refunds/create bodies, leaving every value in its raw JSON, so an odd
// value costs what it costs in a webhook and no rule exists twice.

type gqlOrder struct {
	LegacyResourceID json.RawMessage `json:"legacyResourceId"`
	UpdatedAt        json.RawMessage `json:"updatedAt"`
	FinancialStatus  json.RawMessage `json:"displayFinancialStatus"`
	CancelledAt      json.RawMessage `json:"cancelledAt"`
	Email            json.RawMessage `json:"email"`
	Customer         json.RawMessage `json:"customer"`
	LineItems        json.RawMessage `json:"lineItems"`
	Refunds          json.RawMessage `json:"refunds"`
}

type gqlLineItem struct {
	ID               json.RawMessage `json:"id"`
	SKU              json.RawMessage `json:"sku"`
	Quantity         json.RawMessage `json:"quantity"`
	CustomAttributes json.RawMessage `json:"customAttributes"`
}

type gqlAttribute struct {
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

type gqlRefund struct {
	ID              json.RawMessage `json:"id"`
	CreatedAt       json.RawMessage `json:"createdAt"`
	RefundLineItems json.RawMessage `json:"refundLineItems"`
}

type gqlRefundLine struct {
	LineItem struct {
		ID json.RawMessage `json:"id"`
	} `json:"lineItem"`
	Quantity json.RawMessage `json:"quantity"`
}

// The webhook bodies. A nil json.RawMessage is left out (omitempty) or
// written as null, which the webhook parser reads as missing either way.
type restOrder struct {
	ID              json.RawMessage `json:"id"`
	Email           json.RawMessage `json:"email,omitempty"`
	Customer        json.RawMessage `json:"customer,omitempty"`
	UpdatedAt       json.RawMessage `json:"updated_at,omitempty"`
	FinancialStatus json.RawMessage `json:"financial_status,omitempty"`
	CancelledAt     json.RawMessage `json:"cancelled_at,omitempty"`
	LineItems       json.RawMessage `json:"line_items,omitempty"`
}

type restItem struct {
	ID         json.RawMessage `json:"id,omitempty"`
	SKU        json.RawMessage `json:"sku,omitempty"`
	Quantity   json.RawMessage `json:"quantity,omitempty"`
	Properties []restProperty  `json:"properties"`
}

type restProperty struct {
	Name  json.RawMessage `json:"name"`
	Value json.RawMessage `json:"value"`
}

type restRefund struct {
	ID              json.RawMessage  `json:"id,omitempty"`
	OrderID         int64            `json:"order_id"`
	CreatedAt       json.RawMessage  `json:"created_at,omitempty"`
	RefundLineItems []restRefundLine `json:"refund_line_items"`
}

type restRefundLine struct {
	LineItemID json.RawMessage `json:"line_item_id,omitempty"`
	Quantity   json.RawMessage `json:"quantity,omitempty"`
}

// ParseOrder reads one node of the orders connection into the order the
// webhook parser gives for the same order, with the orders/* webhook body
// it reads as, and its refunds with their refunds/create bodies. Errors are
// those of webhook.ParseShopifyOrder (webhook.ErrInvalidJSON,
// webhook.ErrNotOrder); a refund that cannot be read is left out, as it
// names no seat. Source is left for the caller.
func ParseOrder(node []byte) (shop.Found, error) {
	var in gqlOrder
	if err := json.Unmarshal(node, &in); err != nil {
		if !json.Valid(node) {
			return shop.Found{}, fmt.Errorf("%w: %v", webhook.ErrInvalidJSON, err)
		}
		return shop.Found{}, fmt.Errorf("order node is not an object: %w", webhook.ErrNotOrder)
	}
	if b := bytes.TrimSpace(node); len(b) == 0 || b[0] != '{' {
		return shop.Found{}, fmt.Errorf("order node is not an object: %w", webhook.ErrNotOrder)
	}
	out := restOrder{
		ID:              in.LegacyResourceID,
		Email:           in.Email,
		Customer:        in.Customer,
		UpdatedAt:       in.UpdatedAt,
		FinancialStatus: lower(in.FinancialStatus),
		CancelledAt:     in.CancelledAt,
		LineItems:       lineItems(in.LineItems),
	}
	body, err := json.Marshal(out)
	if err != nil {
		return shop.Found{}, fmt.Errorf("rewrite order node: %w", webhook.ErrNotOrder)
	}
	order, err := webhook.ParseShopifyOrder(body)
	if err != nil {
		return shop.Found{}, err
	}
	return shop.Found{Order: order, Body: body, Refunds: refunds(order.ID, in.Refunds)}, nil
}

// lineItems rewrites a connection's nodes into line_items. A node that is
// not an object stays as it is, and anything but a connection is passed on
// whole, for the webhook parser to judge as it would judge line_items.
func lineItems(raw json.RawMessage) json.RawMessage {
	var conn struct {
		Nodes json.RawMessage `json:"nodes"`
	}
	if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &conn) != nil {
		return raw
	}
	var nodes []json.RawMessage
	if json.Unmarshal(conn.Nodes, &nodes) != nil {
		return conn.Nodes
	}
	items := make([]json.RawMessage, len(nodes))
	for i, node := range nodes {
		var li gqlLineItem
		if len(node) == 0 || node[0] != '{' || json.Unmarshal(node, &li) != nil {
			items[i] = node
			continue
		}
		item := restItem{ID: numericTail(li.ID), SKU: li.SKU, Quantity: li.Quantity, Properties: []restProperty{}}
		for _, a := range elements(li.CustomAttributes) {
			var attr gqlAttribute
			if len(a) > 0 && a[0] == '{' && json.Unmarshal(a, &attr) == nil {
				item.Properties = append(item.Properties, restProperty{Name: orNull(attr.Key), Value: orNull(attr.Value)})
			}
		}
		b, err := json.Marshal(item)
		if err != nil {
			b = []byte("null")
		}
		items[i] = b
	}
	b, err := json.Marshal(items)
	if err != nil {
		return nil
	}
	return b
}

// refunds reads an order's refunds with the refunds/create parser.
func refunds(orderID int64, raw json.RawMessage) []shop.Refund {
	var out []shop.Refund
	for _, elem := range elements(raw) {
		var r gqlRefund
		if len(elem) == 0 || elem[0] != '{' || json.Unmarshal(elem, &r) != nil {
			continue
		}
		rest := restRefund{ID: numericTail(r.ID), OrderID: orderID, CreatedAt: r.CreatedAt, RefundLineItems: []restRefundLine{}}
		var conn struct {
			Nodes json.RawMessage `json:"nodes"`
		}
		if len(r.RefundLineItems) > 0 && r.RefundLineItems[0] == '{' && json.Unmarshal(r.RefundLineItems, &conn) == nil {
			for _, n := range elements(conn.Nodes) {
				var line gqlRefundLine
				if len(n) == 0 || n[0] != '{' || json.Unmarshal(n, &line) != nil {
					continue
				}
				rest.RefundLineItems = append(rest.RefundLineItems,
					restRefundLine{LineItemID: numericTail(line.LineItem.ID), Quantity: line.Quantity})
			}
		}
		body, err := json.Marshal(rest)
		if err != nil {
			continue
		}
		refund, err := webhook.ParseShopifyRefund(body)
		if err != nil {
			continue
		}
		out = append(out, shop.Refund{Refund: refund, Body: body})
	}
	return out
}

// numericTail turns a GID ("gid://shopify/LineItem/123") into the string
// of its last segment ("123"), which the webhook parser reads as the
// numeric id; any other value is passed on as it is.
func numericTail(raw json.RawMessage) json.RawMessage {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return raw
	}
	b, err := json.Marshal(s[strings.LastIndexByte(s, '/')+1:])
	if err != nil {
		return raw
	}
	return b
}

// lower lower-cases a JSON string (PAID → paid, as webhooks spell it); any
// other value is passed on as it is.
func lower(raw json.RawMessage) json.RawMessage {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return raw
	}
	b, err := json.Marshal(strings.ToLower(s))
	if err != nil {
		return raw
	}
	return b
}

// elements returns the elements of a JSON array, and nil for any other shape.
func elements(raw json.RawMessage) []json.RawMessage {
	var elems []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil
	}
	return elems
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}
