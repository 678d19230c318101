package webhook

import (
	"errors"
	"testing"
	"time"

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
				{LineItemID: 5834765623457, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "learner@example.com", Quantity: 1},
				{LineItemID: 5834765623458, SKU: "course-v1:ExampleX+DA201+2024_T1", Email: "buyer@example.com", Quantity: 1},
			},
			Snapshot: enroll.Snapshot{At: time.Date(2024, 3, 14, 9, 21, 45, 0, time.UTC), ShopStatus: "processing"},
		}},
		{"woocommerce_order_unpaid.json", enroll.Order{
			Platform: enroll.WooCommerce,
			ID:       9223372036854775807,
			Email:    "guest@example.com",
			Paid:     false,
			Items: []enroll.Item{
				{LineItemID: 41, SKU: "course-v1:ExampleX+AUTH101+2024_T2", Email: "guest@example.com", Quantity: 1},
			},
			Snapshot: enroll.Snapshot{ShopStatus: "on-hold"},
		}},
		{"woocommerce_order_team.json", enroll.Order{
			Platform: enroll.WooCommerce,
			ID:       5834765629999,
			Email:    "manager@example.com",
			Paid:     true,
			Items: []enroll.Item{
				{LineItemID: 5834765630001, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "ada@example.com", Quantity: 5},
				{LineItemID: 5834765630001, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "grace@example.com", Quantity: 5},
				{LineItemID: 5834765630001, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "linus@example.com", Quantity: 5},
				{LineItemID: 5834765630002, SKU: "course-v1:ExampleX+DA201+2024_T1", Email: "manager@example.com", Quantity: 2},
			},
			Snapshot: enroll.Snapshot{At: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), ShopStatus: "processing",
				PartialRefund: true},
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
		  "line_items": [{"id": 1, "sku": "A", "quantity": 1, "meta_data": ` + metaData + `}]}`
	}
	order := func(learners ...string) enroll.Order {
		o := enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Email: "buyer@example.com", Paid: true}
		for _, l := range learners {
			o.Items = append(o.Items, enroll.Item{LineItemID: 1, SKU: "A", Email: l, Quantity: 1})
		}
		return o
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
			"every entry of input fields names learners; other shapes are skipped",
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
			order("learner@example.com", "later@example.com"),
		},
		{
			"every email field of a list of input fields",
			item(`[{"key": "_alg_wc_pif_global", "value": [{"type": "email", "_value": "a@example.com"},
			  {"type": "text", "_value": "Ada"}, "odd", null, {"type": "email", "_value": 7},
			  {"type": "email", "_value": "b@example.com"}]}]`),
			order("a@example.com", "b@example.com"),
		},
		{
			"one value names several learners, each once whatever its case",
			item(`[{"key": "_alg_wc_pif_global", "value": [{"type": "email", "_value": "Ada@Example.com;grace@example.com\nADA@example.com"}]},
			  {"key": "_alg_wc_pif_local", "value": [{"type": "email", "_value": "grace@EXAMPLE.com, linus@example.com,"}]}]`),
			order("Ada@Example.com", "grace@example.com", "linus@example.com"),
		},
		{
			"meta entry keyed email",
			item(`[{"key": "Email", "value": "a@example.com, b@example.com"}, {"key": " email ", "value": "c@example.com"},
			  {"key": "email", "value": 7}, {"key": "email", "value": {"email": "d@example.com"}}, {"key": "e-mail", "value": "e@example.com"},
			  {"key": "_billing_email", "value": "f@example.com"}, {"value": "g@example.com"}, {"key": ["email"], "value": "h@example.com"}]`),
			order("a@example.com", "b@example.com", "c@example.com"),
		},
		{
			"meta entry keyed email and input fields, in order",
			item(`[{"key": "email", "value": "b@example.com"},
			  {"key": "_alg_wc_pif_global", "value": [{"type": "email", "_value": "a@example.com; B@example.com"}]}]`),
			order("b@example.com", "a@example.com"),
		},
		{
			"email field without a string value names no one",
			item(`[{"key": "_alg_wc_pif_global", "value": [{"type": "email", "_value": null}]},
			  {"key": "_alg_wc_pif_local", "value": [{"type": "email", "_value": "later@example.com"}]}]`),
			order("later@example.com"),
		},
		{
			"blank email field falls back",
			item(`[{"key": "_alg_wc_pif_global", "value": [{"type": "email", "_value": "  ,; "}]}, {"key": "email", "value": ""}]`),
			order("buyer@example.com"),
		},
		{"no meta data", item(`[]`), order("buyer@example.com")},
		{"null meta data", item(`null`), order("buyer@example.com")},
		{"meta data object", item(`{"key": "email", "value": "learner@example.com"}`), order("buyer@example.com")},
		{
			"seats of a line",
			`{"id": 1001, "billing": {"email": "buyer@example.com"}, "line_items": [
			  {"id": 1, "sku": "A", "quantity": 3, "meta_data": [{"key": "email", "value": "a@example.com;b@example.com"}]},
			  {"id": 2, "sku": "B", "quantity": "2"}, {"id": 3, "sku": "C", "quantity": 0}, {"id": 4, "sku": "D", "quantity": -1},
			  {"id": 5, "sku": "E", "quantity": 1.5}, {"id": 6, "sku": "F"}]}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Email: "buyer@example.com", Items: []enroll.Item{
				{LineItemID: 1, SKU: "A", Email: "a@example.com", Quantity: 3},
				{LineItemID: 1, SKU: "A", Email: "b@example.com", Quantity: 3},
				{LineItemID: 2, SKU: "B", Email: "buyer@example.com", Quantity: 2},
				{LineItemID: 3, SKU: "C", Email: "buyer@example.com", Quantity: 1},
				{LineItemID: 4, SKU: "D", Email: "buyer@example.com", Quantity: 1},
				{LineItemID: 5, SKU: "E", Email: "buyer@example.com", Quantity: 1},
				{LineItemID: 6, SKU: "F", Email: "buyer@example.com", Quantity: 1}}},
		},
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
			enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Paid: true, Items: []enroll.Item{{LineItemID: 1, SKU: "A", Quantity: 1}}},
		},
		{
			"items without sku, id or email are kept",
			`{"id": 1001, "line_items": [{"sku": ""}, {"id": null, "sku": null}, {"id": "3"}]}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 1001, Items: []enroll.Item{{Quantity: 1}, {Quantity: 1}, {LineItemID: 3, Quantity: 1}}},
		},
		{
			"numeric string ids",
			`{"id": "5834765623456", "line_items": [{"id": "9223372036854775807"}]}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 5834765623456,
				Items: []enroll.Item{{LineItemID: 9223372036854775807, Quantity: 1}}},
		},
		{
			"ids beyond float64 precision",
			`{"id": 9007199254740993, "line_items": [{"id": 9007199254740995}]}`,
			enroll.Order{Platform: enroll.WooCommerce, ID: 9007199254740993,
				Items: []enroll.Item{{LineItemID: 9007199254740995, Quantity: 1}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWooOrder(t, tt.body, tt.want)
		})
	}
}

