package webhook

import (
	"encoding/json"
	"fmt"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Fields whose type varies between shops, app versions or bugs stay raw and
// are read one by one, so an odd field costs one value, not the whole order.
type shopifyOrder struct {
	ID        json.RawMessage `json:"id"`
	Email     json.RawMessage `json:"email"`
	Customer  json.RawMessage `json:"customer"`
	LineItems json.RawMessage `json:"line_items"`
}

type shopifyItem struct {
	ID         json.RawMessage `json:"id"`
	SKU        json.RawMessage `json:"sku"`
	Properties json.RawMessage `json:"properties"`
}

// shopifyProperty is a line item property a buyer fills in on the product
// page; a property named "email" names the learner when it is not the buyer.
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
		Properties []*shopifyProperty `json:"properties"`
	} `json:"line_items"`
}

// ParseShopifyOrder reads the body of a Shopify orders/create webhook.
// Source is left for the caller, who has it from a header. Shopify orders
// are always Paid (see enroll.Order).
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
	order := enroll.Order{Platform: enroll.Shopify, ID: id, Email: str(in.Email), Paid: true}
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
		learner := ""
		for _, p := range li.Properties {
			if p != nil && str(p.Name) == "email" {
				learner = str(p.Value)
				break
			}
		}
		order.Items = append(order.Items, enroll.Item{LineItemID: itemID, SKU: str(li.SKU),
			Email: firstNonEmpty(learner, order.Email)})
	}
	return order, true
}

// parseShopifyFields reads an order field by field, so that a field of an
// odd shape costs that field only.
func parseShopifyFields(body []byte) (enroll.Order, error) {
	var in shopifyOrder
	if err := decodeOrder(body, &in); err != nil {
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
		// Items without a SKU or an email stay in, so the job can report
		// why they were not enrolled instead of the order losing them.
		order.Items = append(order.Items, enroll.Item{
			LineItemID: itemID,
			SKU:        str(li.SKU),
			Email:      firstNonEmpty(shopifyLearner(li.Properties), order.Email),
		})
	}
	return order, nil
}

// shopifyLearner returns the value of the first property named "email".
func shopifyLearner(properties json.RawMessage) string {
	for _, raw := range elements(properties) {
		var p shopifyProperty
		if json.Unmarshal(raw, &p) == nil && str(p.Name) == "email" {
			return str(p.Value)
		}
	}
	return ""
}
