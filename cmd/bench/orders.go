package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// itemsPerOrder is how many course line items every order carries, so how
// many enrollments each accepted webhook should produce.
const itemsPerOrder = 2

// The courses the orders buy: one per line item.
const (
	firstCourse  = "course-v1:Bench+C1+2026"
	secondCourse = "course-v1:Bench+C2+2026"
)

// Paths of the order webhooks.
const (
	shopifyPath     = "/webhooks/shopify/order/create"
	woocommercePath = "/webhooks/woocommerce/order/create"
)

// orders makes unique, correctly signed order webhooks, alternating Shopify
// and WooCommerce. It is safe for concurrent use.
type orders struct {
	signing signing
	last    atomic.Int64
}

// idStep leaves room for the two line item ids after each order id.
const idStep = 4

// newOrders starts ids from the current time in milliseconds × 1000: above
// 2^31 like real shop ids, below 2^53 so any JSON reader keeps them exact,
// and unique across runs unless one sends a thousand orders a millisecond.
func newOrders(s signing) *orders {
	o := &orders{signing: s}
	o.last.Store(time.Now().UnixMilli() * 1000)
	return o
}

// request returns the next order as a signed POST to baseURL.
func (o *orders) request(ctx context.Context, baseURL string) (*http.Request, error) {
	req, _, err := o.next(ctx, baseURL)
	return req, err
}

// next returns the next order as a signed POST to baseURL, and its id.
func (o *orders) next(ctx context.Context, baseURL string) (*http.Request, int64, error) {
	id := o.last.Add(idStep)
	if (id/idStep)%2 == 0 {
		req, err := o.shopify(ctx, baseURL, id)
		return req, id, err
	}
	req, err := o.woocommerce(ctx, baseURL, id)
	return req, id, err
}

// learners are the identifiers the order with this id enrolls, one per item.
func learners(id int64) [itemsPerOrder]string {
	return [itemsPerOrder]string{learnerEmail(id), buyerEmail(id)}
}

