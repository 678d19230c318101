package server

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCredentialHeadersAreMasked(t *testing.T) {
	h := http.Header{}
	for _, name := range []string{"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key", "X-Shopify-Access-Token",
		"X-Shopify-Hmac-Sha256", "X-Wc-Webhook-Signature", "X-Client-Secret", "X-Auth-User", "Apikey", "X-Session-Id"} {
		h.Set(name, "credential-value")
	}
	h.Set("X-Shopify-Topic", "orders/create")
	h.Set("Keep-Alive", "timeout=5")
	for name, got := range map[string]http.Header{"authenticated": maskHeaders(h), "unauthenticated": operatorHeaders(h)} {
		for k, v := range got {
			if strings.Contains(strings.Join(v, ""), "credential-value") {
				t.Errorf("%s: %s stored as %q", name, k, v)
			}
		}
	}
	if got := maskHeaders(h); got.Get("Keep-Alive") != "timeout=5" || got.Get("X-Shopify-Topic") != "orders/create" ||
		got.Get("Proxy-Authorization") != masked || got.Get("X-Api-Key") != masked {
		t.Errorf("authenticated headers: %v", got)
	}
}

func TestOperatorHeadersAreFewAndShort(t *testing.T) {
	h := http.Header{}
	for i := range 1000 {
		h.Set("X-Made-Up-"+strings.Repeat("a", i%50)+string(rune('a'+i%26)), strings.Repeat("v", 60))
	}
	h.Set("X-Shopify-Shop-Domain", "first.myshopify.com")
	h.Set("X-Shopify-Topic", strings.Repeat("t", 10000))
	h.Set("User-Agent", "Shopify-Captain-Hook")
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-"+strings.Repeat("n", 5000), "long name")
	for i := range 200 {
		h.Set("X-Wc-Extra-"+strings.Repeat("x", i%40)+string(rune('a'+i%26)), strings.Repeat("w", 200))
	}
	got := operatorHeaders(h)
	size := 0
	for k, v := range got {
		if len(v) != 1 || len(v[0]) > maxHeaderValue+len("…") || strings.HasPrefix(k, "X-Made-Up") || len(k) > maxHeaderName {
			t.Errorf("stored %s: %q", k, v)
		}
		size += len(k) + len(v[0])
	}
	if size > maxHeadersSize+len("…") {
		t.Errorf("stored %d bytes of headers; want at most %d", size, maxHeadersSize)
	}
	for _, name := range []string{"X-Shopify-Shop-Domain", "User-Agent", "Content-Type", "X-Shopify-Topic"} {
		if got.Get(name) == "" {
			t.Errorf("%s not stored: %v", name, got)
		}
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"shop.example.com", "shop.example.com"},
		{"a\tb\x1b[31mc", `a\x09b\x1b[31mc`},
		{"evil\u202etxt.exe", `evil\u202etxt.exe`},
		{"bad\xffutf8", `bad\xffutf8`},
		{`back\slash`, `back\\slash`},
		{"café", "café"},
	}
	for _, tt := range tests {
		if got := printable(tt.in, 100); got != tt.want {
			t.Errorf("printable(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
	long := printable(strings.Repeat("é", 500), 200)
	if len(long) > 200+len("…") || !utf8.ValidString(long) || !strings.HasSuffix(long, "…") {
		t.Errorf("cut to %d bytes: %q", len(long), long)
	}
}
