package wootest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// send sends a request to the fake with its credentials unless key is
// empty, and returns the answer and its body.
func send(t *testing.T, shop *wootest.Shop, method, path, key, secret, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, shop.URL+wootest.APIPath+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.SetBasicAuth(key, secret)
	}
	resp, err := shop.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestAuthentication(t *testing.T) {
	shop := wootest.New(t)
	for _, c := range []struct{ key, secret string }{{"", ""}, {shop.ConsumerKey, "cs_wrong"}, {"ck_wrong", shop.ConsumerSecret}} {
		resp, body := send(t, shop, http.MethodGet, "/orders", c.key, c.secret, "")
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "cs_") {
			t.Errorf("%q/%q: %d %s, want 401 without the secret", c.key, c.secret, resp.StatusCode, body)
		}
	}
	if resp, _ := send(t, shop, http.MethodGet, "/orders", shop.ConsumerKey, shop.ConsumerSecret, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("with the credentials: %d", resp.StatusCode)
	}
}

func TestOrdersInTheWebhookShape(t *testing.T) {
	shop := wootest.New(t)
	for range 25 {
		shop.AddOrder(wootest.NewOrder{Email: "x@example.com", Lines: []wootest.Line{{SKU: "X"}}})
	}
	id, lines := shop.AddOrder(wootest.NewOrder{Email: "buyer@example.com", Lines: []wootest.Line{
		{SKU: "course-v1:A+B+C", Quantity: 2, Meta: map[string]any{"email": "learner@example.com"}}}})
	shop.Advance(time.Hour)
	shop.Pay(id)
	paidAt := shop.Now()

	resp, body := send(t, shop, http.MethodGet, "/orders?per_page=10&page=1", shop.ConsumerKey, shop.ConsumerSecret, "")
	if resp.Header.Get("X-WP-Total") != "26" || resp.Header.Get("X-WP-TotalPages") != "3" {
		t.Errorf("X-WP-Total %q, X-WP-TotalPages %q; want 26 and 3", resp.Header.Get("X-WP-Total"), resp.Header.Get("X-WP-TotalPages"))
	}
	var page []json.RawMessage
	if err := json.Unmarshal(body, &page); err != nil || len(page) != 10 {
		t.Fatalf("page of %d orders, %v", len(page), err)
	}
	got, err := webhook.ParseWooCommerceOrder(page[0]) // newest first
	if err != nil {
		t.Fatal(err)
	}
	want := enroll.Order{Platform: enroll.WooCommerce, ID: id, Email: "buyer@example.com", Paid: true,
		Items:    []enroll.Item{{LineItemID: lines[0], SKU: "course-v1:A+B+C", Email: "learner@example.com", Quantity: 2}},
		Snapshot: enroll.Snapshot{At: paidAt, ShopStatus: "processing"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}

	shop.Refund(id, map[int64]int{lines[0]: 1})
	_, body = send(t, shop, http.MethodGet, "/orders/"+jsonInt(id)+"/refunds", shop.ConsumerKey, shop.ConsumerSecret, "")
	var refunds []struct {
		LineItems []struct {
			Quantity int `json:"quantity"`
			MetaData []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"meta_data"`
		} `json:"line_items"`
	}
	if err := json.Unmarshal(body, &refunds); err != nil || len(refunds) != 1 || len(refunds[0].LineItems) != 1 {
		t.Fatalf("refunds %s: %v", body, err)
	}
	li := refunds[0].LineItems[0]
	if li.Quantity != -1 || len(li.MetaData) != 1 || li.MetaData[0].Key != "_refunded_item_id" || li.MetaData[0].Value != jsonInt(lines[0]) {
		t.Errorf("refund line %+v, want quantity -1 naming line %d", li, lines[0])
	}

	if resp, _ := send(t, shop, http.MethodGet, "/orders?per_page=101", shop.ConsumerKey, shop.ConsumerSecret, ""); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("per_page=101: %d, want 400", resp.StatusCode)
	}
}

func TestWebhookRequests(t *testing.T) {
	shop := wootest.New(t)
	key, secret := shop.ConsumerKey, shop.ConsumerSecret
	resp, body := send(t, shop, http.MethodPost, "/webhooks", key, secret,
		`{"name": "n", "topic": "order.created", "delivery_url": "https://lms.example.com/hook", "secret": "s", "status": "active"}`)
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), `"status":"active"`) {
		t.Errorf("create: %d %s", resp.StatusCode, body)
	}
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{http.MethodPost, "/webhooks", `{"topic": "order.nonsense", "delivery_url": "https://a.example.com/"}`, 400},
		{http.MethodPost, "/webhooks", `{"topic": "order.created", "delivery_url": "not a url"}`, 400},
		{http.MethodPut, "/webhooks/1", `{"status": "active"}`, 404},
		{http.MethodPut, "/webhooks/" + jsonInt(shop.Webhooks()[0].ID), `{"status": "sleeping"}`, 400},
		{http.MethodPut, "/webhooks/" + jsonInt(shop.Webhooks()[0].ID), `{"status": "paused"}`, 200},
	} {
		if resp, body := send(t, shop, c.method, c.path, key, secret, c.body); resp.StatusCode != c.status {
			t.Errorf("%s %s %s: %d %s, want %d", c.method, c.path, c.body, resp.StatusCode, body, c.status)
		}
	}
	if h := shop.Webhooks(); len(h) != 1 || h[0].Status != "paused" {
		t.Errorf("webhooks %+v, want one paused", h)
	}
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
