package webhook

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

func TestParseShopifyRefundGolden(t *testing.T) {
	got, err := ParseShopifyRefund(readTestdata(t, "shopify_refund.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := enroll.Refund{
		ID:      929361464,
		OrderID: 5834765629999,
		At:      time.Date(2026, 12, 2, 19, 30, 12, 0, time.UTC),
		Lines:   []enroll.RefundLine{{LineItemID: 14891234568001, Quantity: 2}, {LineItemID: 14891234568002, Quantity: 1}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseShopifyRefund() mismatch (-want +got):\n%s", diff)
	}
}

func TestParseShopifyRefund(t *testing.T) {
	tests := []struct {
		name string
		body string
		want enroll.Refund
	}{
		{"order id only", `{"order_id": 1001}`, enroll.Refund{OrderID: 1001}},
		{
			"ids beyond float64 precision",
			`{"id": 9007199254740993, "order_id": 9223372036854775807, "refund_line_items": [{"line_item_id": 9007199254740995, "quantity": 1}]}`,
			enroll.Refund{ID: 9007199254740993, OrderID: 9223372036854775807,
				Lines: []enroll.RefundLine{{LineItemID: 9007199254740995, Quantity: 1}}},
		},
		{
			"numeric string ids",
			`{"id": "929361464", "order_id": "5834765629999", "refund_line_items": [{"line_item_id": "14891234568001", "quantity": "3"}]}`,
			enroll.Refund{ID: 929361464, OrderID: 5834765629999, Lines: []enroll.RefundLine{{LineItemID: 14891234568001, Quantity: 3}}},
		},
		{
			"created_at in UTC",
			`{"order_id": 1001, "created_at": "2026-12-01T11:30:00+01:00"}`,
			enroll.Refund{OrderID: 1001, At: time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)},
		},
		{"created_at odd", `{"order_id": 1001, "created_at": "2026-12-01 11:30"}`, enroll.Refund{OrderID: 1001}},
		{"created_at not a string", `{"order_id": 1001, "created_at": 1764585000}`, enroll.Refund{OrderID: 1001}},
		{"created_at before 1970", `{"order_id": 1001, "created_at": "1900-01-01T00:00:00Z"}`, enroll.Refund{OrderID: 1001}},
		{"odd refund id is 0", `{"id": "r-1", "order_id": 1001}`, enroll.Refund{OrderID: 1001}},
		{"negative refund id is 0", `{"id": -4, "order_id": 1001}`, enroll.Refund{OrderID: 1001}},
		{"refund id as an object is 0", `{"id": {"id": 4}, "order_id": 1001}`, enroll.Refund{OrderID: 1001}},
		{
			"odd quantities are one seat",
			`{"order_id": 1001, "refund_line_items": [{"line_item_id": 1}, {"line_item_id": 2, "quantity": 0},
			  {"line_item_id": 3, "quantity": -1}, {"line_item_id": 4, "quantity": 1.5}, {"line_item_id": 5, "quantity": "x"},
			  {"line_item_id": 6, "quantity": null}, {"line_item_id": 7, "quantity": 4294967296}]}`,
			enroll.Refund{OrderID: 1001, Lines: []enroll.RefundLine{{LineItemID: 1, Quantity: 1}, {LineItemID: 2, Quantity: 1},
				{LineItemID: 3, Quantity: 1}, {LineItemID: 4, Quantity: 1}, {LineItemID: 5, Quantity: 1},
				{LineItemID: 6, Quantity: 1}, {LineItemID: 7, Quantity: 1}}},
		},
		{
			"lines without a line item id are skipped",
			`{"order_id": 1001, "refund_line_items": [{"quantity": 2}, {"line_item_id": null, "quantity": 2},
			  {"line_item_id": 0}, {"line_item_id": -3}, {"line_item_id": "x"}, {"line_item_id": 1.5}, {"line_item_id": [4]},
			  {"line_item": {"id": 5}}, null, 7, "line", [], {"line_item_id": 8, "quantity": 2}]}`,
			enroll.Refund{OrderID: 1001, Lines: []enroll.RefundLine{{LineItemID: 8, Quantity: 2}}},
		},
		{
			"lines of one line item add up",
			`{"order_id": 1001, "refund_line_items": [{"line_item_id": 8, "quantity": 2}, {"line_item_id": 9},
			  {"line_item_id": "8", "quantity": 3}, {"line_item_id": 8, "quantity": 2147483647}]}`,
			enroll.Refund{OrderID: 1001, Lines: []enroll.RefundLine{{LineItemID: 8, Quantity: maxQuantity}, {LineItemID: 9, Quantity: 1}}},
		},
		{"refund_line_items of another type", `{"order_id": 1001, "refund_line_items": {"line_item_id": 8}}`, enroll.Refund{OrderID: 1001}},
		{"refund_line_items null", `{"order_id": 1001, "refund_line_items": null}`, enroll.Refund{OrderID: 1001}},
		{"empty refund_line_items", `{"order_id": 1001, "refund_line_items": []}`, enroll.Refund{OrderID: 1001}},
		{"unknown fields of any shape", `{"order_id": 1001, "transactions": {}, "note": [1], "restock": "yes"}`, enroll.Refund{OrderID: 1001}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseShopifyRefund([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseShopifyRefund() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseShopifyRefundErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", ``, ErrInvalidJSON},
		{"truncated", `{"order_id": 1`, ErrInvalidJSON},
		{"two values", `{"order_id": 1} {}`, ErrInvalidJSON},
		{"array", `[{"order_id": 1}]`, ErrNotRefund},
		{"string", `"refund"`, ErrNotRefund},
		{"null", `null`, ErrNotRefund},
		{"empty object", `{}`, ErrNotRefund},
		{"an order", `{"id": 1001, "line_items": [{"id": 1}]}`, ErrNotRefund},
		{"null order_id", `{"id": 1, "order_id": null}`, ErrNotRefund},
		{"zero order_id", `{"order_id": 0}`, ErrNotRefund},
		{"negative order_id", `{"order_id": -5}`, ErrNotRefund},
		{"fractional order_id", `{"order_id": 1.5}`, ErrNotRefund},
		{"exponent order_id", `{"order_id": 1e3}`, ErrNotRefund},
		{"order_id above int64", `{"order_id": 9223372036854775808}`, ErrNotRefund},
		{"word order_id", `{"order_id": "abc"}`, ErrNotRefund},
		{"long order_id", `{"order_id": "` + strings.Repeat("7", 10000) + `"}`, ErrNotRefund},
		{"object order_id", `{"order_id": {"id": 1}}`, ErrNotRefund},
		{"boolean order_id", `{"order_id": true}`, ErrNotRefund},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseShopifyRefund([]byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if msg := err.Error(); len(msg) > 120 || strings.ToLower(msg[:1]) != msg[:1] {
				t.Errorf("error %q should be short and start lowercase", msg)
			}
		})
	}
}

func FuzzParseShopifyRefund(f *testing.F) {
	seed(f, "shopify_refund*.json")
	f.Add([]byte(`{"id": "1", "order_id": "2", "created_at": "2026-12-01T10:00:00Z",
		"refund_line_items": [{"line_item_id": 3, "quantity": "2"}, {"line_item_id": "3"}, {"quantity": 1}, null]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		refund, err := ParseShopifyRefund(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrNotRefund) {
				t.Errorf("error %v is neither ErrInvalidJSON nor ErrNotRefund", err)
			}
			return
		}
		if refund.OrderID <= 0 || refund.ID < 0 {
			t.Errorf("refund %d of order %d accepted", refund.ID, refund.OrderID)
		}
		checkTime(t, refund.At)
		seen := map[int64]bool{}
		for _, line := range refund.Lines {
			if line.LineItemID <= 0 || seen[line.LineItemID] {
				t.Errorf("line item id %d: not positive, or twice", line.LineItemID)
			}
			seen[line.LineItemID] = true
			if line.Quantity < 1 || line.Quantity > maxQuantity {
				t.Errorf("line item %d: quantity %d", line.LineItemID, line.Quantity)
			}
		}
	})
}
