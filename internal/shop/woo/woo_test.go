package woo_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	shopapi "github.com/openedx-webhook-receiver/webhook-receiver/internal/shop"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/woo"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

func newClient(t *testing.T, shop *wootest.Shop, edit ...func(*woo.Options)) *woo.Client {
	t.Helper()
	o := woo.Options{BaseURL: shop.URL, ConsumerKey: shop.ConsumerKey, ConsumerSecret: shop.ConsumerSecret,
		HTTPClient: shop.Client()}
	for _, f := range edit {
		f(&o)
	}
	c, err := woo.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// readOrders reads every order changed since, in the order they came, and
// returns them with the warnings and the orders skipped. Each order's body
// is the webhook body it reads as.
func readOrders(t *testing.T, c *woo.Client, since time.Time) ([]enroll.Order, []string) {
	t.Helper()
	var all []enroll.Order
	res, err := c.Orders(t.Context(), since, func(page []shopapi.Found) error {
		for _, f := range page {
			again, err := webhook.ParseWooCommerceOrder(f.Body)
			if err != nil {
				t.Errorf("order %d: its body does not parse: %v", f.Order.ID, err)
			} else if diff := cmp.Diff(f.Order, again); diff != "" {
				t.Errorf("order %d: its body reads as another order (-order +body):\n%s", f.Order.ID, diff)
			}
			all = append(all, f.Order)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	warnings := res.Warnings
	for _, err := range res.Skipped {
		warnings = append(warnings, err.Error())
	}
	return all, warnings
}

func ids(orders []enroll.Order) []int64 {
	var out []int64
	for _, o := range orders {
		out = append(out, o.ID)
	}
	return out
}

// orderRequests returns the queries of the order list requests.
func orderRequests(shop *wootest.Shop) []url.Values {
	var out []url.Values
	for _, r := range shop.Requests() {
		if r.Path == wootest.APIPath+"/orders" {
			q, _ := url.ParseQuery(r.Query)
			out = append(out, q)
		}
	}
	return out
}

func TestNewRefusesPlainHTTPAndCredentialsInTheURL(t *testing.T) {
	for _, base := range []string{"http://shop.example.com", "HTTP://shop.example.com/", "https://ck:cs_secret@shop.example.com",
		"ftp://shop.example.com", "https://", "https://shop.example.com/?consumer_secret=cs_secret"} {
		_, err := woo.New(woo.Options{BaseURL: base, ConsumerKey: "ck", ConsumerSecret: "cs_secret"})
		if err == nil {
			t.Errorf("%s: accepted", base)
			continue
		}
		if strings.Contains(err.Error(), "cs_secret") {
			t.Errorf("%s: the error shows the secret: %v", base, err)
		}
		if strings.HasPrefix(strings.ToLower(base), "http:") && !strings.Contains(err.Error(), "only over HTTPS") {
			t.Errorf("%s: %v, want it to say credentials go only over HTTPS", base, err)
		}
	}
	if _, err := woo.New(woo.Options{BaseURL: "https://shop.example.com"}); err == nil {
		t.Error("accepted without a consumer key and secret")
	}
}

func TestOrdersReadsEveryPage(t *testing.T) {
	shop := wootest.New(t)
	since := shop.Now().Add(-time.Minute)
	var want []int64
	for i := range 250 {
		id, _ := shop.AddOrder(wootest.NewOrder{Email: "buyer@example.com", Paid: i%2 == 0,
			Lines: []wootest.Line{{SKU: "course-v1:edX+DemoX+2026", Meta: map[string]any{"email": "learner@example.com"}}}})
		want = append(want, id)
	}
	got, warnings := readOrders(t, newClient(t, shop), since)
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("order ids (-want +got):\n%s", diff)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	first := got[0]
	if !first.Paid || first.Platform != enroll.WooCommerce || first.At != since.Add(time.Minute) ||
		len(first.Items) != 1 || first.Items[0].Email != "learner@example.com" || first.Items[0].SKU != "course-v1:edX+DemoX+2026" {
		t.Errorf("first order: %+v", first)
	}
	if got[1].Paid {
		t.Errorf("order %d is unpaid in the shop but read paid", got[1].ID)
	}
	reqs := orderRequests(shop)
	if len(reqs) != 3 {
		t.Fatalf("%d order list requests, want 3 pages of 100", len(reqs))
	}
	for i, q := range reqs {
		if q.Get("per_page") != "100" || q.Get("page") != string(rune('1'+i)) ||
			q.Get("modified_after") != since.Format("2006-01-02T15:04:05") || q.Get("dates_are_gmt") != "true" {
			t.Errorf("request %d: %v", i+1, q)
		}
	}
}

func TestOrdersSinceReadsOnlyChangedOrders(t *testing.T) {
	shop := wootest.New(t)
	paidLater, _ := shop.AddOrder(wootest.NewOrder{Email: "a@example.com", Lines: []wootest.Line{{SKU: "A"}}})
	shop.AddOrder(wootest.NewOrder{Email: "b@example.com", Paid: true, Lines: []wootest.Line{{SKU: "B"}}})
	cancelled, _ := shop.AddOrder(wootest.NewOrder{Email: "c@example.com", Paid: true, Lines: []wootest.Line{{SKU: "C"}}})
	shop.Advance(time.Hour)
	since := shop.Now()
	shop.Advance(time.Minute)
	shop.Pay(paidLater)
	shop.Cancel(cancelled)
	created, _ := shop.AddOrder(wootest.NewOrder{Email: "d@example.com", Paid: true, Lines: []wootest.Line{{SKU: "D"}}})

	got, warnings := readOrders(t, newClient(t, shop), since)
	if diff := cmp.Diff([]int64{paidLater, cancelled, created}, ids(got)); diff != "" {
		t.Errorf("order ids (-want +got):\n%s", diff)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if !got[0].Paid || !got[1].Cancelled || got[1].ShopStatus != "cancelled" {
		t.Errorf("orders: %+v", got)
	}
}

func TestOrdersDeduplicatesAcrossPages(t *testing.T) {
	shop := wootest.New(t)
	shop.SetIgnoreOrderBy(true) // newest first, whatever the client asks
	since := shop.Now().Add(-time.Minute)
	var want []int64
	for range 150 {
		id, _ := shop.AddOrder(wootest.NewOrder{Email: "a@example.com", Paid: true, Lines: []wootest.Line{{SKU: "A"}}})
		want = append(want, id)
	}
	// Ten orders placed while the client reads page 1 push ten orders of
	// page 1 onto page 2.
	shop.SetAfter(func(r wootest.Request) {
		if r.Path == wootest.APIPath+"/orders" && strings.Contains(r.Query, "page=1&") {
			for range 10 {
				shop.AddOrder(wootest.NewOrder{Email: "late@example.com", Paid: true, Lines: []wootest.Line{{SKU: "A"}}})
			}
		}
	})
	got, _ := readOrders(t, newClient(t, shop), since)
	gotIDs := ids(got)
	slices.Sort(gotIDs)
	if diff := cmp.Diff(want, gotIDs); diff != "" {
		t.Errorf("order ids (-want +got):\n%s", diff)
	}
	if n := len(orderRequests(shop)); n != 2 {
		t.Errorf("%d pages read, want 2", n)
	}
}

func TestOrdersDetectsIgnoredModifiedAfter(t *testing.T) {
	shop := wootest.New(t)
	shop.SetIgnoreModifiedAfter(true)
	var old []int64
	for range 120 {
		id, _ := shop.AddOrder(wootest.NewOrder{Email: "a@example.com", Paid: true, Lines: []wootest.Line{{SKU: "A"}}})
		old = append(old, id)
	}
	shop.Advance(24 * time.Hour)
	since := shop.Now()
	shop.Advance(time.Minute)
	shop.Cancel(old[5])
	refunded := old[110]
	shop.Refund(refunded, map[int64]int{refunded + 1: 1})
	created, _ := shop.AddOrder(wootest.NewOrder{Email: "b@example.com", Lines: []wootest.Line{{SKU: "B"}}})

	got, warnings := readOrders(t, newClient(t, shop), since)
	if diff := cmp.Diff([]int64{old[5], refunded, created}, ids(got)); diff != "" {
		t.Errorf("order ids (-want +got):\n%s", diff)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "ignored modified_after") {
		t.Errorf("warnings %q, want one saying the site ignored modified_after", warnings)
	}
	if !got[1].Refunded {
		t.Errorf("order %d refunded in whole, read %+v", refunded, got[1].Snapshot)
	}
}

func TestOrdersStopsWhenPageFails(t *testing.T) {
	shop := wootest.New(t)
	for range 150 {
		shop.AddOrder(wootest.NewOrder{Email: "a@example.com", Lines: []wootest.Line{{SKU: "A"}}})
	}
	stop := errors.New("store down")
	_, err := newClient(t, shop).Orders(t.Context(), time.Time{}, func([]shopapi.Found) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("error %v, want the page's", err)
	}
	if n := len(orderRequests(shop)); n != 1 {
		t.Errorf("%d pages read after the first failed, want 1", n)
	}
}

func TestRefundsNameTheRefundedLines(t *testing.T) {
	shop := wootest.New(t)
	id, lines := shop.AddOrder(wootest.NewOrder{Email: "a@example.com", Paid: true,
		Lines: []wootest.Line{{SKU: "A", Quantity: 3}, {SKU: "B"}}})
	shop.Advance(time.Hour)
	first := shop.Refund(id, map[int64]int{lines[0]: 2})
	firstAt := shop.Now()
	shop.Advance(time.Hour)
	second := shop.Refund(id, map[int64]int{lines[1]: 1})
	c := newClient(t, shop)

	found, err := c.Refunds(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var got []enroll.Refund
	for _, r := range found {
		if again, err := woo.ParseRefunds(id, append(append([]byte("["), r.Body...), ']')); err != nil || len(again) != 1 || !cmp.Equal(again[0], r.Refund) {
			t.Errorf("refund %d: its body reads as %+v (%v)", r.Refund.ID, again, err)
		}
		got = append(got, r.Refund)
	}
	want := []enroll.Refund{
		{ID: second, OrderID: id, At: shop.Now(), Lines: []enroll.RefundLine{{LineItemID: lines[1], Quantity: 1}}},
		{ID: first, OrderID: id, At: firstAt, Lines: []enroll.RefundLine{{LineItemID: lines[0], Quantity: 2}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refunds (-want +got):\n%s", diff)
	}
	orders, _ := readOrders(t, c, time.Time{})
	if len(orders) != 1 || !orders[0].PartialRefund || orders[0].Refunded {
		t.Errorf("order read as %+v, want partially refunded", orders)
	}

	var apiErr *woo.APIError
	if _, err := c.Refunds(t.Context(), 999999); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("refunds of an unknown order: %v, want a 404 APIError", err)
	}
}

func TestWebhooksListCreateAndReenable(t *testing.T) {
	shop := wootest.New(t)
	other := shop.AddWebhook(wootest.Webhook{Name: "ERP", Topic: "order.created", DeliveryURL: "https://erp.example.com/hook"})
	c := newClient(t, shop)
	const delivery = "https://webhooks.lms.example.com/webhooks/woocommerce/order/create"

	created, err := c.CreateWebhook(t.Context(), "order.updated", delivery, "whsec_site")
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == 0 || created.Topic != "order.updated" || created.DeliveryURL != delivery || created.Status != woo.StatusActive {
		t.Errorf("created %+v", created)
	}
	if hooks := shop.Webhooks(); len(hooks) != 2 || hooks[1].Secret != "whsec_site" {
		t.Errorf("the site's webhooks: %+v, want the new one with its secret", hooks)
	}

	shop.DisableWebhook(created.ID)
	hooks, err := c.Webhooks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []woo.Webhook{
		{ID: other, Name: "ERP", Topic: "order.created", DeliveryURL: "https://erp.example.com/hook", Status: woo.StatusActive},
		{ID: created.ID, Name: "webhook-receiver order.updated", Topic: "order.updated", DeliveryURL: delivery, Status: woo.StatusDisabled},
	}
	if diff := cmp.Diff(want, hooks); diff != "" {
		t.Errorf("webhooks (-want +got):\n%s", diff)
	}

	updated, err := c.UpdateWebhook(t.Context(), created.ID, woo.StatusActive, "")
	if err != nil {
		t.Fatal(err)
	}
	if updated.Status != woo.StatusActive || updated.DeliveryURL != delivery {
		t.Errorf("re-enabled: %+v", updated)
	}
	moved := "https://new.lms.example.com/webhooks/woocommerce/order/create"
	if updated, err = c.UpdateWebhook(t.Context(), created.ID, "", moved); err != nil || updated.DeliveryURL != moved || updated.Status != woo.StatusActive {
		t.Errorf("moved: %+v, %v", updated, err)
	}
	if h := shop.Webhooks()[1]; h.Status != "active" || h.FailureCount != 0 || h.DeliveryURL != moved {
		t.Errorf("the site's webhook after repair: %+v", h)
	}

	var apiErr *woo.APIError
	if _, err := c.CreateWebhook(t.Context(), "order.nonsense", delivery, "s"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
		t.Errorf("bad topic: %v, want a 400 APIError", err)
	}
}

func TestWebhooksReadsEveryPage(t *testing.T) {
	shop := wootest.New(t)
	for range 130 {
		shop.AddWebhook(wootest.Webhook{Topic: "order.created", DeliveryURL: "https://a.example.com/", Secret: "s"})
	}
	hooks, err := newClient(t, shop).Webhooks(t.Context())
	if err != nil || len(hooks) != 130 {
		t.Errorf("%d webhooks, %v; want 130", len(hooks), err)
	}
}

func TestUnauthorizedNeverShowsTheSecret(t *testing.T) {
	shop := wootest.New(t)
	const wrong = "cs_wrong_0123456789"
	c := newClient(t, shop, func(o *woo.Options) { o.ConsumerSecret = wrong })
	_, err := c.Webhooks(t.Context())
	var apiErr *woo.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("error %v, want a 401 APIError", err)
	}
	for _, secret := range []string{wrong, shop.ConsumerSecret} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows a secret", err)
		}
	}
	if !strings.Contains(err.Error(), "consumer key and secret") {
		t.Errorf("error %q does not say what to check", err)
	}
}

func TestErrorsNeverEchoTheSecret(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, secret, _ := r.BasicAuth()
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"code":"x","message":"secret ` + secret + ` is not allowed"}`))
	}))
	defer srv.Close()
	c, err := woo.New(woo.Options{BaseURL: srv.URL, ConsumerKey: "ck", ConsumerSecret: "cs_echoed", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Webhooks(t.Context()); err == nil || strings.Contains(err.Error(), "cs_echoed") {
		t.Errorf("error %v: want one without the secret", err)
	}
}

func TestRedirectToPlainHTTPRefused(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("plain HTTP server reached with %s", r.Header.Get("Authorization"))
	}))
	defer plain.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	defer srv.Close()
	c, err := woo.New(woo.Options{BaseURL: srv.URL, ConsumerKey: "ck", ConsumerSecret: "cs", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Webhooks(t.Context()); err == nil || !strings.Contains(err.Error(), "plain HTTP refused") {
		t.Errorf("error %v, want the redirect refused", err)
	}
}

func TestTooManyRequests(t *testing.T) {
	t.Run("retried", func(t *testing.T) {
		shop := wootest.New(t)
		shop.AddOrder(wootest.NewOrder{Email: "a@example.com", Lines: []wootest.Line{{SKU: "A"}}})
		shop.Throttle(2, "0")
		got, _ := readOrders(t, newClient(t, shop), time.Time{})
		if len(got) != 1 {
			t.Errorf("%d orders, want 1", len(got))
		}
		var statuses []int
		for _, r := range shop.Requests() {
			statuses = append(statuses, r.Status)
		}
		if diff := cmp.Diff([]int{429, 429, 200}, statuses); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})
	t.Run("retries run out", func(t *testing.T) {
		shop := wootest.New(t)
		shop.Throttle(10, "0")
		_, err := newClient(t, shop, func(o *woo.Options) { o.MaxRetries = 2 }).Webhooks(t.Context())
		var apiErr *woo.APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests {
			t.Errorf("error %v, want a 429 APIError", err)
		}
		if n := len(shop.Requests()); n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("long Retry-After returned", func(t *testing.T) {
		shop := wootest.New(t)
		shop.Throttle(1, "3600")
		_, err := newClient(t, shop).Webhooks(t.Context())
		var apiErr *woo.APIError
		if !errors.As(err, &apiErr) || apiErr.RetryAfter != time.Hour {
			t.Errorf("error %v, want a 429 APIError asking for an hour", err)
		}
		if n := len(shop.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("wait cancelled", func(t *testing.T) {
		shop := wootest.New(t)
		shop.Throttle(1, "3600")
		ctx, cancel := context.WithCancel(t.Context())
		shop.SetAfter(func(wootest.Request) { cancel() })
		_, err := newClient(t, shop, func(o *woo.Options) { o.MaxRetryWait = 2 * time.Hour }).Webhooks(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
}

func TestPagesIgnoredIsAnError(t *testing.T) {
	var hooks []string
	for i := range 100 {
		hooks = append(hooks, fmt.Sprintf(`{"id":%d,"topic":"order.created","status":"active","delivery_url":"https://a.example.com/"}`, i+1))
	}
	page := "[" + strings.Join(hooks, ",") + "]"
	for _, header := range []string{"", "3"} {
		t.Run("X-WP-TotalPages "+header, func(t *testing.T) {
			requests := 0
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests++
				if header != "" {
					w.Header().Set("X-WP-TotalPages", header)
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(page)) // page 1, whatever page is asked for
			}))
			defer srv.Close()
			c, err := woo.New(woo.Options{BaseURL: srv.URL, ConsumerKey: "ck", ConsumerSecret: "cs", HTTPClient: srv.Client()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Webhooks(t.Context())
			if err == nil || !strings.Contains(err.Error(), "ignores the page parameter") {
				t.Errorf("error %v, want one saying the site ignores page", err)
			}
			if requests != 2 {
				t.Errorf("%d requests, want 2 (page 1, then page 2 seen to repeat it)", requests)
			}
		})
	}
}
