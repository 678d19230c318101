package webhook

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

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
				{LineItemID: 14891234567890, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "learner@example.com", Quantity: 1},
				{LineItemID: 14891234567891, SKU: "course-v1:ExampleX+DA201+2024_T1", Email: "buyer@example.com", Quantity: 1},
			},
			Snapshot: enroll.Snapshot{At: time.Date(2024, 3, 14, 9, 21, 44, 0, time.UTC), ShopStatus: "paid"},
		}},
		{"shopify_order_no_customer.json", enroll.Order{
			Platform: enroll.Shopify,
			ID:       9223372036854775807,
			Email:    "guest@example.com",
			Paid:     true,
			Items: []enroll.Item{
				{LineItemID: 14891234567999, SKU: "course-v1:ExampleX+AUTH101+2024_T2", Email: "guest@example.com", Quantity: 1},
			},
			Snapshot: enroll.Snapshot{ShopStatus: "paid"},
		}},
		{"shopify_order_team.json", enroll.Order{
			Platform: enroll.Shopify,
			ID:       5834765629999,
			Email:    "manager@example.com",
			Paid:     true,
			Items: []enroll.Item{
				{LineItemID: 14891234568001, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "ada@example.com", Quantity: 5},
				{LineItemID: 14891234568001, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "grace@example.com", Quantity: 5},
				{LineItemID: 14891234568001, SKU: "course-v1:ExampleX+PY101+2024_T1", Email: "linus@example.com", Quantity: 5},
				{LineItemID: 14891234568002, SKU: "course-v1:ExampleX+DA201+2024_T1", Email: "manager@example.com", Quantity: 2},
			},
			Snapshot: enroll.Snapshot{At: time.Date(2026, 11, 30, 17, 5, 0, 0, time.UTC), ShopStatus: "partially_refunded",
				Cancelled: true},
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
	// seat is an item of a line of one seat.
	seat := func(id int64, sku, email string) enroll.Item {
		return enroll.Item{LineItemID: id, SKU: sku, Email: email, Quantity: 1}
	}
	// learners is an order with one line of properties, bought by order@example.com.
	learners := func(properties string) string {
		return `{"id": 1001, "email": "order@example.com", "line_items": [{"id": 1, "sku": "A", "properties": ` +
			properties + `}]}`
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
			order("customer@example.com", seat(1, "A", "customer@example.com")),
		},
		{
			"empty customer email falls back to order email",
			`{"id": 1001, "email": "order@example.com", "customer": {"email": " "},
			  "line_items": [{"id": 1, "sku": "A"}]}`,
			order("order@example.com", seat(1, "A", "order@example.com")),
		},
		{
			"customer of another type is ignored",
			`{"id": 1001, "email": "order@example.com", "customer": "customer@example.com",
			  "line_items": [{"id": 1, "sku": "A"}]}`,
			order("order@example.com", seat(1, "A", "order@example.com")),
		},
		{
			"every email property names a learner, in any case",
			learners(`[{"name": "Email", "value": "capital@example.com"},
			  {"name": "_source", "value": "course-page"},
			  {"name": " EMAIL ", "value": "first@example.com"},
			  {"name": "email", "value": "second@example.com"}]`),
			order("order@example.com", seat(1, "A", "capital@example.com"), seat(1, "A", "first@example.com"),
				seat(1, "A", "second@example.com")),
		},
		{
			"one value names several learners",
			learners(`[{"name": "email", "value": "a@example.com, b@example.com;c@example.com\nd@example.com\r\ne@example.com"}]`),
			order("order@example.com", seat(1, "A", "a@example.com"), seat(1, "A", "b@example.com"),
				seat(1, "A", "c@example.com"), seat(1, "A", "d@example.com"), seat(1, "A", "e@example.com")),
		},
		{
			"an address is one learner whatever its case, first spelling kept",
			learners(`[{"name": "email", "value": "Ada@Example.com, grace@example.com, ADA@EXAMPLE.COM"},
			  {"name": "Email", "value": "ada@example.com;Grace@example.com"},
			  {"name": "email", "value": "linus@example.com"}]`),
			order("order@example.com", seat(1, "A", "Ada@Example.com"), seat(1, "A", "grace@example.com"),
				seat(1, "A", "linus@example.com")),
		},
		{
			"empty pieces are skipped",
			learners(`[{"name": "email", "value": " , ;; a@example.com ,\n\n, "}, {"name": "email", "value": ""}]`),
			order("order@example.com", seat(1, "A", "a@example.com")),
		},
		{
			"email properties holding no address fall back to the buyer",
			learners(`[{"name": "email", "value": " ,; \n"}, {"name": "email", "value": "  "}]`),
			order("order@example.com", seat(1, "A", "order@example.com")),
		},
		{
			"email property that is not a string names no one",
			learners(`[{"name": "email", "value": 42}, {"name": "email", "value": ["x@example.com"]},
			  {"name": "email", "value": "second@example.com"}]`),
			order("order@example.com", seat(1, "A", "second@example.com")),
		},
		{
			"odd properties are skipped",
			learners(`["email", null, 7, {"name": null}, {"name": ["email"], "value": "x@example.com"}, {"value": "y@example.com"},
			  {"name": "e-mail", "value": "z@example.com"}, {"name": "email", "value": "learner@example.com"}]`),
			order("order@example.com", seat(1, "A", "learner@example.com")),
		},
		{
			"properties of another type fall back",
			`{"id": 1001, "email": "order@example.com", "line_items": [
			  {"id": 1, "sku": "A", "properties": null},
			  {"id": 2, "sku": "B", "properties": {"email": "learner@example.com"}},
			  {"id": 3, "sku": "C", "properties": "email"}]}`,
			order("order@example.com", seat(1, "A", "order@example.com"), seat(2, "B", "order@example.com"),
				seat(3, "C", "order@example.com")),
		},
		{
			"learners of a line share its id, SKU and seats",
			`{"id": 1001, "email": "order@example.com", "line_items": [
			  {"id": 9007199254740993, "sku": "A", "quantity": 5, "properties": [{"name": "email", "value": "a@example.com,b@example.com"}]},
			  {"id": 2, "sku": "B", "quantity": 3}]}`,
			order("order@example.com",
				enroll.Item{LineItemID: 9007199254740993, SKU: "A", Email: "a@example.com", Quantity: 5},
				enroll.Item{LineItemID: 9007199254740993, SKU: "A", Email: "b@example.com", Quantity: 5},
				enroll.Item{LineItemID: 2, SKU: "B", Email: "order@example.com", Quantity: 3}),
		},
		{
			"odd quantities are one seat",
			`{"id": 1001, "line_items": [{"id": 1, "quantity": 0}, {"id": 2, "quantity": -3}, {"id": 3, "quantity": 2.5},
			  {"id": 4, "quantity": "two"}, {"id": 5, "quantity": null}, {"id": 6, "quantity": [2]}, {"id": 7},
			  {"id": 8, "quantity": 2147483648}, {"id": 9, "quantity": 1e2}, {"id": 10, "quantity": true}]}`,
			order("", seat(1, "", ""), seat(2, "", ""), seat(3, "", ""), seat(4, "", ""), seat(5, "", ""),
				seat(6, "", ""), seat(7, "", ""), seat(8, "", ""), seat(9, "", ""), seat(10, "", "")),
		},
		{
			"quantities as numbers or numeric strings",
			`{"id": 1001, "line_items": [{"id": 1, "quantity": 3}, {"id": 2, "quantity": "4"}, {"id": 3, "quantity": 2147483647}]}`,
			order("", enroll.Item{LineItemID: 1, Quantity: 3}, enroll.Item{LineItemID: 2, Quantity: 4},
				enroll.Item{LineItemID: 3, Quantity: math.MaxInt32}),
		},
		{
			"items without sku, id or email are kept",
			`{"id": 1001, "customer": null, "line_items": [{"sku": null}, {"id": null, "sku": 12}, {"id": 3}]}`,
			order("", seat(0, "", ""), seat(0, "", ""), seat(3, "", "")),
		},
		{
			"sku and emails are trimmed",
			`{"id": 1001, "email": "\torder@example.com\n", "line_items": [{"id": 1, "sku": "  A  "}]}`,
			order("order@example.com", seat(1, "A", "order@example.com")),
		},
		{
			"escaped strings",
			`{"id": 1001, "email": "\u006frder@example.com", "line_items": [{"id": 1, "sku": "A\"B",
			  "properties": [{"name": "\u0065mail", "value": "a@example.com\u002c b@example.com"}]}]}`,
			order("order@example.com", seat(1, "A\"B", "a@example.com"), seat(1, "A\"B", "b@example.com")),
		},
		{
			"numeric string ids",
			`{"id": "1001", "line_items": [{"id": "5834765623456", "sku": "A"}]}`,
			order("", seat(5834765623456, "A", "")),
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
				Items: []enroll.Item{seat(9223372036854775807, "", "")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkShopifyOrder(t, tt.body, tt.want)
		})
	}
}