func (o *orders) shopify(ctx context.Context, baseURL string, id int64) (*http.Request, error) {
	body := fmt.Appendf(nil, shopifyOrder, id, id+1, id+2, buyerEmail(id), learnerEmail(id), firstCourse, secondCourse)
	req, err := newPost(ctx, baseURL+shopifyPath, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Shopify-Topic", "orders/create")
	req.Header.Set("X-Shopify-API-Version", "2026-01")
	req.Header.Set("X-Shopify-Webhook-Id", "bench-"+strconv.FormatInt(id, 10))
	req.Header.Set("X-Shopify-Shop-Domain", o.signing.shopDomain)
	req.Header.Set("X-Shopify-Hmac-Sha256", webhook.Sign([]byte(o.signing.shopifySecret), body))
	return req, nil
}

func (o *orders) woocommerce(ctx context.Context, baseURL string, id int64) (*http.Request, error) {
	body := fmt.Appendf(nil, wooOrder, id, id+1, id+2, buyerEmail(id), learnerEmail(id), firstCourse, secondCourse)
	req, err := newPost(ctx, baseURL+woocommercePath, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-WC-Webhook-Topic", "order.created")
	req.Header.Set("X-WC-Webhook-Resource", "order")
	req.Header.Set("X-WC-Webhook-Event", "created")
	req.Header.Set("X-WC-Webhook-ID", "1")
	req.Header.Set("X-WC-Webhook-Delivery-ID", strconv.FormatInt(id, 16))
	req.Header.Set("X-WC-Webhook-Source", o.signing.wooSource)
	req.Header.Set("X-WC-Webhook-Signature", webhook.Sign([]byte(o.signing.wooSecret), body))
	return req, nil
}

func newPost(ctx context.Context, url string, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// The buyer pays and takes the second course; the learner named in the
// first line item takes the first. Both are unique per order.
func buyerEmail(id int64) string   { return "buyer-" + strconv.FormatInt(id, 10) + "@bench.example" }
func learnerEmail(id int64) string { return "learner-" + strconv.FormatInt(id, 10) + "@bench.example" }

// shopifyOrder is an orders/create payload shaped like the real one
// (internal/webhook/testdata/shopify_order.json). Arguments: order id, two
// line item ids, buyer email, learner email, two course ids.
const shopifyOrder = `{
  "id": %[1]d,
  "admin_graphql_api_id": "gid://shopify/Order/%[1]d",
  "app_id": 580111,
  "browser_ip": "203.0.113.17",
  "buyer_accepts_marketing": false,
  "cancel_reason": null,
  "cancelled_at": null,
  "cart_token": "Z2NwLWV1cm9wZS13ZXN0MTowMUhUMlE5",
  "checkout_id": 36721983701152,
  "confirmed": true,
  "contact_email": "%[4]s",
  "created_at": "2026-03-14T10:21:43+01:00",
  "currency": "EUR",
  "current_total_price": "348.00",
  "current_total_tax": "55.56",
  "email": "%[4]s",
  "financial_status": "paid",
  "fulfillment_status": null,
  "landing_site": "/products/intro-to-python",
  "name": "#%[1]d",
  "note": null,
  "order_number": %[1]d,
  "payment_gateway_names": ["shopify_payments"],
  "presentment_currency": "EUR",
  "processed_at": "2026-03-14T10:21:42+01:00",
  "source_name": "web",
  "subtotal_price": "348.00",
  "taxes_included": true,
  "test": false,
  "token": "4f1c2b9a8e7d6c5b4a3928171605f4e3",
  "total_price": "348.00",
  "total_tax": "55.56",
  "updated_at": "2026-03-14T10:21:44+01:00",
  "billing_address": {"first_name": "Alex", "last_name": "Buyer", "address1": "1 Example Street",
    "city": "Vienna", "zip": "1010", "country": "Austria", "country_code": "AT", "name": "Alex Buyer"},
  "customer": {
    "id": 7012345678901,
    "email": "%[4]s",
    "created_at": "2026-03-14T10:20:11+01:00",
    "first_name": "Alex",
    "last_name": "Buyer",
    "state": "enabled",
    "verified_email": true,
    "currency": "EUR",
    "admin_graphql_api_id": "gid://shopify/Customer/7012345678901"
  },
  "discount_codes": [],
  "line_items": [
    {
      "id": %[2]d,
      "admin_graphql_api_id": "gid://shopify/LineItem/%[2]d",
      "fulfillable_quantity": 1,
      "fulfillment_service": "manual",
      "gift_card": false,
      "name": "Introduction to Python",
      "price": "149.00",
      "product_id": 8123456789012,
      "properties": [
        {"name": "_source", "value": "course-page"},
        {"name": "email", "value": "%[5]s"}
      ],
      "quantity": 1,
      "requires_shipping": false,
      "sku": "%[6]s",
      "taxable": true,
      "title": "Introduction to Python",
      "variant_id": 45123456789012,
      "vendor": "Example Academy",
      "tax_lines": [{"price": "23.79", "rate": 0.2, "title": "AT VAT"}],
      "discount_allocations": []
    },
    {
      "id": %[3]d,
      "admin_graphql_api_id": "gid://shopify/LineItem/%[3]d",
      "fulfillable_quantity": 1,
      "fulfillment_service": "manual",
      "gift_card": false,
      "name": "Data Analysis with Pandas",
      "price": "199.00",
      "product_id": 8123456789013,
      "properties": [],
      "quantity": 1,
      "requires_shipping": false,
      "sku": "%[7]s",
      "taxable": true,
      "title": "Data Analysis with Pandas",
      "variant_id": 45123456789013,
      "vendor": "Example Academy",
      "tax_lines": [{"price": "31.77", "rate": 0.2, "title": "AT VAT"}],
      "discount_allocations": []
    }
  ],
  "shipping_lines": [],
  "refunds": []
}`

// wooOrder is a paid order.created payload shaped like the real one
// (internal/webhook/testdata/woocommerce_order.json), with the learner's
// email in the "Product Input Fields" meta data of the first line item.
// Arguments as for shopifyOrder.
const wooOrder = `{
  "id": %[1]d,
  "parent_id": 0,
  "status": "processing",
  "currency": "EUR",
  "version": "8.6.1",
  "prices_include_tax": true,
  "date_created": "2026-03-14T10:21:43",
  "date_modified": "2026-03-14T10:21:45",
  "discount_total": "0.00",
  "shipping_total": "0.00",
  "cart_tax": "58.00",
  "total": "348.00",
  "total_tax": "58.00",
  "customer_id": 17,
  "order_key": "wc_order_Qm4hX2bT9kLpZ",
  "billing": {"first_name": "Alex", "last_name": "Buyer", "company": "", "address_1": "1 Example Street",
    "address_2": "", "city": "Vienna", "state": "", "postcode": "1010", "country": "AT",
    "email": "%[4]s", "phone": ""},
  "shipping": {"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "",
    "city": "", "state": "", "postcode": "", "country": "", "phone": ""},
  "payment_method": "stripe",
  "payment_method_title": "Credit card",
  "transaction_id": "pi_3OuExampleExample0000",
  "customer_ip_address": "203.0.113.17",
  "created_via": "checkout",
  "customer_note": "",
  "date_completed": null,
  "date_paid": "2026-03-14T10:21:45",
  "number": "%[1]d",
  "meta_data": [
    {"id": 2201, "key": "_stripe_intent_id", "value": "pi_3OuExampleExample0000"},
    {"id": 2202, "key": "is_vat_exempt", "value": "no"}
  ],
  "line_items": [
    {
      "id": %[2]d,
      "name": "Introduction to Python",
      "product_id": 301,
      "variation_id": 0,
      "quantity": 1,
      "subtotal": "124.17",
      "subtotal_tax": "24.83",
      "total": "124.17",
      "total_tax": "24.83",
      "taxes": [{"id": 1, "total": "24.833333", "subtotal": "24.833333"}],
      "meta_data": [
        {"id": 3101, "key": "_reduced_stock", "value": "1"},
        {"id": 3104, "key": "_alg_wc_pif_global", "value": [
          {"title": "Email", "type": "email", "_field_nr": 1, "_value": "%[5]s", "required": "yes"}
        ], "display_key": "", "display_value": ""}
      ],
      "sku": "%[6]s",
      "price": 124.166667
    },
    {
      "id": %[3]d,
      "name": "Data Analysis with Pandas",
      "product_id": 302,
      "variation_id": 0,
      "quantity": 1,
      "subtotal": "165.83",
      "subtotal_tax": "33.17",
      "total": "165.83",
      "total_tax": "33.17",
      "taxes": [{"id": 1, "total": "33.166667", "subtotal": "33.166667"}],
      "meta_data": [{"id": 3105, "key": "_reduced_stock", "value": "1"}],
      "sku": "%[7]s",
      "price": 165.833333
    }
  ],
  "tax_lines": [{"id": 3106, "rate_code": "AT-VAT-1", "rate_id": 1, "label": "VAT", "compound": false,
    "tax_total": "58.00", "shipping_tax_total": "0.00", "rate_percent": 20, "meta_data": []}],
  "shipping_lines": [],
  "fee_lines": [],
  "coupon_lines": [],
  "refunds": [],
  "is_editable": false,
  "needs_payment": false,
  "needs_processing": true,
  "date_created_gmt": "2026-03-14T09:21:43",
  "date_modified_gmt": "2026-03-14T09:21:45",
  "date_completed_gmt": null,
  "date_paid_gmt": "2026-03-14T09:21:45",
  "_links": {"self": [{"href": "https://shop.bench.example/wp-json/wc/v3/orders/%[1]d"}]}
}`
