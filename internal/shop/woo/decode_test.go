package woo

import (
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRefunds(t *testing.T) {
	got, err := ParseRefunds(723, readTestdata(t, "refunds.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []enroll.Refund{
		{ID: 726, OrderID: 723, At: time.Date(2017, 3, 21, 20, 7, 11, 0, time.UTC),
			Lines: []enroll.RefundLine{{LineItemID: 311, Quantity: 1}}},
		// A refund of money only on line 310 refunds no seat of it.
		{ID: 724, OrderID: 723, At: time.Date(2017, 3, 21, 19, 55, 37, 0, time.UTC),
			Lines: []enroll.RefundLine{{LineItemID: 309, Quantity: 2}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refunds (-want +got):\n%s", diff)
	}
}

func TestParseRefundsOddShapes(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []enroll.Refund
		err  error
	}{
		{body: `{"code":"rest_no_route"}`, err: ErrNotList},
		{body: `<html>`, err: ErrNotList},
		{body: ``, err: ErrNotList},
		{body: `[]`},
		{body: `[null, 1, "x", {"id": -3, "line_items": {"a": 1}}]`, want: []enroll.Refund{{OrderID: 9}}},
		{body: `[{"id": 1, "line_items": [
			{"quantity": -1, "meta_data": [{"key": "_refunded_item_id", "value": 5}]},
			{"quantity": -2147483647, "meta_data": [{"key": "_refunded_item_id", "value": "5"}]},
			{"quantity": -1.5, "refunded_item_id": 6},
			{"quantity": -1, "meta_data": [{"key": "_refunded_item_id", "value": "x"}]},
			{"quantity": -1, "meta_data": "odd"}
		]}]`, want: []enroll.Refund{{ID: 1, OrderID: 9, Lines: []enroll.RefundLine{{LineItemID: 5, Quantity: math.MaxInt32}}}}},
	} {
		got, err := ParseRefunds(9, []byte(tc.body))
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.body, err, tc.err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.body, diff)
		}
	}
}

func TestParseWebhooks(t *testing.T) {
	got, err := ParseWebhooks(readTestdata(t, "webhooks.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Webhook{
		{ID: 142, Name: "Order updated", Topic: "order.updated", Status: StatusDisabled,
			DeliveryURL: "https://webhooks.lms.example.com/webhooks/woocommerce/order/create"},
		{ID: 143, Name: "Order created", Topic: "order.created", Status: StatusActive, DeliveryURL: "https://erp.example.com/hook"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}
	for _, body := range []string{`{}`, `[{"name": "no id"}]`, `[{"id": 1}, null]`, `[1]`, `not json`} {
		if got, err := ParseWebhooks([]byte(body)); !errors.Is(err, ErrNotList) {
			t.Errorf("%s: %v, %v; want ErrNotList", body, got, err)
		}
	}
}

func FuzzParseRefunds(f *testing.F) {
	f.Add(readTestdata(f, "refunds.json"))
	f.Add([]byte(`[{"id": "1", "line_items": [{"quantity": "-3", "refunded_item_id": "4"}, {"quantity": -1, "meta_data": [{"key": "_refunded_item_id", "value": 4}]}]}]`))
	f.Add([]byte(`[null, {"line_items": null}, {"line_items": [null, 1, {"meta_data": [null, {"key": 1}]}]}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		refunds, err := ParseRefunds(7, body)
		if err != nil {
			if !errors.Is(err, ErrNotList) {
				t.Errorf("error %v is not ErrNotList", err)
			}
			return
		}
		for _, r := range refunds {
			if r.OrderID != 7 || r.ID < 0 {
				t.Errorf("refund %d of order %d", r.ID, r.OrderID)
			}
			if !r.At.IsZero() && (r.At.Year() < 1970 || r.At.Year() > 9999 || r.At.Location() != time.UTC) {
				t.Errorf("refund time %v", r.At)
			}
			seen := map[int64]bool{}
			for _, l := range r.Lines {
				if l.LineItemID <= 0 || seen[l.LineItemID] {
					t.Errorf("line item id %d: not positive, or twice", l.LineItemID)
				}
				seen[l.LineItemID] = true
				if l.Quantity < 1 || l.Quantity > math.MaxInt32 {
					t.Errorf("line item %d: quantity %d", l.LineItemID, l.Quantity)
				}
			}
		}
	})
}

func FuzzParseWebhooks(f *testing.F) {
	f.Add(readTestdata(f, "webhooks.json"))
	f.Add([]byte(`[{"id": 1, "status": 3, "topic": null, "delivery_url": ["x"]}]`))
	f.Add([]byte(`[{"id": "9223372036854775807"}, {"id": 1e3}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		hooks, err := ParseWebhooks(body)
		if err != nil {
			if !errors.Is(err, ErrNotList) {
				t.Errorf("error %v is not ErrNotList", err)
			}
			return
		}
		for _, h := range hooks {
			if h.ID <= 0 {
				t.Errorf("webhook id %d", h.ID)
			}
		}
	})
}
