package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopify"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// TestCheckShops runs check on shops with API access: each API answers,
// each subscription is right, and the site had orders found only by
// reconciliation this week (WARN); then WooCommerce disables a webhook
// (FAIL) and the shop's token is revoked (FAIL naming the URL, no secret).
func TestCheckShops(t *testing.T) {
	f := newShopsFixture(t)
	if out, err := f.run(t, "shops", "subscribe", "--config", f.config, "--url", shopsURL); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "receiver.db")
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, r := range []store.ReconcileRun{
		{Platform: enroll.WooCommerce, Source: "https://shop.example.com/", Missing: 2, Stale: 1},
		{Platform: enroll.WooCommerce, Source: "https://shop.example.com/", Missing: 5, StartedAt: now.Add(-8 * 24 * time.Hour)},
		{Platform: enroll.Shopify, Source: "first.myshopify.com", Seen: 4},
	} {
		r.StartedBy = store.ReconcilePeriodic
		if r.StartedAt.IsZero() {
			r.StartedAt = now.Add(-time.Hour)
		}
		r.Since, r.FinishedAt = r.StartedAt.Add(-72*time.Hour), r.StartedAt
		if _, err := db.RecordReconcileRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	check := func() (string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		vars := map[string]string{"WEBHOOK_RECEIVER_DATABASE_URL": dbURL}
		err := runCommand(ctx, []string{"webhook-receiver", "check", "--config", f.config, "--url", shopsURL}, &environment{
			getenv: func(k string) string { return vars[k] }, stdout: &stdout, stderr: &stderr, httpClient: f.client})
		out := stdout.String() + stderr.String()
		for _, secret := range []string{shopifyToken, wooKey, wooSecret, "woo,commerce secret", "third-secret"} {
			if strings.Contains(out, secret) {
				t.Errorf("a secret is printed:\n%s", out)
			}
		}
		return out, err
	}

	out, _ := check() // the LMS is not configured: check fails for that
	wantLines(t, out,
		"ok   shop api     first.myshopify.com: API "+shopify.DefaultAPIVersion+" answered at https://first.myshopify.com/admin/api/"+shopify.DefaultAPIVersion+"/graphql.json",
		"ok   shop webhook first.myshopify.com ORDERS_CREATE active ("+shopsURL+"/webhooks/shopify/order/create)",
		"ok   shop webhook first.myshopify.com ORDERS_PAID active ("+shopsURL+"/webhooks/shopify/order/paid)",
		"ok   reconciled   first.myshopify.com: no order reached the store only through reconciliation in the last 7 days",
		"ok   shop api     https://shop.example.com/: API wc/v3 answered at https://shop.example.com/wp-json/wc/v3",
		"ok   shop webhook https://shop.example.com/ order.created active ("+shopsURL+"/webhooks/woocommerce/order/create)",
		"ok   shop webhook https://shop.example.com/ order.updated active ("+shopsURL+"/webhooks/woocommerce/order/update)",
		"warn reconciled   https://shop.example.com/: 3 order(s) reached the store only through reconciliation in the last 7 days (2 missing, 1 stale): its webhooks lost them")
	if strings.Contains(out, "third.myshopify.com") || strings.Contains(out, "FAIL shop") {
		t.Errorf("a shop without API access is checked, or a check failed:\n%s", out)
	}

	f.woo.DisableWebhook(f.woo.Webhooks()[0].ID)
	f.shopify.SetToken("another token")
	out, err = check()
	if err == nil {
		t.Fatalf("check passed:\n%s", out)
	}
	wantLines(t, out, "FAIL shop webhook https://shop.example.com/ order.created disabled ("+shopsURL+"/webhooks/woocommerce/order/create)")
	if !strings.Contains(out, "\nFAIL shop api     first.myshopify.com: POST https://first.myshopify.com/admin/api/"+shopify.DefaultAPIVersion+"/graphql.json: ") {
		t.Errorf("no FAIL line naming the shop's API:\n%s", out)
	}
}