func TestParseShopifyOrderSnapshot(t *testing.T) {
	tests := []struct {
		name   string
		fields string
		want   enroll.Snapshot
	}{
		{"nothing", ``, enroll.Snapshot{}},
		{
			"updated_at with an offset is kept in UTC",
			`"updated_at": "2026-12-01T11:30:00+01:00", "financial_status": "paid"`,
			enroll.Snapshot{At: time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC), ShopStatus: "paid"},
		},
		{
			"updated_at in UTC with a fraction",
			`"updated_at": "2026-12-01T10:30:00.250Z"`,
			enroll.Snapshot{At: time.Date(2026, 12, 1, 10, 30, 0, 250e6, time.UTC)},
		},
		{
			"negative offset crossing midnight",
			`"updated_at": "2026-12-31T20:00:00-05:00"`,
			enroll.Snapshot{At: time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC)},
		},
		{"updated_at without a zone is no time", `"updated_at": "2026-12-01T10:30:00"`, enroll.Snapshot{}},
		{"updated_at of a date only", `"updated_at": "2026-12-01"`, enroll.Snapshot{}},
		{"updated_at in words", `"updated_at": "yesterday"`, enroll.Snapshot{}},
		{"updated_at as a number", `"updated_at": 1764585000`, enroll.Snapshot{}},
		{"updated_at as an object", `"updated_at": {"at": "2026-12-01T10:30:00Z"}`, enroll.Snapshot{}},
		{"updated_at null", `"updated_at": null`, enroll.Snapshot{}},
		{"updated_at before 1970", `"updated_at": "1969-12-31T23:59:59Z"`, enroll.Snapshot{}},
		{"updated_at of year zero", `"updated_at": "0000-01-01T00:00:00Z"`, enroll.Snapshot{}},
		{"updated_at past 9999 in UTC", `"updated_at": "9999-12-31T23:00:00-02:00"`, enroll.Snapshot{}},
		{"updated_at with an invalid day", `"updated_at": "2026-02-30T10:00:00Z"`, enroll.Snapshot{}},
		{"financial status as sent, trimmed", `"financial_status": " Partially_Paid "`, enroll.Snapshot{ShopStatus: "Partially_Paid"}},
		{"financial status not a string", `"financial_status": ["paid"]`, enroll.Snapshot{}},
		{"cancelled", `"cancelled_at": "2026-12-01T10:30:00+01:00", "financial_status": "voided"`,
			enroll.Snapshot{ShopStatus: "voided", Cancelled: true}},
		{"cancelled_at null", `"cancelled_at": null`, enroll.Snapshot{}},
		{"cancelled_at empty", `"cancelled_at": " "`, enroll.Snapshot{}},
		{"cancelled_at not a string", `"cancelled_at": true`, enroll.Snapshot{}},
		{"cancelled_at of any text", `"cancelled_at": "soon"`, enroll.Snapshot{Cancelled: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"id": 1001, "line_items": [{"id": 1, "sku": "A", "quantity": 1}]`
			if tt.fields != "" {
				body += `, ` + tt.fields
			}
			body += `}`
			want := enroll.Order{Platform: enroll.Shopify, ID: 1001, Paid: true,
				Items: []enroll.Item{{LineItemID: 1, SKU: "A", Quantity: 1}}, Snapshot: tt.want}
			checkShopifyOrder(t, body, want)
		})
	}
}

// checkShopifyOrder parses body and compares the order with want, and
// checks that both readings of the body agree whenever the one-pass
// reading takes the body.
func checkShopifyOrder(t *testing.T, body string, want enroll.Order) {
	t.Helper()
	got, err := ParseShopifyOrder([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseShopifyOrder() mismatch (-want +got):\n%s", diff)
	}
	fields, err := parseShopifyFields([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, fields); diff != "" {
		t.Errorf("field by field mismatch (-want +got):\n%s", diff)
	}
}

func FuzzParseShopifyOrder(f *testing.F) {
	seed(f, "shopify_order*.json")
	f.Add([]byte(`{"id": "1", "line_items": [{"properties": [{"name": "email", "value": {}}]}]}`))
	f.Add([]byte(`{"id": 2, "updated_at": "2026-12-01T10:00:00+14:00", "cancelled_at": "x", "financial_status": "paid",
		"line_items": [{"id": 3, "quantity": "7", "properties": [{"name": "EMAIL", "value": "a@b.c;A@B.C,\nd@e.f"}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		order, err := ParseShopifyOrder(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) && !errors.Is(err, ErrNotOrder) {
				t.Errorf("error %v is neither ErrInvalidJSON nor ErrNotOrder", err)
			}
			return
		}
		checkOrder(t, order)
		// The one-pass reading agrees with the field-by-field one.
		if typed, ok := parseShopifyTyped(body); ok {
			fields, err := parseShopifyFields(body)
			if err != nil || !cmp.Equal(typed, fields) {
				t.Errorf("one pass: %+v\nfield by field: %+v, %v", typed, fields, err)
			}
		}
	})
}

// checkOrder checks what every parsed order keeps, whatever its body.
func checkOrder(t *testing.T, order enroll.Order) {
	t.Helper()
	if order.ID <= 0 {
		t.Errorf("order id %d accepted", order.ID)
	}
	checkTime(t, order.At)
	for _, it := range order.Items {
		if it.LineItemID < 0 {
			t.Errorf("line item id %d", it.LineItemID)
		}
		if it.Quantity < 1 || it.Quantity > maxQuantity {
			t.Errorf("line item %d: quantity %d", it.LineItemID, it.Quantity)
		}
		if it.Email != "" && it.Email != order.Email && (strings.ContainsAny(it.Email, ",;\n\r") || strings.TrimSpace(it.Email) != it.Email) {
			t.Errorf("line item %d: learner %q holds a separator or spaces", it.LineItemID, it.Email)
		}
		for _, s := range []string{it.Email, it.SKU} {
			if strings.ContainsRune(s, 0) {
				t.Errorf("line item %d: %q holds NUL", it.LineItemID, s)
			}
		}
	}
	for _, s := range []string{order.Email, order.ShopStatus} {
		if strings.ContainsRune(s, 0) {
			t.Errorf("%q holds NUL", s)
		}
	}
}

// checkTime checks that a parsed time is zero or a plausible time in UTC.
func checkTime(t *testing.T, at time.Time) {
	t.Helper()
	if at.IsZero() {
		return
	}
	if at.Location() != time.UTC || at.Year() < 1970 || at.Year() > 9999 {
		t.Errorf("time %v should be zero or a UTC time between 1970 and 9999", at)
	}
	if _, err := at.MarshalJSON(); err != nil {
		t.Errorf("time %v does not encode: %v", at, err)
	}
}
