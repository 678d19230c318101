package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
)

// runDB runs webhook-receiver with args on the database at url.
func (f *shopsFixture) runDB(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	vars := map[string]string{"WEBHOOK_RECEIVER_DATABASE_URL": url, "USER": "tester"}
	err := runCommand(context.Background(), append([]string{"webhook-receiver"}, args...), &environment{
		getenv: func(k string) string { return vars[k] }, stdout: &stdout, stderr: &stderr, httpClient: f.client})
	out := stdout.String() + stderr.String()
	for _, secret := range []string{shopifyToken, wooKey, wooSecret} {
		if strings.Contains(out, secret) || (err != nil && strings.Contains(err.Error(), secret)) {
			t.Errorf("a secret is printed:\n%s%v", out, err)
		}
	}
	return out, err
}

func TestReconcileCommand(t *testing.T) {
	f := newShopsFixture(t)
	url := "sqlite:" + filepath.Join(t.TempDir(), "receiver.db")
	if out, err := f.runDB(t, url, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	paid := f.shopify.AddOrder(shopifytest.Order{Email: "a@example.com", Lines: []shopifytest.Line{{SKU: "course-v1:A+B+C"}}})
	unpaid := f.shopify.AddOrder(shopifytest.Order{Email: "b@example.com", FinancialStatus: "PENDING",
		Lines: []shopifytest.Line{{SKU: "course-v1:A+B+C"}}})
	wooID, _ := f.woo.AddOrder(wootest.NewOrder{Email: "w@example.com", Paid: true, Lines: []wootest.Line{{SKU: "course-v1:A+B+W"}}})
	// The WooCommerce fake's clock starts on 2026-12-01; Shopify's is today's.
	reconcile := []string{"reconcile", "--config", f.config, "--since", "2026-11-30T00:00:00Z"}

	out, err := f.runDB(t, url, append(reconcile, "--dry-run")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"first.myshopify.com: seen 2, missing 2, stale 0, refunds 0, unpaid 0, since 2026-11-30T00:00:00Z (dry run: nothing stored)",
		"first.myshopify.com: order " + itoa(paid.ID) + " missing: would be stored",
		"third.myshopify.com: no api_token or client_id: skipped",
		"https://shop.example.com/: order " + itoa(wooID) + " missing: would be stored",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no line %q in:\n%s", want, out)
		}
	}

	out, err = f.runDB(t, url, append(reconcile, "--json", "--shop", "first.myshopify.com")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var report struct {
		Shop    string `json:"shop"`
		Missing int    `json:"missing"`
		DryRun  bool   `json:"dry_run"`
		Found   []struct {
			OrderID    string `json:"order_id"`
			Reason     string `json:"reason"`
			DeliveryID string `json:"delivery_id"`
			Enqueued   int    `json:"enqueued"`
		} `json:"found"`
	}
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if report.Shop != "first.myshopify.com" || report.Missing != 2 || report.DryRun || len(report.Found) != 2 ||
		report.Found[0].OrderID != itoa(paid.ID) || report.Found[0].Enqueued != 1 || report.Found[0].DeliveryID == "" ||
		report.Found[1].OrderID != itoa(unpaid.ID) || report.Found[1].Enqueued != 0 {
		t.Errorf("reconcile --json: %+v\n%s", report, out)
	}
	out, err = f.runDB(t, url, "deliveries", "list")
	if err != nil || strings.Count(out, " reconcile ") != 2 {
		t.Errorf("deliveries: %v\n%s", err, out)
	}

	// A shop whose API refuses us fails the command; the others are
	// reconciled all the same.
	f.shopify.SetToken("another token")
	out, err = f.runDB(t, url, append(reconcile, "--since", "72h")...)
	if err == nil || !strings.Contains(out, "first.myshopify.com: FAILED:") ||
		!strings.Contains(out, "https://shop.example.com/: seen 0") {
		t.Errorf("a failing shop: %v\n%s", err, out)
	}
	if _, err := f.runDB(t, url, append(reconcile, "--since", "soon")...); err == nil {
		t.Error("--since soon accepted")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
