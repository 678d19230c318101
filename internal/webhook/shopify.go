package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Fields whose type varies between shops, app versions or bugs stay raw and
// are read one by one, so an odd field costs one value, not the whole order.
type shopifyOrder struct {
	ID              json.RawMessage `json:"id"`
	Email           json.RawMessage `json:"email"`
	Customer        json.RawMessage `json:"customer"`
	LineItems       json.RawMessage `json:"line_items"`
	UpdatedAt       json.RawMessage `json:"updated_at"`
	FinancialStatus json.RawMessage `json:"financial_status"`
	CancelledAt     json.RawMessage `json:"cancelled_at"`
}

type shopifyItem struct {
	ID         json.RawMessage `json:"id"`
	SKU        json.RawMessage `json:"sku"`
	Quantity   json.RawMessage `json:"quantity"`
	Properties json.RawMessage `json:"properties"`
}

// shopifyProperty is a line item property a buyer fills in on the product
// page; properties named "email" name the learners when they are not the buyer.
type shopifyProperty struct {
	Name  json.RawMessage `json:"name"`
	Value json.RawMessage `json:"value"`
}

// shopifyTyped is an order of the usual shape, decoded in one pass. An
// element that is null, or any container of another type, sends the body
// to the field-by-field reading, which decides what it means.
type shopifyTyped struct {
	ID       json.RawMessage `json:"id"`
	Email    json.RawMessage `json:"email"`
	Customer *struct {
		Email json.RawMessage `json:"email"`
	} `json:"customer"`
	LineItems []*struct {
		ID         json.RawMessage    `json:"id"`
		SKU        json.RawMessage    `json:"sku"`
		Quantity   json.RawMessage    `json:"quantity"`
		Properties []*shopifyProperty `json:"properties"`
	} `json:"line_items"`
	UpdatedAt       json.RawMessage `json:"updated_at"`
	FinancialStatus json.RawMessage `json:"financial_status"`
	CancelledAt     json.RawMessage `json:"cancelled_at"`
}

// ParseShopifyOrder reads the body of a Shopify order webhook (orders/create,
// orders/paid, orders/cancelled, orders/updated). Source is left for the
// caller, who has it from a header. Shopify orders are always Paid (see
// enroll.Order): whether payment is required and captured is decided from
// ShopStatus.
func ParseShopifyOrder(body []byte) (enroll.Order, error) {
	if order, ok := parseShopifyTyped(body); ok {
		return order, nil
	}
	return parseShopifyFields(body)
}

// parseShopifyTyped reads an order of the usual shape in one pass over the
// body; ok is false for any other shape. It returns what parseShopifyFields
// returns for the same body.
func parseShopifyTyped(body []byte) (enroll.Order, bool) {
	var in shopifyTyped
	if json.Unmarshal(body, &in) != nil {
		return enroll.Order{}, false
	}
	id, err := orderID(in.ID)
	if err != nil {
		return enroll.Order{}, false
	}
	order := enroll.Order{Platform: enroll.Shopify, ID: id, Email: str(in.Email), Paid: true,
		Snapshot: shopifySnapshot(in.UpdatedAt, in.FinancialStatus, in.CancelledAt)}
	if in.Customer != nil {
		order.Email = firstNonEmpty(str(in.Customer.Email), order.Email)
	}
	for _, li := range in.LineItems {
		if li == nil {
			return enroll.Order{}, false
		}
		itemID, err := parseID(li.ID)
		if err != nil {
			return enroll.Order{}, false
		}
		var l learners
		for _, p := range li.Properties {
			if p != nil {
				addShopifyLearners(&l, p)
			}
		}
		order.Items = appendLine(order.Items, itemID, str(li.SKU), quantity(li.Quantity), &l, order.Email)
	}
	return order, true
}

// parseShopifyFields reads an order field by field, so that a field of an
// odd shape costs that field only.
func parseShopifyFields(body []byte) (enroll.Order, error) {
	var in shopifyOrder
	if err := decodeObject(body, &in, ErrNotOrder); err != nil {
		return enroll.Order{}, err
	}
	id, err := orderID(in.ID)
	if err != nil {
		return enroll.Order{}, err
	}
	var customer struct {
		Email json.RawMessage `json:"email"`
	}
	_ = json.Unmarshal(in.Customer, &customer) // a null or odd customer just has no email
	order := enroll.Order{
		Platform: enroll.Shopify,
		ID:       id,
		Email:    firstNonEmpty(str(customer.Email), str(in.Email)),
		Paid:     true,
		Snapshot: shopifySnapshot(in.UpdatedAt, in.FinancialStatus, in.CancelledAt),
	}
	elems, err := lineItems(in.LineItems)
	if err != nil {
		return enroll.Order{}, err
	}
	for i, elem := range elems {
		var li shopifyItem
		if err := json.Unmarshal(elem, &li); err != nil {
			return enroll.Order{}, fmt.Errorf("line item %d: %w", i, ErrNotOrder)
		}
		itemID, err := parseID(li.ID)
		if err != nil {
			return enroll.Order{}, fmt.Errorf("line item %d: %w", i, err)
		}
		var l learners
		for _, raw := range elements(li.Properties) {
			var p shopifyProperty
			if json.Unmarshal(raw, &p) == nil {
				addShopifyLearners(&l, &p)
			}
		}
		order.Items = appendLine(order.Items, itemID, str(li.SKU), quantity(li.Quantity), &l, order.Email)
	}
	return order, nil
}

// shopifySnapshot reads the order's state: updated_at dates it,
// financial_status is its payment, a cancelled_at of any time cancels it.
func shopifySnapshot(updatedAt, financialStatus, cancelledAt json.RawMessage) enroll.Snapshot {
	return enroll.Snapshot{
		At:         timestamp(updatedAt, time.RFC3339),
		ShopStatus: str(financialStatus),
		Cancelled:  str(cancelledAt) != "",
	}
}

// addShopifyLearners adds the addresses of a property named "email", in
// any case; a value that is not a string names no one.
func addShopifyLearners(l *learners, p *shopifyProperty) {
	if strings.EqualFold(str(p.Name), "email") {
		l.add(str(p.Value))
	}
}
