package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
)

// shopHosts sends the requests for a configured shop's host to the fake
// serving it, through a transport that trusts the fake's certificate: the
// configuration names real-looking shops, as an operator's does.
type shopHosts map[string]struct {
	addr      string
	transport http.RoundTripper
}

func (h shopHosts) RoundTrip(req *http.Request) (*http.Response, error) {
	to, ok := h[req.URL.Host]
	if !ok {
		return nil, &http.ProtocolError{ErrorString: "test: no fake serves " + req.URL.Host}
	}
	req = req.Clone(req.Context())
	req.URL.Host, req.Host = to.addr, to.addr
	return to.transport.RoundTrip(req)
}

type shopsFixture struct {
	shopify *shopifytest.Shop
	woo     *wootest.Shop
	config  string
	client  *http.Client
}

const (
	shopsURL     = "https://webhooks.lms.example.com"
	wooKey       = "ck_SECRET_consumer_key"
	wooSecret    = "cs_SECRET_consumer_secret"
	shopifyToken = "shpat_SECRET_admin_token"
)

// newShopsFixture configures first.myshopify.com (require_payment) and
// https://shop.example.com/ with API access, and third.myshopify.com
// without, served by fakes.
func newShopsFixture(t *testing.T) *shopsFixture {
	sh, wc := shopifytest.New(t), wootest.New(t)
	sh.SetToken(shopifyToken)
	wc.ConsumerKey, wc.ConsumerSecret = wooKey, wooSecret
	config := filepath.Join(t.TempDir(), "config.yaml")
	yaml := `shopify:
  - shop_domain: first.myshopify.com
    secrets: [shopify-webhook-secret]
    require_payment: true
    api_token: ` + shopifyToken + `
  - shop_domain: third.myshopify.com
    secrets: [third-secret]
woocommerce:
  - source: https://shop.example.com/
    secrets: ["woo,commerce secret"]
    consumer_key: ` + wooKey + `
    consumer_secret: ` + wooSecret + `
`
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	hosts := shopHosts{}
	hosts["first.myshopify.com"] = struct {
		addr      string
		transport http.RoundTripper
	}{sh.Domain(), sh.Client().Transport}
	hosts["shop.example.com"] = struct {
		addr      string
		transport http.RoundTripper
	}{strings.TrimPrefix(wc.URL, "https://"), wc.Client().Transport}
	return &shopsFixture{shopify: sh, woo: wc, config: config, client: &http.Client{Transport: hosts}}
}

// run runs webhook-receiver with args, with no database configured.
func (f *shopsFixture) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	vars := map[string]string{"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "never.db")}
	err := runCommand(context.Background(), append([]string{"webhook-receiver"}, args...), &environment{
		getenv: func(k string) string { return vars[k] }, stdout: &stdout, stderr: &stderr, httpClient: f.client})
	out := stdout.String() + stderr.String()
	for _, secret := range []string{shopifyToken, wooKey, wooSecret, "woo,commerce secret", "third-secret"} {
		if strings.Contains(out, secret) || (err != nil && strings.Contains(err.Error(), secret)) {
			t.Errorf("a secret is printed:\n%s%v", out, err)
		}
	}
	if _, statErr := os.Stat(vars["WEBHOOK_RECEIVER_DATABASE_URL"][len("sqlite:"):]); statErr == nil {
		t.Error("the command created a database")
	}
	return out, err
}

func wantLines(t *testing.T, out string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		fields := strings.Fields(l)
		found := false
		for _, got := range strings.Split(out, "\n") {
			if strings.Join(strings.Fields(got), " ") == strings.Join(fields, " ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no line %q in:\n%s", l, out)
		}
	}
}

