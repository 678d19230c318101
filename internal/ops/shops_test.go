package ops_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
)

// routes sends each request through the transport of the fake serving its
// host: one client that trusts both fakes' certificates.
type routes map[string]http.RoundTripper

func (r routes) RoundTrip(req *http.Request) (*http.Response, error) {
	if t, ok := r[req.URL.Host]; ok {
		return t.RoundTrip(req)
	}
	return http.DefaultTransport.RoundTrip(req)
}

type fakeShops struct {
	shopify *shopifytest.Shop
	woo     *wootest.Shop
	cfg     config.Config
	client  *http.Client
}

// newFakeShops configures a Shopify shop (payment and refunds on: four
// topics) and a WooCommerce site, both with API access, on fakes.
func newFakeShops(t *testing.T) *fakeShops {
	sh, wc := shopifytest.New(t), wootest.New(t)
	wooHost := strings.TrimPrefix(wc.URL, "https://")
	return &fakeShops{shopify: sh, woo: wc,
		client: &http.Client{Transport: routes{sh.Domain(): sh.Client().Transport, wooHost: wc.Client().Transport}},
		cfg: config.Config{
			Shopify: []config.Shop{{Domain: sh.Domain(), Secrets: []config.Secret{"s"}, RequirePayment: true,
				UnenrollOnRefund: true, APIToken: shopifytest.Token}},
			WooCommerce: []config.Site{{Source: wc.URL + "/", Secrets: []config.Secret{"woo secret"},
				ConsumerKey: config.Secret(wc.ConsumerKey), ConsumerSecret: config.Secret(wc.ConsumerSecret)}},
		}}
}

const base = "https://webhooks.lms.example.com"

func (f *fakeShops) subscribe(t *testing.T, dryRun bool) []ops.ShopReport {
	t.Helper()
	u, err := ops.ParseReceiverURL(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	reports, err := ops.SubscribeShops(context.Background(), f.cfg, ops.ShopsOptions{Base: u, DryRun: dryRun, HTTPClient: f.client})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.Shop, r.Err)
		}
	}
	return reports
}

// states maps "topic address" to the state of each line of the reports.
func states(reports []ops.ShopReport) map[string]string {
	out := map[string]string{}
	for _, r := range reports {
		for _, l := range r.Lines {
			out[l.Topic+" "+l.Address] = l.State
		}
	}
	return out
}

func wantStates(t *testing.T, reports []ops.ShopReport, want map[string]string) {
	t.Helper()
	got := states(reports)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q; want %q (all: %q)", k, got[k], v, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("lines %q; want %d", got, len(want))
	}
}

func TestSubscribeTwiceCreatesEachOnce(t *testing.T) {
	f := newFakeShops(t)
	all := func(state string) map[string]string {
		return map[string]string{
			"ORDERS_CREATE " + base + "/webhooks/shopify/order/create":       state,
			"ORDERS_PAID " + base + "/webhooks/shopify/order/paid":           state,
			"ORDERS_CANCELLED " + base + "/webhooks/shopify/order/cancelled": state,
			"REFUNDS_CREATE " + base + "/webhooks/shopify/refund/create":     state,
			"order.created " + base + "/webhooks/woocommerce/order/create":   state,
			"order.updated " + base + "/webhooks/woocommerce/order/update":   state,
		}
	}
	wantStates(t, f.subscribe(t, true), all("would create"))
	if n, m := len(f.shopify.Subscriptions()), len(f.woo.Webhooks()); n+m != 0 {
		t.Fatalf("--dry-run made %d subscriptions and %d webhooks", n, m)
	}
	wantStates(t, f.subscribe(t, false), all("created"))
	wantStates(t, f.subscribe(t, false), all("ok"))
	if n := len(f.shopify.Subscriptions()); n != 4 {
		t.Errorf("%d Shopify subscriptions; want 4: %+v", n, f.shopify.Subscriptions())
	}
	hooks := f.woo.Webhooks()
	if len(hooks) != 2 {
		t.Fatalf("%d webhooks; want 2: %+v", len(hooks), hooks)
	}
	for _, h := range hooks {
		if h.Status != "active" || h.Secret != "woo secret" {
			t.Errorf("webhook %+v: want active, signed with the site's secret", h)
		}
	}
}