func TestParseWooCommerceOrderSnapshot(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		fields string
		want   enroll.Snapshot
	}{
		{"nothing", ``, enroll.Snapshot{}},
		{"date_modified_gmt is UTC", `"date_modified_gmt": "2026-12-01T10:00:00"`, enroll.Snapshot{At: at}},
		{"date_modified_gmt with a fraction", `"date_modified_gmt": "2026-12-01T10:00:00.5"`,
			enroll.Snapshot{At: at.Add(500 * time.Millisecond)}},
		{"date_modified_gmt in RFC 3339", `"date_modified_gmt": "2026-12-01T11:00:00+01:00"`, enroll.Snapshot{At: at}},
		{"date_modified_gmt in RFC 3339, UTC", `"date_modified_gmt": "2026-12-01T10:00:00Z"`, enroll.Snapshot{At: at}},
		{"date_modified_gmt with a space", `"date_modified_gmt": "2026-12-01 10:00:00"`, enroll.Snapshot{}},
		{"date_modified_gmt of a date only", `"date_modified_gmt": "2026-12-01"`, enroll.Snapshot{}},
		{"date_modified_gmt null", `"date_modified_gmt": null`, enroll.Snapshot{}},
		{"date_modified_gmt as a number", `"date_modified_gmt": 1764583200`, enroll.Snapshot{}},
		{"date_modified_gmt before 1970", `"date_modified_gmt": "0001-01-01T00:00:00"`, enroll.Snapshot{}},
		{"date_modified without gmt is not read", `"date_modified": "2026-12-01T11:00:00"`, enroll.Snapshot{}},
		{"status", `"status": "processing"`, enroll.Snapshot{ShopStatus: "processing"}},
		{"cancelled", `"status": "cancelled"`, enroll.Snapshot{ShopStatus: "cancelled", Cancelled: true}},
		{"cancelled in another case, prefixed", `"status": " WC-Cancelled "`, enroll.Snapshot{ShopStatus: "WC-Cancelled", Cancelled: true}},
		{"refunded", `"status": "refunded", "refunds": [{"id": 7, "reason": "", "total": "-99.00"}]`,
			enroll.Snapshot{ShopStatus: "refunded", Refunded: true}},
		{"refunded without a refunds list", `"status": "refunded"`, enroll.Snapshot{ShopStatus: "refunded", Refunded: true}},
		{"partial refund", `"status": "completed", "refunds": [{"id": 7, "reason": "one seat", "total": "-49.00"}]`,
			enroll.Snapshot{ShopStatus: "completed", PartialRefund: true}},
		{"partial refund of a cancelled order", `"status": "cancelled", "refunds": [ {"id": 7}]`,
			enroll.Snapshot{ShopStatus: "cancelled", Cancelled: true, PartialRefund: true}},
		{"partial refund without a status", `"refunds": [null]`, enroll.Snapshot{PartialRefund: true}},
		{"empty refunds list", `"status": "completed", "refunds": [ ]`, enroll.Snapshot{ShopStatus: "completed"}},
		{"refunds of another type", `"status": "completed", "refunds": {"id": 7}`, enroll.Snapshot{ShopStatus: "completed"}},
		{"refunds null", `"status": "completed", "refunds": null`, enroll.Snapshot{ShopStatus: "completed"}},
		{"status not a string", `"status": ["cancelled"]`, enroll.Snapshot{}},
		{"another status containing cancelled", `"status": "cancelled-by-buyer"`, enroll.Snapshot{ShopStatus: "cancelled-by-buyer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"id": 1001, "line_items": [{"id": 1, "sku": "A", "quantity": 1}]`
			if tt.fields != "" {
				body += `, ` + tt.fields
			}
			body += `}`
			want := enroll.Order{Platform: enroll.WooCommerce, ID: 1001,
				Items: []enroll.Item{{LineItemID: 1, SKU: "A", Quantity: 1}}, Snapshot: tt.want}
			checkWooOrder(t, body, want)
		})
	}
}

