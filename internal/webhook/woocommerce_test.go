package webhook

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

func TestParseWooCommerceOrderGolden(t *testing.T) {
	tests := []struct {
		file string
		want enroll.Order
	}{
		{"woocommerce_order.json", enroll.Order{
			Platform: enroll.WooCommerce,
			ID:       5834765623456,
			Email:    "buyer@example.com",
			Paid:     true,
			Items: []enroll.Item{
				{LineItemID: 5834765623457, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "learner@example.com"},
				{LineItemID: 5834765623458, SKU: "course-v1:ExampleX+DA201+2024_T1", Email: "buyer@example.com"},
			},
		}},
		{"woocommerce_order_unpaid.json", enroll.Order{
			Platform: enroll.WooCommerce,
			ID:       9223372036854775807,
			Email:    "guest@example.com",
			Paid:     false,
			Items: []enroll.Item{
				{LineItemID: 41, SKU: "course-v1:ExampleX+AUTH101+2024_T2", Email: "guest@example.com"},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseWooCommerceOrder(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseWooCommerceOrder() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseWooCommerceOrder(t *testing.T) {
	// item builds an order with one line item whose meta_data is given.
	item := func(metaData string) string {
		return `{"id": 1001, "date_paid_gmt": "2024-03-14T09:21:45", "billing": {"email": "buyer@example.com"},
		  "line_items": [{"id": 1, "sku": "A", "meta_data": ` + metaData + `}]}`
	}
	order := func(learner string) enroll.Order {
		return enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Email: "buyer@example.com", Paid: true,
			Items: []enroll.Item{{LineItemID: 1, SKU: "A", Email: learner}}}
	}
	tests := []struct {
		name string
		body string
		want enroll.Order
	}{
		{
			"input field email",
			item(`[{"id": 1, "key": "_alg_wc_pif_global", "value": [{"title": "Email", "type": "email", "_value": "learner@example.com"}]}]`),
			order("learner@example.com"),
		},
		{
			"other shapes before the email are skipped",
			item(`[
			  {"id": 1, "key": "_reduced_stock", "value": "1"},
			  {"id": 2, "key": "_settings", "value": {"type": "email", "_value": "object@example.com"}},
			  {"id": 3, "key": "_none", "value": []},
			  {"id": 4, "key": "_count", "value": 3},
			  {"id": 5, "key": "_null", "value": null},
			  {"id": 6, "key": "_strings", "value": ["email", "strings@example.com"]},
			  {"id": 7, "key": "_nested", "value": [[{"type": "email", "_value": "nested@example.com"}]]},
			  {"id": 8, "key": "_text_first", "value": [{"type": "text", "_value": "Ada"}, {"type": "email", "_value": "second@example.com"}]},
			  {"id": 9, "key": "_untyped", "value": [{"_value": "untyped@example.com"}]},
			  "not an entry",
			  null,
			  {"id": 10, "key": "_alg_wc_pif_local", "value": [{"type": "email", "_value": " learner@example.com "}]},
			  {"id": 11, "key": "_alg_wc_pif_global", "value": [{"type": "email", "_value": "later@example.com"}]}]`),
			order("learner@example.com"),
		},
		{
			"email field without a string value falls back",
			item(`[{"key": "_alg_wc_pif_global", "value": [{"type": "email", "_value": null}]},
			  {"key": "_alg_wc_pif_local", "value": [{"type": "email", "_value": "later@example.com"}]}]`),
			order("buyer@example.com"),
		},
		{
			"blank email field falls back",
			item(`[{"key": "_alg_wc_pif_global", "value": [{"type": "email", "_value": "  "}]}]`),
			order("buyer@example.com"),
		},
		{"no meta data", item(`[]`), order("buyer@example.com")},
		{"null meta data", item(`null`), order("buyer@example.com")},
		{"meta data object", item(`{"key": "email", "value": "learner@example.com"}`), order("buyer@example.com")},
		{
			"unpaid when date_paid_gmt is empty",
			`{"id": 1001, "date_paid_gmt": "", "billing": {"email": "buyer@example.com"}}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Email: "buyer@example.com"},
		},
		{
			"unpaid when date_paid_gmt is missing",
			`{"id": 1001, "billing": {"email": "buyer@example.com"}}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Email: "buyer@example.com"},
		},
		{
			"unpaid when date_paid_gmt is not a string",
			`{"id": 1001, "date_paid_gmt": 1710408105, "billing": {"email": "buyer@example.com"}}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Email: "buyer@example.com"},
		},
		{
			"null billing",
			`{"id": 1001, "date_paid_gmt": "2024-03-14T09:21:45", "billing": null, "line_items": [{"id": 1, "sku": "A"}]}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Paid: true, Items: []enroll.Item{{LineItemID: 1, SKU: "A"}}},
		},
		{
			"items without sku, id or email are kept",
			`{"id": 1001, "line_items": [{"sku": ""}, {"id": null, "sku": null}, {"id": "3"}]}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Items: []enroll.Item{{}, {}, {LineItemID: 3}}},
		},
		{
			"numeric string ids",
			`{"id": "5834765623456", "line_items": [{"id": "9223372036854775807"}]}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 5834765623456,
				Items: []enroll.Item{{LineItemID: 9223372036854775807}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWooCommerceOrder([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseWooCommerceOrder() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseWooCommerceOrder(f *testing.F) {
	seed(f, "woocommerce_*.json")
	f.Add([]byte(`{"id": "1", "line_items": [{"meta_data": [{"value": [{"type": "email", "_value": []}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		order, err := ParseWooCommerceOrder(body)
		if err == nil && order.ID <= 0 {
			t.Errorf("order id %d accepted", order.ID)
		}
		// The one-pass reading agrees with the field-by-field one.
		if typed, ok := parseWooTyped(body); ok {
			fields, err := parseWooFields(body)
			if err != nil || !cmp.Equal(typed, fields) {
				t.Errorf("one pass: %+v\nfield by field: %+v, %v", typed, fields, err)
			}
		}
	})
}