func TestSubscribeTopicsFollowSettings(t *testing.T) {
	f := newFakeShops(t)
	f.cfg.Shopify[0].RequirePayment, f.cfg.Shopify[0].UnenrollOnRefund = false, false
	f.cfg.WooCommerce = nil
	wantStates(t, f.subscribe(t, false), map[string]string{"ORDERS_CREATE " + base + "/webhooks/shopify/order/create": "created"})
}

func TestSubscribeRepairs(t *testing.T) {
	f := newFakeShops(t)
	f.cfg.Shopify[0].RequirePayment, f.cfg.Shopify[0].UnenrollOnRefund = false, false
	old := f.shopify.AddSubscription("ORDERS_CREATE", "https://old-host.example.com/webhooks/shopify/order/create")
	erp := f.shopify.AddSubscription("ORDERS_CREATE", "https://erp.example.com/hooks/orders")
	created := f.woo.AddWebhook(wootest.Webhook{Topic: "order.created", DeliveryURL: base + "/webhooks/woocommerce/order/create", Secret: "woo secret"})
	f.woo.DisableWebhook(created)
	updated := f.woo.AddWebhook(wootest.Webhook{Topic: "order.updated", DeliveryURL: "https://old-host.example.com/webhooks/woocommerce/order/update",
		Secret: "woo secret", Status: "paused"})

	wantStates(t, f.subscribe(t, true), map[string]string{
		"ORDERS_CREATE " + base + "/webhooks/shopify/order/create":     "would fix address (now " + old.URI + ")",
		"order.created " + base + "/webhooks/woocommerce/order/create": "would re-enable (now disabled)",
		"order.updated " + base + "/webhooks/woocommerce/order/update": "would fix address (now https://old-host.example.com/webhooks/woocommerce/order/update), would re-enable (now paused)",
	})
	for _, h := range f.woo.Webhooks() {
		if h.Status == "active" {
			t.Errorf("--dry-run changed webhook %+v", h)
		}
	}
	wantStates(t, f.subscribe(t, false), map[string]string{
		"ORDERS_CREATE " + base + "/webhooks/shopify/order/create":     "fixed address (was " + old.URI + ")",
		"order.created " + base + "/webhooks/woocommerce/order/create": "re-enabled (was disabled)",
		"order.updated " + base + "/webhooks/woocommerce/order/update": "fixed address (was https://old-host.example.com/webhooks/woocommerce/order/update), re-enabled (was paused)",
	})
	subs := f.shopify.Subscriptions()
	if len(subs) != 2 || subs[0].URI != base+"/webhooks/shopify/order/create" || subs[1].URI != erp.URI {
		t.Errorf("subscriptions %+v: want the old one moved, the other app's left alone", subs)
	}
	for _, h := range f.woo.Webhooks() {
		if h.Status != "active" || (h.ID != created && h.ID != updated) {
			t.Errorf("webhook %+v: want the two re-enabled, none created", h)
		}
	}
}

func TestShopsWithoutCredentialsAreSkipped(t *testing.T) {
	f := newFakeShops(t)
	f.cfg.Shopify[0].APIToken = ""
	f.cfg.WooCommerce[0].ConsumerKey, f.cfg.WooCommerce[0].ConsumerSecret = "", ""
	reports := f.subscribe(t, false)
	if len(reports) != 2 || reports[0].Skipped != "no api_token or client_id: skipped" || reports[1].Skipped != "no consumer_key: skipped" {
		t.Errorf("reports %+v", reports)
	}
	if len(f.shopify.Requests()) != 0 || len(f.woo.Requests()) != 0 {
		t.Error("a shop without credentials was called")
	}
}

func TestOneShopFailingLeavesTheOthers(t *testing.T) {
	f := newFakeShops(t)
	f.cfg.Shopify[0].APIToken = "shpat_WRONG_TOKEN"
	u, _ := ops.ParseReceiverURL(base)
	reports, err := ops.SubscribeShops(context.Background(), f.cfg, ops.ShopsOptions{Base: u, HTTPClient: f.client})
	if err != nil {
		t.Fatal(err)
	}
	if ops.Failed(reports) != 1 || reports[0].Err == nil || reports[1].Err != nil || len(reports[1].Lines) != 2 {
		t.Fatalf("reports %+v: want the shop failed and the site done", reports)
	}
	if strings.Contains(reports[0].Err.Error(), "WRONG") {
		t.Errorf("the error shows the token: %v", reports[0].Err)
	}
}