func TestShopsSubscribe(t *testing.T) {
	f := newShopsFixture(t)
	args := []string{"shops", "subscribe", "--config", f.config, "--url", shopsURL}

	out, err := f.run(t, append(args, "--dry-run")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantLines(t, out,
		"first.myshopify.com ORDERS_CREATE "+shopsURL+"/webhooks/shopify/order/create would create",
		"first.myshopify.com ORDERS_PAID "+shopsURL+"/webhooks/shopify/order/paid would create",
		"third.myshopify.com - - no api_token or client_id: skipped",
		"https://shop.example.com/ order.created "+shopsURL+"/webhooks/woocommerce/order/create would create",
		"https://shop.example.com/ order.updated "+shopsURL+"/webhooks/woocommerce/order/update would create")
	if len(f.shopify.Subscriptions())+len(f.woo.Webhooks()) != 0 {
		t.Fatal("--dry-run changed the shops")
	}

	out, err = f.run(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantLines(t, out,
		"first.myshopify.com ORDERS_CREATE "+shopsURL+"/webhooks/shopify/order/create created",
		"first.myshopify.com ORDERS_PAID "+shopsURL+"/webhooks/shopify/order/paid created",
		"https://shop.example.com/ order.created "+shopsURL+"/webhooks/woocommerce/order/create created",
		"https://shop.example.com/ order.updated "+shopsURL+"/webhooks/woocommerce/order/update created")

	// WooCommerce disables a webhook after failures, and the shop's
	// subscription is pointed at an old address.
	hooks := f.woo.Webhooks()
	f.woo.DisableWebhook(hooks[0].ID)
	f.shopify.PointSubscription(f.shopify.Subscriptions()[1].ID, "https://old.example.com/webhooks/shopify/order/paid")
	out, err = f.run(t, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantLines(t, out,
		"first.myshopify.com ORDERS_CREATE "+shopsURL+"/webhooks/shopify/order/create ok",
		"first.myshopify.com ORDERS_PAID "+shopsURL+"/webhooks/shopify/order/paid fixed address (was https://old.example.com/webhooks/shopify/order/paid)",
		"https://shop.example.com/ order.created "+shopsURL+"/webhooks/woocommerce/order/create re-enabled (was disabled)",
		"https://shop.example.com/ order.updated "+shopsURL+"/webhooks/woocommerce/order/update ok")

	out, err = f.run(t, args...)
	if err != nil || strings.Count(out, " ok\n") != 4 {
		t.Fatalf("third run: want every subscription ok: %v\n%s", err, out)
	}
	if n, m := len(f.shopify.Subscriptions()), len(f.woo.Webhooks()); n != 2 || m != 2 {
		t.Errorf("%d subscriptions and %d webhooks; want each created once", n, m)
	}
	for _, h := range f.woo.Webhooks() {
		if h.Status != "active" || h.Secret != "woo,commerce secret" {
			t.Errorf("webhook %+v: want active, signed with the site's first secret", h)
		}
	}
}

func TestShopsStatusCommand(t *testing.T) {
	f := newShopsFixture(t)
	f.shopify.AddSubscription("ORDERS_CREATE", shopsURL+"/webhooks/shopify/order/create")
	f.woo.AddWebhook(wootest.Webhook{Topic: "order.created", DeliveryURL: shopsURL + "/webhooks/woocommerce/order/create"})
	f.woo.DisableWebhook(f.woo.AddWebhook(wootest.Webhook{Topic: "order.updated", DeliveryURL: shopsURL + "/webhooks/woocommerce/order/update"}))

	out, err := f.run(t, "shops", "status", "--config", f.config, "--url", shopsURL)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantLines(t, out,
		"first.myshopify.com ORDERS_CREATE "+shopsURL+"/webhooks/shopify/order/create active",
		"first.myshopify.com ORDERS_PAID "+shopsURL+"/webhooks/shopify/order/paid missing",
		"third.myshopify.com - - no api_token or client_id: skipped",
		"https://shop.example.com/ order.created "+shopsURL+"/webhooks/woocommerce/order/create active",
		"https://shop.example.com/ order.updated "+shopsURL+"/webhooks/woocommerce/order/update disabled")

	out, err = f.run(t, "shops", "status", "--config", f.config, "--shop", "https://SHOP.example.com")
	if err != nil || strings.Contains(out, "myshopify") || !strings.Contains(out, "disabled") {
		t.Errorf("--shop the site: %v\n%s", err, out)
	}
}

func TestShopsFailures(t *testing.T) {
	f := newShopsFixture(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no --url", []string{"shops", "subscribe", "--config", f.config}, "--url is required"},
		{"plain http --url", []string{"shops", "subscribe", "--config", f.config, "--url", "http://webhooks.lms.example.com"}, "--url: must be"},
		{"relative --url", []string{"shops", "subscribe", "--config", f.config, "--url", "webhooks.lms.example.com"}, "--url: must be"},
		{"unknown shop", []string{"shops", "status", "--config", f.config, "--shop", "nope.myshopify.com"}, `"nope.myshopify.com" is configured`},
		{"unknown subcommand", []string{"shops", "fix"}, `unknown subcommand "fix"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := f.run(t, tt.args...)
			if err == nil || !strings.Contains(out+err.Error(), tt.want) {
				t.Errorf("error %v, output:\n%s\nwant %q", err, out, tt.want)
			}
		})
	}

	t.Run("a shop failing", func(t *testing.T) {
		f.shopify.SetToken("another token")
		out, err := f.run(t, "shops", "subscribe", "--config", f.config, "--url", shopsURL)
		if err == nil || err.Error() != "1 shop(s) failed" {
			t.Errorf("error %v; want 1 shop(s) failed", err)
		}
		if !strings.Contains(out, "first.myshopify.com") || !strings.Contains(out, "FAILED") {
			t.Errorf("the failure is not reported:\n%s", out)
		}
		wantLines(t, out, "https://shop.example.com/ order.created "+shopsURL+"/webhooks/woocommerce/order/create created")
	})

	t.Run("help", func(t *testing.T) {
		out, err := f.run(t, "help", "shops")
		if err != nil || !strings.Contains(out, "subscribe [--url") {
			t.Errorf("help: %v\n%s", err, out)
		}
	})
}

// TestShopsSubscribePublicURL subscribes without --url: the configured
// public URL is the address, and --url still wins over it.
func TestShopsSubscribePublicURL(t *testing.T) {
	f := newShopsFixture(t)
	data, err := os.ReadFile(f.config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.config, append([]byte("public_url: "+shopsURL+"/\n"), data...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := f.run(t, "shops", "subscribe", "--config", f.config, "--shop", "https://shop.example.com")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantLines(t, out, "https://shop.example.com/ order.created "+shopsURL+"/webhooks/woocommerce/order/create created")
	out, err = f.run(t, "shops", "status", "--config", f.config, "--shop", "https://shop.example.com", "--url", "https://other.example.com")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantLines(t, out, "https://shop.example.com/ order.created "+shopsURL+"/webhooks/woocommerce/order/create points elsewhere",
		"https://shop.example.com/ order.created https://other.example.com/webhooks/woocommerce/order/create missing")
}

func TestShopsSubscribeWithClientCredentials(t *testing.T) {
	f := newShopsFixture(t)
	f.shopify.SetToken("")
	f.shopify.SetClientCredentials("dev-dashboard-app", shopifyToken, 24*time.Hour) // a secret the output must not show
	f.config = filepath.Join(t.TempDir(), "config.yaml")
	yaml := "shopify:\n  - shop_domain: first.myshopify.com\n    secrets: [shopify-webhook-secret]\n" +
		"    client_id: dev-dashboard-app\n    client_secret: " + shopifyToken + "\n"
	if err := os.WriteFile(f.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := f.run(t, "shops", "subscribe", "--config", f.config, "--url", shopsURL)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantLines(t, out, "first.myshopify.com ORDERS_CREATE "+shopsURL+"/webhooks/shopify/order/create created")
	if n := f.shopify.TokensIssued(); n != 1 {
		t.Errorf("%d tokens asked for; want 1", n)
	}
}
