package admin

import (
	"net/url"
	"strings"
	"testing"
)

func TestBackTo(t *testing.T) {
	d := done{kind: "retried", n: 2}
	for _, tt := range []struct{ back, want string }{
		{"/admin/orders/7001?platform=shopify", "/admin/orders/7001?done=retried&n=2&platform=shopify"},
		{"/admin/orders?q=a%40b&done=resolved&n=9", "/admin/orders?done=retried&n=2&q=a%40b"},
		{"", "/admin/?done=retried&n=2"},
		{"/admin/%zz", "/admin/?done=retried&n=2"}, // unparsable: it used to panic
		{"/admin/%", "/admin/?done=retried&n=2"},
		{"https://evil.example/admin/", "/admin/?done=retried&n=2"},
		{"//evil.example/admin/", "/admin/?done=retried&n=2"},
		{"/admin/\\evil", "/admin/?done=retried&n=2"},
		{"/admin/\tx", "/admin/?done=retried&n=2"},
		{"/admin/orders#frag", "/admin/orders?done=retried&n=2"},
		{"/metrics", "/admin/?done=retried&n=2"},
	} {
		if got := backTo(tt.back, d); got != tt.want {
			t.Errorf("backTo(%q) = %q; want %q", tt.back, got, tt.want)
		}
	}
}

// FuzzBackTo: whatever the form's back field holds, an action returns to a
// console page of this site, saying what it did, and never panics.
func FuzzBackTo(f *testing.F) {
	for _, s := range []string{"/admin/", "/admin/orders?q=x", "/admin/%zz", "//x", "/admin/%2F%2Fevil", "https://x/admin/",
		"/admin/?done=resolved", "/admin/\x00", "/admin/#x", "/admin/;x", "/admin/..%2f..%2f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, back string) {
		got := backTo(back, done{kind: "resolved", n: 1})
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("backTo(%q) = %q, which does not parse: %v", back, got, err)
		}
		if !strings.HasPrefix(got, "/admin/") || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/admin/") {
			t.Fatalf("backTo(%q) = %q: not a console page of this site", back, got)
		}
		if q := u.Query(); q.Get("done") != "resolved" || q.Get("n") != "1" {
			t.Fatalf("backTo(%q) = %q: does not say what was done", back, got)
		}
	})
}
