package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/server"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

const (
	shopDomain = "first.myshopify.com"
	shopSecret = "shopify-secret"
	oldSecret  = "shopify-old-secret"
	siteURL    = "https://shop.example.com/"
	siteSecret = "woo-secret"
	paidSite   = "https://paid.example.com"
	paidSecret = "paid-secret"
	freeSite   = "https://lenient.example.com"
	freeSecret = "lenient-secret"
)

const shopifyOrder = `{"id": 5834765623456, "email": "buyer@example.com", "customer": {"email": "buyer@example.com"},
 "line_items": [{"id": 1, "sku": "course-v1:Org+A+1", "properties": [{"name": "email", "value": "learner@example.com"}]},
                {"id": 2, "sku": "course-v1:Org+B+1", "properties": []}]}`

// nulOrder is valid JSON that PostgreSQL text columns would refuse as is.
const nulOrder = `{"id": 77, "email": "b\u0000@example.com", "line_items": [{"id": 1, "sku": "course-v1:Org+A+1",
 "properties": [{"name": "email", "value": "l\u0000@example.com"}]}]}`

const wooOrder = `{"id": 4242, "date_paid_gmt": "2026-11-25T10:00:00", "billing": {"email": "buyer@example.com"},
 "line_items": [{"id": 7, "sku": "course-v1:Org+A+1", "meta_data": [{"key": "_alg_wc_pif_global",
   "value": [{"type": "email", "_value": "learner@example.com"}]}]}]}`

const unpaidWooOrder = `{"id": 4343, "date_paid_gmt": null, "billing": {"email": "buyer@example.com"},
 "line_items": [{"id": 8, "sku": "course-v1:Org+A+1", "meta_data": []}]}`

type fixture struct {
	db         *store.DB
	srv        *httptest.Server
	rejections *server.Rejections
}

func newFixture(t *testing.T, d store.Dialect, edit ...func(*config.Config)) *fixture {
	t.Helper()
	cfg := config.Default()
	cfg.Shopify = []config.Shop{{Domain: shopDomain, Secrets: []config.Secret{shopSecret, oldSecret}}}
	cfg.WooCommerce = []config.Site{
		{Source: siteURL, Secrets: []config.Secret{siteSecret}},
		{Source: paidSite, Secrets: []config.Secret{paidSecret}, RequirePayment: true},
		{Source: freeSite, Secrets: []config.Secret{freeSecret}, RequirePayment: true, AcceptUnpaid: true},
	}
	for _, e := range edit {
		e(&cfg)
	}
	db := storetest.Open(t, d)
	if err := jobs.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	queue, err := jobs.New(db, nil, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	writer := db.NewWriter(queue.Enqueue, 2, 64)
	m := metrics.New(metrics.Options{Logger: logger})
	rejections := server.NewRejections(writer, logger)
	srv := httptest.NewServer(server.NewServer(server.Deps{Logger: logger, DB: db, Writer: writer, Config: cfg, Metrics: m,
		Rejections: rejections}))
	t.Cleanup(srv.Close)
	t.Cleanup(writer.Close)
	t.Cleanup(rejections.Close)
	return &fixture{db: db, srv: srv, rejections: rejections}
}

// post sends a request and returns the status code.
func (f *fixture) post(t *testing.T, path, contentType string, headers map[string]string, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func shopifyHeaders(domain, secret, body string) map[string]string {
	return map[string]string{
		"X-Shopify-Shop-Domain": domain,
		"X-Shopify-Hmac-Sha256": webhook.Sign([]byte(secret), []byte(body)),
		"X-Shopify-Topic":       "orders/create",
		"X-Shopify-Webhook-Id":  webhookID(body), // Shopify's retries of a delivery send it again
		"X-Shopify-Api-Version": "2025-07",
	}
}

// webhookID is the X-Shopify-Webhook-Id of a test delivery: one for each
// body, as each delivery of Shopify's has its own.
func webhookID(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:16])
}

func wooHeaders(source, secret, body string) map[string]string {
	return map[string]string{
		"X-WC-Webhook-Source":    source,
		"X-WC-Webhook-Signature": webhook.Sign([]byte(secret), []byte(body)),
		"X-WC-Webhook-Topic":     "order.created",
	}
}