// checkWooOrder is checkShopifyOrder for WooCommerce.
func checkWooOrder(t *testing.T, body string, want enroll.Order) {
	t.Helper()
	got, err := ParseWooCommerceOrder([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseWooCommerceOrder() mismatch (-want +got):\n%s", diff)
	}
	fields, err := parseWooFields([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("field by field mismatch (-want +got):\n%s", diff)
	}
}

func FuzzParseWooCommerceOrder(f *testing.F) {
	seed(f, "woocommerce_*.json")
	f.Add([]byte(`{"id": "1", "line_items": [{"meta_data": [{"value": [{"type": "email", "_value": []}]}]}]}`))
	f.Add([]byte(`{"id": 2, "status": "refunded", "date_modified_gmt": "2026-12-01T10:00:00", "refunds": [{}],
		"line_items": [{"id": 3, "quantity": 4, "meta_data": [{"key": "Email", "value": "a@b.c;A@B.C"},
		{"key": "_alg_wc_pif_global", "value": [{"type": "email", "_value": "d@e.f,\ng@h.i"}, {"type": "email", "_value": "j@k.l"}]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		order, err := ParseWooCommerceOrder(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrNotOrder) {
				t.Errorf("error %v is neither ErrInvalidJSON nor ErrNotOrder", err)
			}
			return
		}
		checkOrder(t, order)
		if order.Refunded && order.PartialRefund {
			t.Errorf("refunded and partially refunded: %+v", order.Snapshot)
		}
		if (order.Cancelled || order.Refunded) && order.ShopStatus == "" {
			t.Errorf("cancelled or refunded without a status: %+v", order.Snapshot)
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
