package webhook

import (
	"encoding/json"
	"fmt"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

type wooOrder struct {
	ID          json.RawMessage `json:"id"`
	DatePaidGMT json.RawMessage `json:"date_paid_gmt"`
	Billing     json.RawMessage `json:"billing"`
	LineItems   json.RawMessage `json:"line_items"`
}

type wooItem struct {
	ID       json.RawMessage `json:"id"`
	SKU      json.RawMessage `json:"sku"`
	MetaData json.RawMessage `json:"meta_data"`
}

// wooMeta is one meta_data entry; plugins store anything in value.
type wooMeta struct {
	Value json.RawMessage `json:"value"`
}

// wooInputField is one field of the "Product Input Fields for WooCommerce"
// plugin, which sends a buyer's inputs as a list of these in a meta value.
type wooInputField struct {
	Type  json.RawMessage `json:"type"`
	Value json.RawMessage `json:"_value"`
}

// wooTyped is an order of the usual shape, decoded in one pass (see
// shopifyTyped).
type wooTyped struct {
	ID          json.RawMessage `json:"id"`
	DatePaidGMT json.RawMessage `json:"date_paid_gmt"`
	Billing     *struct {
		Email json.RawMessage `json:"email"`
	} `json:"billing"`
	LineItems []*struct {
		ID       json.RawMessage `json:"id"`
		SKU      json.RawMessage `json:"sku"`
		MetaData []*wooMeta      `json:"meta_data"`
	} `json:"line_items"`
}

// ParseWooCommerceOrder reads the body of a WooCommerce order.created
// webhook. Source is left for the caller, who has it from a header.
func ParseWooCommerceOrder(body []byte) (enroll.Order, error) {
	if order, ok := parseWooTyped(body); ok {
		return order, nil
	}
	return parseWooFields(body)
}

// parseWooTyped reads an order of the usual shape in one pass over the
// body; ok is false for any other shape. It returns what parseWooFields
// returns for the same body.
func parseWooTyped(body []byte) (enroll.Order, bool) {
	var in wooTyped
	if json.Unmarshal(body, &in) != nil {
		return enroll.Order{}, false
	}
	id, err := orderID(in.ID)
	if err != nil {
		return enroll.Order{}, false
	}
	order := enroll.Order{Platform: enroll.WooCommerce, ID: id, Paid: str(in.DatePaidGMT) != ""}
	if in.Billing != nil {
		order.Email = str(in.Billing.Email)
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
		for _, m := range li.MetaData {
			if m == nil {
				continue
			}
			var found bool
			if learner, found = wooInput(m.Value); found {
				break
			}
		}
		order.Items = append(order.Items, enroll.Item{LineItemID: itemID, SKU: str(li.SKU),
			Email: firstNonEmpty(learner, order.Email)})
	}
	return order, true
}

// parseWooFields reads an order field by field, so that a field of an odd
// shape costs that field only.
func parseWooFields(body []byte) (enroll.Order, error) {
	var in wooOrder
	if err := decodeOrder(body, &in); err != nil {
		return enroll.Order{}, err
	}
	id, err := orderID(in.ID)
	if err != nil {
		return enroll.Order{}, err
	}
	var billing struct {
		Email json.RawMessage `json:"email"`
	}
	_ = json.Unmarshal(in.Billing, &billing) // a null or odd billing just has no email
	order := enroll.Order{
		Platform: enroll.WooCommerce,
		ID:       id,
		Email:    str(billing.Email),
		// WooCommerce creates orders before payment (bank transfer, cheque)
		// and sets date_paid_gmt once the money is in.
		Paid: str(in.DatePaidGMT) != "",
	}
	elems, err := lineItems(in.LineItems)
	if err != nil {
		return enroll.Order{}, err
	}
	for i, elem := range elems {
		var li wooItem
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
			Email:      firstNonEmpty(wooLearner(li.MetaData), order.Email),
		})
	}
	return order, nil
}

// wooLearner returns the email input field from the first meta_data entry
// whose value is a list of input fields starting with an email field. Other
// plugins' entries come in every shape and are skipped.
func wooLearner(metaData json.RawMessage) string {
	for _, raw := range elements(metaData) {
		var m wooMeta
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		if email, found := wooInput(m.Value); found {
			return email
		}
	}
	return ""
}

// wooInput reads a meta value that is a list of input fields starting with
// an email field: found tells it is one, email is its value ("" when that
// is not a string).
func wooInput(value json.RawMessage) (email string, found bool) {
	if len(value) == 0 || value[0] != '[' {
		return "", false // most values are strings: no need to decode them
	}
	fields := elements(value)
	if len(fields) == 0 || fields[0][0] != '{' {
		return "", false
	}
	var f wooInputField
	if json.Unmarshal(fields[0], &f) == nil && str(f.Type) == "email" {
		return str(f.Value), true
	}
	return "", false
}
