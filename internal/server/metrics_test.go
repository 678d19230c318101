package server_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics/metricstest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

func TestDeliveryMetrics(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, func(c *config.Config) { c.MaxBodyBytes = 4096 })
		const shopify, woo = "/webhooks/shopify/order/create", "/webhooks/woocommerce/order/create"
		big := `{"id": 1, "note": "` + strings.Repeat("x", 5000) + `"}`
		requests := []struct {
			path, contentType string
			headers           map[string]string
			body              string
			want              int
		}{
			{shopify, "application/json", shopifyHeaders(shopDomain, shopSecret, shopifyOrder), shopifyOrder, 200},
			{shopify, "application/json", shopifyHeaders(shopDomain, shopSecret, shopifyOrder), shopifyOrder, 200}, // duplicate
			{shopify, "application/json", without(shopifyHeaders(shopDomain, shopSecret, shopifyOrder), "X-Shopify-Shop-Domain"), shopifyOrder, 400},
			{shopify, "application/json", without(shopifyHeaders(shopDomain, shopSecret, shopifyOrder), "X-Shopify-Hmac-Sha256"), shopifyOrder, 400},
			{shopify, "application/json", shopifyHeaders("other.myshopify.com", shopSecret, shopifyOrder), shopifyOrder, 403},
			{shopify, "application/json", shopifyHeaders(shopDomain, "nope", shopifyOrder), shopifyOrder, 403},
			{shopify, "application/json", shopifyHeaders(shopDomain, shopSecret, "{not json"), "{not json", 400},
			{shopify, "application/json", shopifyHeaders(shopDomain, shopSecret, big), big, 413},
			{woo, "application/x-www-form-urlencoded", nil, "webhook_id=12", 200},
			{woo, "application/x-www-form-urlencoded", nil, "foo=bar", 400},
			{woo, "text/plain", wooHeaders(siteURL, siteSecret, wooOrder), wooOrder, 400},
			{woo, "application/json", wooHeaders(paidSite, paidSecret, unpaidWooOrder), unpaidWooOrder, 402},
			{woo, "application/json", wooHeaders(freeSite, freeSecret, unpaidWooOrder), unpaidWooOrder, 200},
			{woo, "application/json", wooHeaders("https://evil.example.com/", siteSecret, wooOrder), wooOrder, 403},
		}
		for i, r := range requests {
			if got := f.post(t, r.path, r.contentType, r.headers, r.body); got != r.want {
				t.Fatalf("request %d: status %d, want %d", i, got, r.want)
			}
		}
		f.db.Close()
		if got := f.post(t, woo, "application/json", wooHeaders(siteURL, siteSecret, wooOrder), wooOrder); got != 503 {
			t.Fatalf("with the database closed: status %d, want 503", got)
		}

		got := metricstest.Scrape(t, f.srv.URL+"/metrics")
		want := map[string]float64{
			`webhook_receiver_deliveries_total{outcome="accepted",platform="shopify"}`:                           1,
			`webhook_receiver_deliveries_total{outcome="duplicate",platform="shopify"}`:                          1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="shopify",reason="missing_header"}`:   2,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="shopify",reason="unknown_shop"}`:     1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="shopify",reason="bad_signature"}`:    1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="shopify",reason="bad_json"}`:         1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="shopify",reason="too_large"}`:        1,
			`webhook_receiver_deliveries_total{outcome="ping",platform="woocommerce"}`:                           1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="woocommerce",reason="bad_request"}`:  2,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="woocommerce",reason="unpaid"}`:       1,
			`webhook_receiver_deliveries_total{outcome="accepted",platform="woocommerce"}`:                       1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="woocommerce",reason="unknown_shop"}`: 1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="woocommerce",reason="store_error"}`:  1,
			`webhook_receiver_ingest_duration_seconds_count{platform="shopify"}`:                                 8,
			`webhook_receiver_ingest_duration_seconds_count{platform="woocommerce"}`:                             7,
		}
		if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
			t.Errorf("deliveries (-want +got):\n%s", diff)
		}
		var total float64
		for series, v := range got {
			if strings.HasPrefix(series, "webhook_receiver_deliveries_total{") {
				total += v
			}
		}
		if total != float64(len(requests)+1) {
			t.Errorf("%v deliveries counted, want %d: one per request", total, len(requests)+1)
		}
	})
}
