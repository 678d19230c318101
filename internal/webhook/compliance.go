package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Shopify's mandatory compliance topics: customers/redact, shop/redact and
// customers/data_request. Their bodies name a shop, a customer and orders
// by id; ids may be numbers above 2^53 or strings, as in orders.

// ErrNotCompliance is returned for a body that is not a compliance request
// of the topic: no shop, or no customer where one is needed.
var ErrNotCompliance = errors.New("body is not a privacy request")

// shopifyCompliance is the union of the three topics' bodies.
type shopifyCompliance struct {
	ShopID          json.RawMessage `json:"shop_id"`
	ShopDomain      json.RawMessage `json:"shop_domain"`
	Customer        json.RawMessage `json:"customer"`
	OrdersToRedact  json.RawMessage `json:"orders_to_redact"`
	OrdersRequested json.RawMessage `json:"orders_requested"`
	DataRequest     json.RawMessage `json:"data_request"`
}

type shopifyCustomer struct {
	ID    json.RawMessage `json:"id"`
	Email json.RawMessage `json:"email"`
}

// ParseShopifyCustomerRedact reads the body of a customers/redact webhook:
// the customer's email and id, and the orders to redact. A customer needs
// an email or orders: without either there is nothing to find.
func ParseShopifyCustomerRedact(body []byte) (enroll.Redaction, error) {
	in, err := decodeCompliance(body)
	if err != nil {
		return enroll.Redaction{}, err
	}
	email, customerID, err := complianceCustomer(in.Customer)
	if err != nil {
		return enroll.Redaction{}, err
	}
	orders, err := complianceOrders("orders_to_redact", in.OrdersToRedact)
	if err != nil {
		return enroll.Redaction{}, err
	}
	if email == "" && len(orders) == 0 {
		return enroll.Redaction{}, fmt.Errorf("no customer email and no orders_to_redact: %w", ErrNotCompliance)
	}
	return enroll.Redaction{Email: email, CustomerID: customerID, OrderIDs: orders}, nil
}

// ParseShopifyShopRedact reads the body of a shop/redact webhook, sent 48
// hours after the shop uninstalled the app: every order of the shop.
func ParseShopifyShopRedact(body []byte) (enroll.Redaction, error) {
	if _, err := decodeCompliance(body); err != nil {
		return enroll.Redaction{}, err
	}
	return enroll.Redaction{WholeShop: true}, nil
}

// ParseShopifyDataRequest reads the body of a customers/data_request
// webhook: whose data the shop asks for, and its request id. The customer's
// email is required: it is what the stored data is found by.
func ParseShopifyDataRequest(body []byte) (enroll.DataRequest, error) {
	in, err := decodeCompliance(body)
	if err != nil {
		return enroll.DataRequest{}, err
	}
	email, customerID, err := complianceCustomer(in.Customer)
	if err != nil {
		return enroll.DataRequest{}, err
	}
	if email == "" {
		return enroll.DataRequest{}, fmt.Errorf("no customer email: %w", ErrNotCompliance)
	}
	orders, err := complianceOrders("orders_requested", in.OrdersRequested)
	if err != nil {
		return enroll.DataRequest{}, err
	}
	var request struct {
		ID json.RawMessage `json:"id"`
	}
	_ = json.Unmarshal(in.DataRequest, &request) // a null or odd data_request has no id
	requestID, err := complianceID("data_request.id", request.ID)
	if err != nil {
		return enroll.DataRequest{}, err
	}
	return enroll.DataRequest{Email: email, CustomerID: customerID, OrderIDs: orders, RequestID: requestID}, nil
}

// decodeCompliance decodes a compliance body; it must name its shop, by id
// or domain (the shop itself is known from the signed headers).
func decodeCompliance(body []byte) (shopifyCompliance, error) {
	var in shopifyCompliance
	if err := json.Unmarshal(body, &in); err != nil {
		if !json.Valid(body) {
			return in, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
		return in, fmt.Errorf("body is %s: %w", kind(bytes.TrimSpace(body)), ErrNotCompliance)
	}
	if _, err := complianceID("shop_id", in.ShopID); err != nil {
		return in, err
	}
	if isNull(in.ShopID) && str(in.ShopDomain) == "" {
		return in, fmt.Errorf("no shop_id or shop_domain: %w", ErrNotCompliance)
	}
	return in, nil
}

// complianceID reads an id as parseID does, 0 when null or missing.
func complianceID(field string, raw json.RawMessage) (int64, error) {
	id, err := parseID(raw)
	if err != nil {
		return 0, fmt.Errorf("%s is not a positive integer: %w", field, ErrNotCompliance)
	}
	return id, nil
}

// complianceCustomer reads the customer object: its email (trimmed) and id.
// A customer of another shape than an object is absent.
func complianceCustomer(raw json.RawMessage) (email string, id int64, err error) {
	var c shopifyCustomer
	if json.Unmarshal(raw, &c) != nil {
		return "", 0, nil
	}
	if id, err = complianceID("customer.id", c.ID); err != nil {
		return "", 0, err
	}
	return str(c.Email), id, nil
}

// complianceOrders reads a list of order ids; null or missing is none.
func complianceOrders(field string, raw json.RawMessage) ([]int64, error) {
	if isNull(raw) {
		return nil, nil
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, fmt.Errorf("%s is %s: %w", field, kind(raw), ErrNotCompliance)
	}
	var ids []int64
	for i, elem := range elems {
		id, err := complianceID(fmt.Sprintf("%s[%d]", field, i), elem)
		if err != nil {
			return nil, err
		}
		if id == 0 {
			return nil, fmt.Errorf("%s[%d] is null: %w", field, i, ErrNotCompliance)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