func without(h map[string]string, key string) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func TestShopifyStatusCodes(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		const path = "/webhooks/shopify/order/create"
		good := shopifyHeaders(shopDomain, shopSecret, shopifyOrder)
		tests := []struct {
			name    string
			path    string
			headers map[string]string
			body    string
			want    int
		}{
			{"accepted", path, good, shopifyOrder, 200},
			{"trailing slash", path + "/", shopifyHeaders(shopDomain, shopSecret, shopifyOrder), shopifyOrder, 200},
			{"previous secret during rotation", path, shopifyHeaders(shopDomain, oldSecret, shopifyOrder), shopifyOrder, 200},
			{"domain case-insensitive", path, shopifyHeaders("FIRST.myshopify.com", shopSecret, shopifyOrder), shopifyOrder, 200},
			{"missing domain", path, without(good, "X-Shopify-Shop-Domain"), shopifyOrder, 400},
			{"unknown domain", path, shopifyHeaders("other.myshopify.com", shopSecret, shopifyOrder), shopifyOrder, 403},
			{"missing signature", path, without(good, "X-Shopify-Hmac-Sha256"), shopifyOrder, 400},
			{"wrong secret", path, shopifyHeaders(shopDomain, "nope", shopifyOrder), shopifyOrder, 403},
			{"tampered body", path, good, strings.Replace(shopifyOrder, "learner@", "thief@", 1), 403},
			{"invalid json", path, shopifyHeaders(shopDomain, shopSecret, "{not json"), "{not json", 400},
			{"not an order", path, shopifyHeaders(shopDomain, shopSecret, `{"foo": 1}`), `{"foo": 1}`, 400},
			{"NUL in the learner email", path, shopifyHeaders(shopDomain, shopSecret, nulOrder), nulOrder, 200},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, d)
				if got := f.post(t, tt.path, "application/json", tt.headers, tt.body); got != tt.want {
					t.Errorf("status = %d; want %d", got, tt.want)
				}
			})
		}
	})
}

func TestWooCommerceStatusCodes(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		good := wooHeaders(siteURL, siteSecret, wooOrder)
		tests := []struct {
			name        string
			path        string
			contentType string
			headers     map[string]string
			body        string
			want        int
		}{
			{"accepted", "/webhooks/woocommerce/order/create", "application/json", good, wooOrder, 200},
			{"update endpoint", "/webhooks/woocommerce/order/update", "application/json", good, wooOrder, 200},
			{"trailing slash", "/webhooks/woocommerce/order/update/", "application/json; charset=utf-8", good, wooOrder, 200},
			{"source without trailing slash", "/webhooks/woocommerce/order/create", "application/json",
				wooHeaders("https://shop.example.com", siteSecret, wooOrder), wooOrder, 200},
			{"ping", "/webhooks/woocommerce/order/create", "application/x-www-form-urlencoded", nil, "webhook_id=12", 200},
			{"form without webhook_id", "/webhooks/woocommerce/order/create", "application/x-www-form-urlencoded", good, "foo=bar", 400},
			{"other content type", "/webhooks/woocommerce/order/create", "text/plain", good, wooOrder, 400},
			{"no content type: read as JSON", "/webhooks/woocommerce/order/create", "", good, wooOrder, 200},
			{"missing source", "/webhooks/woocommerce/order/create", "application/json", without(good, "X-WC-Webhook-Source"), wooOrder, 400},
			{"unknown source", "/webhooks/woocommerce/order/create", "application/json",
				wooHeaders("https://evil.example.com/", siteSecret, wooOrder), wooOrder, 403},
			{"missing signature", "/webhooks/woocommerce/order/create", "application/json", without(good, "X-WC-Webhook-Signature"), wooOrder, 400},
			{"wrong signature", "/webhooks/woocommerce/order/create", "application/json",
				wooHeaders(siteURL, "nope", wooOrder), wooOrder, 403},
			{"invalid json", "/webhooks/woocommerce/order/create", "application/json", wooHeaders(siteURL, siteSecret, "[1,"), "[1,", 400},
			{"no id", "/webhooks/woocommerce/order/create", "application/json", wooHeaders(siteURL, siteSecret, `{"status":"x"}`), `{"status":"x"}`, 400},
			{"unpaid, payment not required", "/webhooks/woocommerce/order/create", "application/json",
				wooHeaders(siteURL, siteSecret, unpaidWooOrder), unpaidWooOrder, 200},
			{"unpaid, payment required", "/webhooks/woocommerce/order/create", "application/json",
				wooHeaders(paidSite, paidSecret, unpaidWooOrder), unpaidWooOrder, 402},
			{"paid, payment required", "/webhooks/woocommerce/order/create", "application/json",
				wooHeaders(paidSite, paidSecret, wooOrder), wooOrder, 200},
			{"unpaid, accepted while awaiting payment", "/webhooks/woocommerce/order/create", "application/json",
				wooHeaders(freeSite, freeSecret, unpaidWooOrder), unpaidWooOrder, 200},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, d)
				if got := f.post(t, tt.path, tt.contentType, tt.headers, tt.body); got != tt.want {
					t.Errorf("status = %d; want %d", got, tt.want)
				}
			})
		}
	})
}

