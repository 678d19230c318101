package webhook

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

func TestParseComplianceGolden(t *testing.T) {
	redaction, err := ParseShopifyCustomerRedact(readTestdata(t, "compliance_customers_redact.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := enroll.Redaction{Email: "john@example.com", CustomerID: 191167, OrderIDs: []int64{299938, 280263, 9223372036854775807}}
	if diff := cmp.Diff(want, redaction); diff != "" {
		t.Errorf("customers/redact (-want +got):\n%s", diff)
	}
	shop, err := ParseShopifyShopRedact(readTestdata(t, "compliance_shop_redact.json"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(enroll.Redaction{WholeShop: true}, shop); diff != "" {
		t.Errorf("shop/redact (-want +got):\n%s", diff)
	}
	request, err := ParseShopifyDataRequest(readTestdata(t, "compliance_data_request.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantRequest := enroll.DataRequest{Email: "John@Example.com", CustomerID: 9007199254740993,
		OrderIDs: []int64{299938, 280263, 220458}, RequestID: 9999}
	if diff := cmp.Diff(wantRequest, request); diff != "" {
		t.Errorf("customers/data_request (-want +got):\n%s", diff)
	}
}

func TestParseShopifyCustomerRedact(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    enroll.Redaction
		wantErr error
	}{
		{"orders without a customer", `{"shop_domain": "s.myshopify.com", "customer": null, "orders_to_redact": [1, "2"]}`,
			enroll.Redaction{OrderIDs: []int64{1, 2}}, nil},
		{"customer without orders", `{"shop_id": 1, "customer": {"id": 5, "email": "a@b.c"}}`,
			enroll.Redaction{Email: "a@b.c", CustomerID: 5}, nil},
		{"id above 2^53 keeps its digits", `{"shop_id": 1, "customer": {"id": 9007199254740993, "email": "a@b.c"}}`,
			enroll.Redaction{Email: "a@b.c", CustomerID: 9007199254740993}, nil},
		{"customer of another shape is absent", `{"shop_id": 1, "customer": "a@b.c", "orders_to_redact": [3]}`,
			enroll.Redaction{OrderIDs: []int64{3}}, nil},
		{"nothing to find", `{"shop_id": 1, "customer": {"id": 5}}`, enroll.Redaction{}, ErrNotCompliance},
		{"no shop", `{"customer": {"email": "a@b.c"}}`, enroll.Redaction{}, ErrNotCompliance},
		{"bad shop id", `{"shop_id": -1, "customer": {"email": "a@b.c"}}`, enroll.Redaction{}, ErrNotCompliance},
		{"bad customer id", `{"shop_id": 1, "customer": {"id": "x", "email": "a@b.c"}}`, enroll.Redaction{}, ErrNotCompliance},
		{"orders not a list", `{"shop_id": 1, "customer": {"email": "a@b.c"}, "orders_to_redact": 5}`, enroll.Redaction{}, ErrNotCompliance},
		{"null order id", `{"shop_id": 1, "orders_to_redact": [null]}`, enroll.Redaction{}, ErrNotCompliance},
		{"order id too large", `{"shop_id": 1, "orders_to_redact": [9223372036854775808]}`, enroll.Redaction{}, ErrNotCompliance},
		{"not an object", `[1]`, enroll.Redaction{}, ErrNotCompliance},
		{"not JSON", `{"shop_id": 1`, enroll.Redaction{}, ErrInvalidJSON},
		{"empty", ``, enroll.Redaction{}, ErrInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseShopifyCustomerRedact([]byte(tt.body))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseShopifyDataRequest(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    enroll.DataRequest
		wantErr error
	}{
		{"no request id", `{"shop_id": 1, "customer": {"email": "a@b.c"}}`, enroll.DataRequest{Email: "a@b.c"}, nil},
		{"request id as a string", `{"shop_id": 1, "customer": {"email": "a@b.c"}, "data_request": {"id": "77"}}`,
			enroll.DataRequest{Email: "a@b.c", RequestID: 77}, nil},
		{"no email", `{"shop_id": 1, "customer": {"id": 3}, "orders_requested": [1]}`, enroll.DataRequest{}, ErrNotCompliance},
		{"bad request id", `{"shop_id": 1, "customer": {"email": "a@b.c"}, "data_request": {"id": 1.5}}`, enroll.DataRequest{}, ErrNotCompliance},
		{"orders not a list", `{"shop_id": 1, "customer": {"email": "a@b.c"}, "orders_requested": {}}`, enroll.DataRequest{}, ErrNotCompliance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseShopifyDataRequest([]byte(tt.body))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseShopifyShopRedact(t *testing.T) {
	for _, body := range []string{`{"shop_id": 1}`, `{"shop_domain": "s.myshopify.com"}`} {
		if got, err := ParseShopifyShopRedact([]byte(body)); err != nil || !got.WholeShop {
			t.Errorf("%s: %+v, %v", body, got, err)
		}
	}
	for _, body := range []string{`{}`, `{"shop_id": "x"}`, `null`, `{`} {
		if _, err := ParseShopifyShopRedact([]byte(body)); err == nil {
			t.Errorf("%s: accepted", body)
		}
	}
}

// The compliance parsers never panic, and what they accept names something
// to act on.
func FuzzParseShopifyCompliance(f *testing.F) {
	seed(f, "compliance_*.json")
	f.Add([]byte(`{"shop_id": "1", "customer": {"id": null, "email": {}}, "orders_to_redact": ["0"]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if r, err := ParseShopifyCustomerRedact(body); err == nil {
			if r.Email == "" && len(r.OrderIDs) == 0 {
				t.Errorf("customers/redact accepted with nothing to redact: %+v", r)
			}
			for _, id := range r.OrderIDs {
				if id <= 0 {
					t.Errorf("order id %d accepted", id)
				}
			}
		}
		if r, err := ParseShopifyShopRedact(body); err == nil && !r.WholeShop {
			t.Errorf("shop/redact accepted as %+v", r)
		}
		if r, err := ParseShopifyDataRequest(body); err == nil && r.Email == "" {
			t.Errorf("customers/data_request accepted without an email: %+v", r)
		}
	})
}
