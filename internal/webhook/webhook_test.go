package webhook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// The rules on ids and on the shape of the body are the same for both shops.
func TestParseErrors(t *testing.T) {
	parsers := map[string]func([]byte) (enroll.Order, error){
		"shopify":     ParseShopifyOrder,
		"woocommerce": ParseWooCommerceOrder,
	}
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", ``, ErrInvalidJSON},
		{"whitespace", " \n", ErrInvalidJSON},
		{"truncated", `{"id": 1`, ErrInvalidJSON},
		{"trailing comma", `{"id": 1,}`, ErrInvalidJSON},
		{"form encoded", `id=1&email=a%40example.com`, ErrInvalidJSON},
		{"two values", `{"id": 1} {"id": 2}`, ErrInvalidJSON},
		{"array", `[{"id": 1}]`, ErrNotOrder},
		{"string", `"order"`, ErrNotOrder},
		{"number", `42`, ErrNotOrder},
		{"null", `null`, ErrNotOrder},
		{"empty object", `{}`, ErrNotOrder},
		{"null id", `{"id": null}`, ErrNotOrder},
		{"zero id", `{"id": 0}`, ErrNotOrder},
		{"negative id", `{"id": -5}`, ErrNotOrder},
		{"fractional id", `{"id": 1.5}`, ErrNotOrder},
		{"integral float id", `{"id": 1.0}`, ErrNotOrder},
		{"exponent id", `{"id": 1e3}`, ErrNotOrder},
		{"id above int64", `{"id": 9223372036854775808}`, ErrNotOrder},
		{"empty string id", `{"id": ""}`, ErrNotOrder},
		{"word id", `{"id": "abc"}`, ErrNotOrder},
		{"long string id", `{"id": "` + strings.Repeat("x", 10000) + `"}`, ErrNotOrder},
		{"boolean id", `{"id": true}`, ErrNotOrder},
		{"object id", `{"id": {"value": 1}}`, ErrNotOrder},
		{"array id", `{"id": [1]}`, ErrNotOrder},
		{"line_items string", `{"id": 1, "line_items": "course"}`, ErrNotOrder},
		{"line_items object", `{"id": 1, "line_items": {"id": 2}}`, ErrNotOrder},
		{"line item number", `{"id": 1, "line_items": [7]}`, ErrNotOrder},
		{"line item null", `{"id": 1, "line_items": [null]}`, ErrNotOrder},
		{"line item negative id", `{"id": 1, "line_items": [{"id": -2}]}`, ErrNotOrder},
		{"line item word id", `{"id": 1, "line_items": [{"id": "two"}]}`, ErrNotOrder},
		{"second line item bad", `{"id": 1, "line_items": [{"id": 2}, {"id": 1.5}]}`, ErrNotOrder},
	}
	for platform, parse := range parsers {
		for _, tt := range tests {
			t.Run(platform+"/"+tt.name, func(t *testing.T) {
				_, err := parse([]byte(tt.body))
				if !errors.Is(err, tt.want) {
					t.Fatalf("error = %v, want %v", err, tt.want)
				}
				// The server sends the text back as the reason for a 400.
				if msg := err.Error(); len(msg) > 120 || strings.ToLower(msg[:1]) != msg[:1] {
					t.Errorf("error %q should be short and start lowercase", msg)
				}
			})
		}
	}
}

// seed adds the testdata files matching pattern to a fuzzer's corpus.
func seed(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files match %s: %v", pattern, err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func TestNULNeverReachesTheOrder(t *testing.T) {
	o, err := ParseShopifyOrder([]byte(`{"id": 1, "email": "a\u0000@example.com",
		"line_items": [{"id": 2, "sku": "course-v1:A\u0000+B+C", "properties": [{"name": "email", "value": "l\u0000@example.com"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{o.Email, o.Items[0].SKU, o.Items[0].Email} {
		if strings.ContainsRune(s, 0) {
			t.Errorf("%q holds NUL", s)
		}
	}
	w, err := ParseWooCommerceOrder([]byte(`{"id": 1, "billing": {"email": "b\u0000@example.com"}, "line_items": [{"id": 2, "sku": "x\u0000"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsRune(w.Email, 0) || strings.ContainsRune(w.Items[0].SKU, 0) {
		t.Errorf("WooCommerce order holds NUL: %+v", w)
	}
}