func TestMethodsAndHealth(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		tests := []struct {
			method, path string
			want         int
		}{
			{"GET", "/webhooks/shopify/order/create", 405},
			{"PUT", "/webhooks/woocommerce/order/create/", 405},
			{"DELETE", "/webhooks/woocommerce/order/update", 405},
			{"GET", "/healthz", 200},
			{"GET", "/readyz", 200},
			{"POST", "/healthz", 405},
			{"GET", "/nothing", 404},
		}
		for _, tt := range tests {
			req, _ := http.NewRequest(tt.method, f.srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s = %d; want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		}
	})
}

func TestReadyFailsWithoutDatabase(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		f.db.Close()
		resp, err := http.Get(f.srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/readyz = %d with the database closed; want 503", resp.StatusCode)
		}
		// A webhook that cannot be stored must not be acknowledged.
		h := shopifyHeaders(shopDomain, shopSecret, shopifyOrder)
		if got := f.post(t, "/webhooks/shopify/order/create", "application/json", h, shopifyOrder); got < 500 {
			t.Fatalf("webhook with the database closed = %d; want 5xx", got)
		}
	})
}

func TestBodyLimit(t *testing.T) {
	big := `{"id": 1, "note": "` + strings.Repeat("x", 2000) + `"}`
	endpoints := []struct {
		path    string
		headers map[string]string
	}{
		{"/webhooks/shopify/order/create", shopifyHeaders(shopDomain, shopSecret, big)},
		{"/webhooks/woocommerce/order/create", wooHeaders(siteURL, siteSecret, big)},
	}
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		for _, e := range endpoints {
			f := newFixture(t, d, func(c *config.Config) { c.MaxBodyBytes = 1024 })
			if got := f.post(t, e.path, "application/json", e.headers, big); got != 413 {
				t.Errorf("%s: oversized body with Content-Length = %d; want 413", e.path, got)
			}
			// Without Content-Length (chunked), the limit applies while reading.
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+e.path, io.MultiReader(strings.NewReader(big)))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range e.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 413 {
				t.Errorf("%s: oversized chunked body = %d; want 413", e.path, resp.StatusCode)
			}
			// Sizes as far as known: the declared length, or more than the
			// limit; no digest of a body that was never read whole.
			ds, _ := f.db.Deliveries(context.Background(), 10)
			if len(ds) != 2 {
				t.Fatalf("%s: %d deliveries recorded; want 2", e.path, len(ds))
			}
			for i, want := range []int64{1025, int64(len(big))} {
				if got := ds[i]; got.Status != 413 || got.Body != nil || got.BodySize != want || got.BodySHA256 != "" {
					t.Errorf("%s: 413 delivery %d recorded as %+v; want size %d, no body, no digest", e.path, i, got, want)
				}
			}
		}
	})
}

func TestRejectedDeliveriesKeepMetadataOnly(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		body := `{"id": 99, "line_items": []}`
		h := shopifyHeaders(shopDomain, "wrong", body)
		if got := f.post(t, "/webhooks/shopify/order/create", "application/json", h, body); got != 403 {
			t.Fatalf("status %d", got)
		}
		ds, err := f.db.Deliveries(context.Background(), 10)
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries: %v, %v", ds, err)
		}
		rec := ds[0]
		sum := sha256.Sum256([]byte(body))
		if rec.Body != nil || rec.BodySize != int64(len(body)) || rec.BodySHA256 != hex.EncodeToString(sum[:]) ||
			rec.Reason != "invalid signature" || rec.Status != 403 || rec.Path != "/webhooks/shopify/order/create" || rec.SourceIP != "127.0.0.1" {
			t.Errorf("rejected delivery: %+v", rec)
		}
		if strings.Contains(rec.Headers, h["X-Shopify-Hmac-Sha256"]) || !strings.Contains(rec.Headers, "[masked]") {
			t.Errorf("signature not masked in stored headers: %s", rec.Headers)
		}
	})
}

