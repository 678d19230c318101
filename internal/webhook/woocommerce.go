package webhook

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

type wooOrder struct {
	ID              json.RawMessage `json:"id"`
	Status          json.RawMessage `json:"status"`
	DatePaidGMT     json.RawMessage `json:"date_paid_gmt"`
	DateModifiedGMT json.RawMessage `json:"date_modified_gmt"`
	Billing         json.RawMessage `json:"billing"`
	LineItems       json.RawMessage `json:"line_items"`
	Refunds         json.RawMessage `json:"refunds"`
}

type wooItem struct {
	ID       json.RawMessage `json:"id"`
	SKU      json.RawMessage `json:"sku"`
	Quantity json.RawMessage `json:"quantity"`
	MetaData json.RawMessage `json:"meta_data"`
}

// wooMeta is one meta_data entry; plugins store anything in value.
type wooMeta struct {
	Key   emailKey        `json:"key"`
	Value json.RawMessage `json:"value"`
}

// emailKey tells whether a meta key is "email", in any case. Reading it
// never fails, so a key of any shape costs only itself.
type emailKey bool

func (k *emailKey) UnmarshalJSON(raw []byte) error {
	*k = emailKey(strings.EqualFold(str(raw), "email"))
	return nil
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
	ID              json.RawMessage `json:"id"`
	Status          json.RawMessage `json:"status"`
	DatePaidGMT     json.RawMessage `json:"date_paid_gmt"`
	DateModifiedGMT json.RawMessage `json:"date_modified_gmt"`
	Billing         *struct {
		Email json.RawMessage `json:"email"`
	} `json:"billing"`
	LineItems []*struct {
		ID       json.RawMessage `json:"id"`
		SKU      json.RawMessage `json:"sku"`
		Quantity json.RawMessage `json:"quantity"`
		MetaData []*wooMeta      `json:"meta_data"`
	} `json:"line_items"`
	Refunds json.RawMessage `json:"refunds"`
}

// ParseWooCommerceOrder reads the body of a WooCommerce order webhook
// (order.created, order.updated). Source is left for the caller, who has it
// from a header.
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
	order := enroll.Order{Platform: enroll.WooCommerce, ID: id, Paid: str(in.DatePaidGMT) != "",
		Snapshot: wooSnapshot(in.DateModifiedGMT, in.Status, in.Refunds)}
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
		var l learners
		for _, m := range li.MetaData {
			if m != nil {
				addWooLearners(&l, m)
			}
		}
		order.Items = appendLine(order.Items, itemID, str(li.SKU), quantity(li.Quantity), &l, order.Email)
	}
	return order, true
}

// parseWooFields reads an order field by field, so that a field of an odd
// shape costs that field only.
func parseWooFields(body []byte) (enroll.Order, error) {
	var in wooOrder
	if err := decodeObject(body, &in, ErrNotOrder); err != nil {
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
		Paid:     str(in.DatePaidGMT) != "",
		Snapshot: wooSnapshot(in.DateModifiedGMT, in.Status, in.Refunds),
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
		// Other plugins' entries come in every shape and are skipped.
		var l learners
		for _, raw := range elements(li.MetaData) {
			var m wooMeta
			if json.Unmarshal(raw, &m) == nil {
				addWooLearners(&l, &m)
			}
		}
		order.Items = appendLine(order.Items, itemID, str(li.SKU), quantity(li.Quantity), &l, order.Email)
	}
	return order, nil
}

// wooDateGMT is the layout of WooCommerce's *_gmt dates: UTC without a zone.
const wooDateGMT = "2006-01-02T15:04:05"

// wooSnapshot reads the order's state. A refund of the whole order makes it
// refunded; a refund of less only adds to its refunds list, which holds
// totals, not the refunded lines.
func wooSnapshot(dateModifiedGMT, status, refunds json.RawMessage) enroll.Snapshot {
	s := enroll.Snapshot{
		At:         timestamp(dateModifiedGMT, wooDateGMT, time.RFC3339),
		ShopStatus: str(status),
	}
	s.Cancelled = wooStatusIs(s.ShopStatus, "cancelled")
	s.Refunded = wooStatusIs(s.ShopStatus, "refunded")
	s.PartialRefund = nonEmptyArray(refunds) && !s.Refunded
	return s
}

// wooStatusIs compares an order status in any case, with or without the
// "wc-" prefix WordPress stores it with.
func wooStatusIs(status, want string) bool {
	return strings.TrimPrefix(strings.ToLower(status), "wc-") == want
}

// addWooLearners adds the learners a meta_data entry names: the email
// fields of a list of input fields, or the string value of an entry whose
// key is "email", in any case, as some plugins store it.
func addWooLearners(l *learners, m *wooMeta) {
	if len(m.Value) > 0 && m.Value[0] == '"' {
		if m.Key {
			l.add(str(m.Value))
		}
		return
	}
	addWooInput(l, m.Value)
}

// addWooInput reads a meta value that is a list of input fields starting
// with an email field, and adds the values of its email fields (those that
// are strings). Any other value adds none.
func addWooInput(l *learners, value json.RawMessage) {
	if len(value) == 0 || value[0] != '[' {
		return // most values are strings: no need to decode them
	}
	fields := elements(value)
	if len(fields) == 0 || fields[0][0] != '{' {
		return
	}
	for i, raw := range fields {
		var f wooInputField
		if raw[0] != '{' || json.Unmarshal(raw, &f) != nil || str(f.Type) != "email" {
			if i == 0 {
				return
			}
			continue
		}
		l.add(str(f.Value))
	}
}
