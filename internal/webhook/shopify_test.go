package webhook

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

func TestParseShopifyOrderGolden(t *testing.T) {
	tests := []struct {
		file string
		want enroll.Order
	}{
		{"shopify_order.json", enroll.Order{
			Platform: enroll.Shopify,
			ID:       5834765623456,
			Email:    "buyer@example.com",
			Paid:     true,
			Items: []enroll.Item{
				{LineItemID: 14891234567890, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "learner@example.com"},
				{LineItemID: 14891234567891, SKU: "course-v1:ExampleX+DA201+2024_T1", Email: "buyer@example.com"},
			},
		}},
		{"shopify_order_no_customer.json", enroll.Order{
			Platform: enroll.Shopify,
			ID:       9223372036854775807,
			Email:    "guest@example.com",
			Paid:     true,
			Items: []enroll.Item{
				{LineItemID: 14891234567999, SKU: "course-v1:ExampleX+AUTH101+2024_T2", Email: "guest@example.com"},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseShopifyOrder(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseShopifyOrder() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseShopifyOrder(t *testing.T) {
	order := func(email string, items ...enroll.Item) enroll.Order {
		return enroll.Order{Platform: enroll.Shopify, ID: 1001, Email: email, Paid: true, Items: items}
	}
	tests := []struct {
		name string
		body string
		want enroll.Order
	}{
		{
			"customer email wins over order email",
			`{"id": 1001, "email": "order@example.com", "customer": {"email": "customer@example.com"},
			  "line_items": [{"id": 1, "sku": "A"}]}`,
			order("customer@example.com", enroll.Item{LineItemID: 1, SKU: "A", Email: "customer@example.com"}),
		},
		{
			"empty customer email falls back to order email",
			`{"id": 1001, "email": "order@example.com", "customer": {"email": " "},
			  "line_items": [{"id": 1, "sku": "A"}]}`,
			order("order@example.com", enroll.Item{LineItemID: 1, SKU: "A", Email: "order@example.com"}),
		},
		{
			"customer of another type is ignored",
			`{"id": 1001, "email": "order@example.com", "customer": "customer@example.com",
			  "line_items": [{"id": 1, "sku": "A"}]}`,
			order("order@example.com", enroll.Item{LineItemID: 1, SKU: "A", Email: "order@example.com"}),
		},
		{
			"first email property wins",
			`{"id": 1001, "email": "order@example.com", "line_items": [{"id": 1, "sku": "A", "properties": [
			  {"name": "Email", "value": "capital@example.com"},
			  {"name": "email", "value": "first@example.com"},
			  {"name": "email", "value": "second@example.com"}]}]}`,
			order("order@example.com", enroll.Item{LineItemID: 1, SKU: "A", Email: "first@example.com"}),
		},
		{
			"email property that is not a string falls back",
			`{"id": 1001, "email": "order@example.com", "line_items": [{"id": 1, "sku": "A", "properties": [
			  {"name": "email", "value": 42},
			  {"name": "email", "value": "second@example.com"}]}]}`,
			order("order@example.com", enroll.Item{LineItemID: 1, SKU: "A", Email: "order@example.com"}),
		},
		{
			"odd properties are skipped",
			`{"id": 1001, "email": "order@example.com", "line_items": [{"id": 1, "sku": "A", "properties": [
			  "email", null, 7, {"name": null}, {"name": ["email"], "value": "x@example.com"}, {"value": "y@example.com"},
			  {"name": "email", "value": "learner@example.com"}]}]}`,
			order("order@example.com", enroll.Item{LineItemID: 1, SKU: "A", Email: "learner@example.com"}),
		},
		{
			"properties of another type fall back",
			`{"id": 1001, "email": "order@example.com", "line_items": [
			  {"id": 1, "sku": "A", "properties": null},
			  {"id": 2, "sku": "B", "properties": {"email": "learner@example.com"}},
			  {"id": 3, "sku": "C", "properties": "email"}]}`,
			order("order@example.com",
				enroll.Item{LineItemID: 1, SKU: "A", Email: "order@example.com"},
				enroll.Item{LineItemID: 2, SKU: "B", Email: "order@example.com"},
				enroll.Item{LineItemID: 3, SKU: "C", Email: "order@example.com"}),
		},
		{
			"items without sku, id or email are kept",
			`{"id": 1001, "customer": null, "line_items": [{"sku": null}, {"id": null, "sku": 12}, {"id": 3}]}`,
			order("", enroll.Item{}, enroll.Item{}, enroll.Item{LineItemID: 3}),
		},
		{
			"sku and emails are trimmed",
			`{"id": 1001, "email": "\torder@example.com\n", "line_items": [{"id": 1, "sku": "  A  "}]}`,
			order("order@example.com", enroll.Item{LineItemID: 1, SKU: "A", Email: "order@example.com"}),
		},
		{
			"numeric string ids",
			`{"id": "1001", "line_items": [{"id": "5834765623456", "sku": "A"}]}`,
			order("", enroll.Item{LineItemID: 5834765623456, SKU: "A"}),
		},
		{"no line items", `{"id": 1001}`, order("")},
		{"null line items", `{"id": 1001, "line_items": null}`, order("")},
		{"empty line items", `{"id": 1001, "line_items": []}`, order("")},
		{
			"unknown fields of any shape",
			`{"id": 1001, "note_attributes": null, "refunds": {}, "tags": [1, [2]], "total_price": 9.99}`,
			order(""),
		},
		{
			"ids beyond float64 precision",
			`{"id": 9007199254740993, "line_items": [{"id": 9223372036854775807}]}`,
			enroll.Order{Platform: enroll.Shopify, ID: 9007199254740993, Paid: true,
				Items: []enroll.Item{{LineItemID: 9223372036854775807}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseShopifyOrder([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseShopifyOrder() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseShopifyOrder(f *testing.F) {
	seed(f, "shopify_*.json")
	f.Add([]byte(`{"id": "1", "line_items": [{"properties": [{"name": "email", "value": {}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		order, err := ParseShopifyOrder(body)
		if err == nil && order.ID <= 0 {
			t.Errorf("order id %d accepted", order.ID)
		}
		// The one-pass reading agrees with the field-by-field one.
		if typed, ok := parseShopifyTyped(body); ok {
			fields, err := parseShopifyFields(body)
			if err != nil || !cmp.Equal(typed, fields) {
				t.Errorf("one pass: %+v\nfield by field: %+v, %v", typed, fields, err)
			}
		}
	})
}