func TestAcceptedDeliveryStoresOrderAndDuplicates(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		h := shopifyHeaders(shopDomain, shopSecret, shopifyOrder)
		before := time.Now().Add(-time.Second)
		for range 3 {
			if got := f.post(t, "/webhooks/shopify/order/create", "application/json", h, shopifyOrder); got != 200 {
				t.Fatalf("status %d", got)
			}
		}
		o, err := f.db.FindOrder(context.Background(), enroll.Shopify, shopDomain, 5834765623456)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Items) != 2 || o.Items[0].Email != "learner@example.com" || o.Items[1].Email != "buyer@example.com" {
			t.Fatalf("items: %+v", o.Items)
		}
		ds, _ := f.db.Deliveries(context.Background(), 10)
		if len(ds) != 3 || string(ds[2].Body) != shopifyOrder || ds[1].Reason != "duplicate" || ds[0].Reason != "duplicate" {
			t.Fatalf("deliveries: %+v", ds)
		}
		if strings.Contains(ds[2].Headers, h["X-Shopify-Hmac-Sha256"]) {
			t.Errorf("signature stored with an accepted delivery: %s", ds[2].Headers)
		}
		if !strings.Contains(ds[2].Headers, "orders/create") || !strings.Contains(ds[2].Headers, h["X-Shopify-Webhook-Id"]) {
			t.Errorf("headers not stored with the delivery: %s", ds[2].Headers)
		}
		if at := ds[2].ReceivedAt; at.Before(before) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("received at %v; want about now", at)
		}
		var parsedText string
		if err := f.db.SQL().QueryRow(`SELECT parsed FROM deliveries WHERE id = $1`, ds[2].ID).Scan(&parsedText); err != nil {
			t.Fatal(err)
		}
		var parsed enroll.Order
		if err := json.Unmarshal([]byte(parsedText), &parsed); err != nil || parsed.ID != 5834765623456 ||
			len(parsed.Items) != 2 || parsed.Items[0].Email != "learner@example.com" {
			t.Errorf("parsed order stored as %s (%v)", parsedText, err)
		}
	})
}

// A delivery the database cannot store in time is answered 503 before the
// shop gives up waiting, so that the shop sends it again; the redelivery is
// stored once the database is back.
func TestStoreWaitIsBounded(t *testing.T) {
	f := newFixture(t, store.SQLite)
	// Hold the only SQLite connection, as a long job-queue query would.
	conn, err := f.db.SQL().Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	post := func() int {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/webhooks/shopify/order/create", strings.NewReader(shopifyOrder))
		for k, v := range shopifyHeaders(shopDomain, shopSecret, shopifyOrder) {
			req.Header.Set(k, v)
		}
		client := &http.Client{Timeout: 20 * time.Second}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("no answer while the database is held: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(); got != http.StatusServiceUnavailable {
		t.Errorf("webhook while the database cannot take it = %d; want 503", got)
	}
	conn.Close()
	if got := post(); got != 200 {
		t.Errorf("redelivery = %d; want 200", got)
	}
	if _, err := f.db.FindOrder(context.Background(), enroll.Shopify, shopDomain, 5834765623456); err != nil {
		t.Errorf("redelivered order not stored: %v", err)
	}
}

func TestUnpaidOrders(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		ctx := context.Background()
		// 402: the delivery is stored, no order is created.
		if got := f.post(t, "/webhooks/woocommerce/order/create", "application/json",
			wooHeaders(paidSite, paidSecret, unpaidWooOrder), unpaidWooOrder); got != 402 {
			t.Fatalf("status %d", got)
		}
		if _, err := f.db.FindOrder(ctx, enroll.WooCommerce, paidSite, 4343); err == nil {
			t.Error("an order was created for a 402 delivery")
		}
		ds, _ := f.db.Deliveries(ctx, 1)
		if ds[0].Status != 402 || string(ds[0].Body) != unpaidWooOrder {
			t.Errorf("402 delivery: %+v", ds[0])
		}
		// accept_unpaid: 200, recorded as awaiting payment, enrolled once paid.
		if got := f.post(t, "/webhooks/woocommerce/order/create", "application/json",
			wooHeaders(freeSite, freeSecret, unpaidWooOrder), unpaidWooOrder); got != 200 {
			t.Fatalf("status %d", got)
		}
		o, err := f.db.FindOrder(ctx, enroll.WooCommerce, freeSite, 4343)
		if err != nil || o.Status != enroll.OrderAwaitingPayment || len(o.Items) != 0 {
			t.Fatalf("unpaid order: %+v, %v", o, err)
		}
		paid := strings.Replace(unpaidWooOrder, `"date_paid_gmt": null`, `"date_paid_gmt": "2026-11-25T10:00:00"`, 1)
		if got := f.post(t, "/webhooks/woocommerce/order/update", "application/json",
			wooHeaders(freeSite+"/", freeSecret, paid), paid); got != 200 {
			t.Fatalf("status %d", got)
		}
		o, _ = f.db.FindOrder(ctx, enroll.WooCommerce, freeSite, 4343)
		if o.Status != enroll.OrderNew || len(o.Items) != 1 || o.Items[0].Email != "buyer@example.com" {
			t.Fatalf("paid order: %+v", o)
		}
	})
}