func TestShopsStatus(t *testing.T) {
	f := newFakeShops(t)
	f.cfg.Shopify[0].RequirePayment, f.cfg.Shopify[0].UnenrollOnRefund = true, false
	f.shopify.AddSubscription("ORDERS_CREATE", base+"/webhooks/shopify/order/create")
	f.shopify.AddSubscription("ORDERS_PAID", "https://elsewhere.example.com/paid")
	f.woo.AddWebhook(wootest.Webhook{Topic: "order.created", DeliveryURL: base + "/webhooks/woocommerce/order/create"})
	f.woo.DisableWebhook(f.woo.AddWebhook(wootest.Webhook{Topic: "order.updated", DeliveryURL: base + "/webhooks/woocommerce/order/update"}))
	f.woo.AddWebhook(wootest.Webhook{Topic: "product.updated", DeliveryURL: "https://pim.example.com/x", Status: "paused"})

	u, _ := ops.ParseReceiverURL(base)
	for _, b := range []struct {
		name    string
		opts    ops.ShopsOptions
		missing string
	}{{"with --url", ops.ShopsOptions{Base: u}, base + "/webhooks/shopify/order/paid"}, {"without", ops.ShopsOptions{}, ""}} {
		t.Run(b.name, func(t *testing.T) {
			b.opts.HTTPClient = f.client
			reports, err := ops.ShopsStatus(context.Background(), f.cfg, b.opts)
			if err != nil || ops.Failed(reports) != 0 {
				t.Fatal(err, reports)
			}
			wantStates(t, reports, map[string]string{
				"ORDERS_CREATE " + base + "/webhooks/shopify/order/create":     "active",
				"ORDERS_PAID https://elsewhere.example.com/paid":               "points elsewhere",
				"ORDERS_PAID " + b.missing:                                     "missing",
				"order.created " + base + "/webhooks/woocommerce/order/create": "active",
				"order.updated " + base + "/webhooks/woocommerce/order/update": "disabled",
				"product.updated https://pim.example.com/x":                    "paused",
			})
		})
	}
}

func TestShopsNamedByShop(t *testing.T) {
	f := newFakeShops(t)
	reports, err := ops.ShopsStatus(context.Background(), f.cfg, ops.ShopsOptions{Shop: f.cfg.WooCommerce[0].Source, HTTPClient: f.client})
	if err != nil || len(reports) != 1 || reports[0].Shop != f.cfg.WooCommerce[0].Source {
		t.Errorf("--shop the site: %+v, %v", reports, err)
	}
	if _, err := ops.ShopsStatus(context.Background(), f.cfg, ops.ShopsOptions{Shop: "nope.myshopify.com"}); err == nil {
		t.Error("an unknown --shop was not refused")
	}
}

func TestParseReceiverURL(t *testing.T) {
	for _, bad := range []string{"", "http://webhooks.example.com", "webhooks.example.com", "https://", "https://h/x?y=1", "https://u:p@h"} {
		if _, err := ops.ParseReceiverURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	u, err := ops.ParseReceiverURL("https://h.example.com/prefix/")
	if err != nil || u.String() != "https://h.example.com/prefix" {
		t.Errorf("got %v, %v", u, err)
	}
}

func TestSubscribeWithClientCredentials(t *testing.T) {
	f := newFakeShops(t)
	f.shopify.SetToken("")
	f.shopify.SetClientCredentials("app-id", "app-secret", 24*time.Hour)
	f.cfg.Shopify[0].APIToken = ""
	f.cfg.Shopify[0].ClientID, f.cfg.Shopify[0].ClientSecret = "app-id", "app-secret"
	f.cfg.Shopify[0].RequirePayment, f.cfg.Shopify[0].UnenrollOnRefund = false, false
	f.cfg.WooCommerce = nil
	wantStates(t, f.subscribe(t, false), map[string]string{"ORDERS_CREATE " + base + "/webhooks/shopify/order/create": "created"})
	if n := f.shopify.TokensIssued(); n != 1 {
		t.Errorf("%d tokens asked for; want 1", n)
	}
}
