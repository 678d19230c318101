package cli_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// noRedirect shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func statusOf(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func TestConsoleIsOffUnlessConfigured(t *testing.T) {
	lms := edxtest.New(t)
	s := serve(t, baseEnv(t, lms, store.SQLite))
	for _, path := range []string{"/admin/", "/admin/login", "/admin/orders"} {
		if status, _ := statusOf(t, s.url+path); status != http.StatusNotFound {
			t.Errorf("GET %s without an admin password: %d; want 404", path, status)
		}
	}
}

func TestConsoleIsServedWhenConfigured(t *testing.T) {
	lms := edxtest.New(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	e := baseEnv(t, lms, store.SQLite)
	e["WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH"] = string(hash)
	s := serve(t, e)
	if status, loc := statusOf(t, s.url+"/admin/orders?q=1"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/login?next=") {
		t.Errorf("console without a session: %d %q; want 303 to the login page", status, loc)
	}
	if status, _ := statusOf(t, s.url+"/admin/login"); status != http.StatusOK {
		t.Errorf("login page: %d", status)
	}
	if status, loc := statusOf(t, s.url+"/admin"); status != http.StatusMovedPermanently || loc != "/admin/" {
		t.Errorf("/admin: %d %q; want 301 to /admin/", status, loc)
	}
	// Webhooks are not behind the console's session or origin checks.
	if status := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
		shopifyOrder(1, "course-v1:Org+X+1", "l@example.com")); status != http.StatusOK {
		t.Errorf("webhook with the console on: %d; want 200", status)
	}
	if strings.Contains(s.logs.String(), string(hash)) {
		t.Errorf("logs show the password hash")
	}
}