func TestSourceIPBehindTrustedProxy(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		tests := []struct {
			name    string
			trusted []string
			xff     string
			want    string
		}{
			{"no proxy trusted", nil, "203.0.113.9", "127.0.0.1"},
			{"trusted proxy", []string{"127.0.0.1/32"}, "203.0.113.9", "203.0.113.9"},
			{"chain of proxies", []string{"127.0.0.0/8", "10.0.0.0/8"}, "198.51.100.7, 203.0.113.9, 10.1.2.3", "203.0.113.9"},
			{"trusted, no header", []string{"127.0.0.1/32"}, "", "127.0.0.1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, d, func(c *config.Config) {
					for _, p := range tt.trusted {
						c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(p))
					}
				})
				h := map[string]string{}
				if tt.xff != "" {
					h["X-Forwarded-For"] = tt.xff
				}
				f.post(t, "/webhooks/shopify/order/create", "application/json", h, "{}")
				ds, _ := f.db.Deliveries(context.Background(), 1)
				if len(ds) != 1 || ds[0].SourceIP != tt.want {
					t.Errorf("source IP = %+v; want %s", ds, tt.want)
				}
			})
		}
	})
}

// A flood of requests nobody vouches for leaves the first few of each kind
// a minute, whole but for the body, and counts the rest in one row each.
func TestUnsignedFloodStoresNoBodies(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		body := `{"id": 1, "note": "` + strings.Repeat("x", 3000) + `"}`
		var wg sync.WaitGroup
		for i := range 300 {
			wg.Go(func() {
				h := map[string]string{"X-Shopify-Shop-Domain": shopDomain, "X-Shopify-Hmac-Sha256": "Zm9yZ2Vk"}
				if i%2 == 0 {
					h = map[string]string{"X-Shopify-Shop-Domain": "evil.myshopify.com"}
				}
				if got := f.post(t, "/webhooks/shopify/order/create", "application/json", h, body); got != 403 && got != 400 {
					t.Errorf("unsigned request %d: %d", i, got)
				}
			})
		}
		wg.Wait()
		f.rejections.Close() // the minute ends
		ds, err := f.db.Deliveries(context.Background(), 1000)
		if err != nil {
			t.Fatal(err)
		}
		requests, whole := int64(0), 0
		for _, rec := range ds {
			if rec.Body != nil || rec.OrderID.Valid {
				t.Fatalf("a rejected delivery kept its body or made an order: %+v", rec)
			}
			if rec.Folded == 0 {
				requests++
				whole++
			}
			requests += rec.Folded
		}
		// Two kinds from one address: 10 whole a minute each, and one
		// counted row (or two, should a minute end during the test).
		if requests != 300 || whole > 40 || len(ds) > 48 {
			t.Errorf("%d rows (%d whole) for %d requests; want about 22 rows for 300", len(ds), whole, requests)
		}
	})
}
