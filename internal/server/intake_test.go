package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// madeUpHeaders are about 60 KB of headers nobody needs.
func madeUpHeaders() map[string]string {
	h := map[string]string{}
	for i := range 60 {
		h[fmt.Sprintf("X-Made-Up-%02d", i)] = strings.Repeat("z", 1000)
	}
	return h
}

func merge(hs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}

// A request nobody vouches for leaves the headers an operator needs, cut
// short; credentials are masked whoever sent them.
func TestUnauthenticatedRequestsStoreFewHeaders(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		const path = "/webhooks/shopify/order/create"
		credentials := map[string]string{"Proxy-Authorization": "Basic c2VjcmV0", "X-Api-Key": "k-123456",
			"X-Shopify-Access-Token": "shpat_123456", "Cookie": "session=abcdef"}
		bulk := merge(madeUpHeaders(), credentials, map[string]string{"X-Shopify-Topic": strings.Repeat("t", 5000)})
		forged := merge(bulk, map[string]string{"X-Shopify-Shop-Domain": shopDomain, "X-Shopify-Hmac-Sha256": "Zm9yZ2Vk"})
		unknown := merge(bulk, map[string]string{"X-Shopify-Shop-Domain": "other.myshopify.com"})
		if got := f.post(t, path, "application/json", forged, shopifyOrder); got != 403 {
			t.Fatalf("forged signature: %d", got)
		}
		if got := f.post(t, path, "application/json", unknown, shopifyOrder); got != 403 {
			t.Fatalf("unknown shop: %d", got)
		}
		signed := merge(madeUpHeaders(), credentials, shopifyHeaders(shopDomain, shopSecret, shopifyOrder))
		if got := f.post(t, path, "application/json", signed, shopifyOrder); got != 200 {
			t.Fatalf("signed order: %d", got)
		}
		ds, err := f.db.Deliveries(context.Background(), 10)
		if err != nil || len(ds) != 3 {
			t.Fatalf("deliveries: %d, %v", len(ds), err)
		}
		for _, rec := range ds {
			for name, v := range credentials {
				if strings.Contains(rec.Headers, v) {
					t.Errorf("delivery %d (%d) stored %s's value: %s", rec.ID, rec.Status, name, rec.Headers)
				}
			}
			if !strings.Contains(rec.Headers, "X-Shopify-Shop-Domain") {
				t.Errorf("delivery %d (%d) lost the shop domain header: %.300s", rec.ID, rec.Status, rec.Headers)
			}
		}
		for _, rec := range ds[1:] { // the rejected ones
			if len(rec.Headers) > 2500 || strings.Contains(rec.Headers, "X-Made-Up") {
				t.Errorf("rejected delivery %d stored %d bytes of headers: %.300s", rec.ID, len(rec.Headers), rec.Headers)
			}
		}
		if !strings.Contains(ds[0].Headers, "X-Made-Up-59") { // an authenticated delivery keeps its headers
			t.Errorf("accepted delivery lost its headers: %.300s", ds[0].Headers)
		}
	})
}

// An unknown shop domain or site is recorded as sent, cut short and with
// anything unprintable escaped: it is what an operator moving a shop needs.
func TestUnknownShopRecordsWhatWasSent(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		if got := f.post(t, "/webhooks/shopify/order/create", "application/json",
			shopifyHeaders("old-shop.myshopify.com", shopSecret, shopifyOrder), shopifyOrder); got != 403 {
			t.Fatalf("unknown shop: %d", got)
		}
		if got := f.post(t, "/webhooks/woocommerce/order/create", "application/json",
			wooHeaders("https://old.example.com/\u202e\xff"+strings.Repeat("p", 1000), siteSecret, wooOrder), wooOrder); got != 403 {
			t.Fatalf("unknown site: %d", got)
		}
		ds, err := f.db.Deliveries(context.Background(), 10)
		if err != nil || len(ds) != 2 {
			t.Fatalf("deliveries: %d, %v", len(ds), err)
		}
		if ds[1].Source != "old-shop.myshopify.com" {
			t.Errorf("unknown shop recorded as %q", ds[1].Source)
		}
		if got := ds[0].Source; !strings.HasPrefix(got, `https://old.example.com/\u202e\xffppp`) || len(got) > 210 {
			t.Errorf("unknown site recorded as %q (%d bytes)", got, len(got))
		}
	})
}

// Nothing is read of a body that the headers already condemn.
func TestRejectedFromHeadersWithoutReadingTheBody(t *testing.T) {
	f := newFixture(t, store.SQLite)
	tests := []struct {
		name    string
		path    string
		headers map[string]string
		want    int
	}{
		{"no shop domain", "/webhooks/shopify/order/create", nil, 400},
		{"unknown shop", "/webhooks/shopify/order/create", map[string]string{"X-Shopify-Shop-Domain": "x.myshopify.com"}, 403},
		{"no signature", "/webhooks/shopify/order/create", map[string]string{"X-Shopify-Shop-Domain": shopDomain}, 400},
		{"no source", "/webhooks/woocommerce/order/create", nil, 400},
		{"unknown site", "/webhooks/woocommerce/order/create", map[string]string{"X-WC-Webhook-Source": "https://x.example.com/"}, 403},
		{"no signature", "/webhooks/woocommerce/order/create", map[string]string{"X-WC-Webhook-Source": siteURL}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A body that never ends: the answer comes from the headers alone.
			body := &endless{}
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+tt.path, body)
			req.ContentLength = 4 << 20
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("no answer before the body was sent: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d; want %d", resp.StatusCode, tt.want)
			}
		})
	}
	ds, _ := f.db.Deliveries(context.Background(), 10)
	for _, rec := range ds {
		if rec.BodySize != 4<<20 || rec.BodySHA256 != "" {
			t.Errorf("delivery %d: size %d, digest %q; want the declared size and no digest of a body never read", rec.ID, rec.BodySize, rec.BodySHA256)
		}
	}
}

// endless is a request body that sends 64 KiB and then waits: 10 s, then
// it ends short of its Content-Length.
type endless struct{ sent int }

func (e *endless) Read(p []byte) (int, error) {
	if e.sent >= 64<<10 {
		time.Sleep(10 * time.Second) // not a wait for work: the body a slow client never finishes
		return 0, io.EOF
	}
	n := min(len(p), 64<<10-e.sent)
	e.sent += n
	return n, nil
}
