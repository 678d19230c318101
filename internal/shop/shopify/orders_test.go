package shopify_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	shopapi "github.com/openedx-webhook-receiver/webhook-receiver/internal/shop"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopify"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// fakeSleep waits by moving the fake shop's clock, and records each wait.
type fakeSleep struct {
	shop  *shopifytest.Shop
	mu    sync.Mutex
	waits []time.Duration
}

func (s *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	s.shop.Advance(d)
	return nil
}

// newClient is a client of shop whose waits move the shop's clock.
func newClient(t *testing.T, shop *shopifytest.Shop, change func(*shopify.Options)) (*shopify.Client, *fakeSleep) {
	t.Helper()
	sl := &fakeSleep{shop: shop}
	opts := shopify.Options{
		Domain:     shop.Domain(),
		Token:      shopifytest.Token,
		HTTPClient: shop.Client(),
		Now:        shop.Now,
		Sleep:      sl.sleep,
	}
	if change != nil {
		change(&opts)
	}
	c, err := shopify.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, sl
}

// read reads every order updated since since, page by page.
func read(t *testing.T, c *shopify.Client, since time.Time) ([][]enroll.Order, []enroll.Refund, shopapi.Result) {
	t.Helper()
	var pages [][]enroll.Order
	var refunds []enroll.Refund
	res, err := c.Orders(t.Context(), since, func(found []shopapi.Found) error {
		var orders []enroll.Order
		for _, f := range found {
			orders = append(orders, f.Order)
			for _, r := range f.Refunds {
				refunds = append(refunds, r.Refund)
			}
		}
		pages = append(pages, orders)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pages, refunds, res
}

func flatten(pages [][]enroll.Order) []enroll.Order {
	var out []enroll.Order
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

// addOrders adds n orders of every kind the parser tells apart: several
// learners on a line, a customer's email, pending payment, a second line.
func addOrders(shop *shopifytest.Shop, n int) []shopifytest.Order {
	var out []shopifytest.Order
	for i := range n {
		o := shopifytest.Order{Email: fmt.Sprintf("buyer%d@example.com", i),
			Lines: []shopifytest.Line{{SKU: "course-v1:edX+DemoX+2026", Quantity: 1 + i%3}}}
		switch i % 4 {
		case 1:
			o.Lines[0].Learners = []string{fmt.Sprintf("a%d@example.com", i), fmt.Sprintf("b%d@example.com", i)}
		case 2:
			o.CustomerEmail = fmt.Sprintf("customer%d@example.com", i)
			o.FinancialStatus = "PENDING"
		case 3:
			o.Lines = append(o.Lines, shopifytest.Line{SKU: "course-v1:edX+Other+2026", Learners: []string{"x@example.com"}})
		}
		out = append(out, shop.AddOrder(o))
		shop.Advance(time.Second)
	}
	return out
}

// fromWebhook is the order the webhook parser reads from the webhook the
// shop sends for the order now.
func fromWebhook(t *testing.T, shop *shopifytest.Shop, id int64) enroll.Order {
	t.Helper()
	o, err := webhook.ParseShopifyOrder(shop.OrderWebhook(id))
	if err != nil {
		t.Fatal(err)
	}
	o.Source = shop.Domain()
	return o
}

func TestOrdersPages(t *testing.T) {
	shop := shopifytest.New(t)
	added := addOrders(shop, 110)
	c, _ := newClient(t, shop, func(o *shopify.Options) { o.PageSize = 25 })

	pages, _, res := read(t, c, shop.Now().Add(-time.Hour))
	if len(pages) != 5 || res.Pages != 5 || res.Orders != 110 || len(res.Skipped) != 0 {
		t.Fatalf("%d pages, result %+v; want 5 pages of 110 orders", len(pages), res)
	}
	got := flatten(pages)
	for i, o := range added {
		if diff := cmp.Diff(fromWebhook(t, shop, o.ID), got[i]); diff != "" {
			t.Fatalf("order %d differs from its webhook (-webhook +api):\n%s", i, diff)
		}
	}
	for _, r := range shop.Requests() {
		if r.Version != shopify.DefaultAPIVersion || r.Operation != "Orders" {
			t.Errorf("request %+v: want Orders on %s", r, shopify.DefaultAPIVersion)
		}
	}
}

func TestOrdersChangedSince(t *testing.T) {
	shop := shopifytest.New(t)
	added := addOrders(shop, 10)
	start := shop.Now()
	shop.Advance(time.Minute)
	paid := shop.Pay(added[2].ID)
	refund := shop.RefundLines(added[3].ID, shopifytest.RefundLine{LineItemID: added[3].Lines[1].ID, Quantity: 1})
	cancelled := shop.Cancel(added[5].ID)

	c, _ := newClient(t, shop, nil)
	pages, refunds, res := read(t, c, start)
	got := flatten(pages)
	if len(res.Warnings) != 0 || !res.Since.Equal(start.UTC()) {
		t.Errorf("result %+v: want since %s without a warning", res, start)
	}
	want := []enroll.Order{fromWebhook(t, shop, paid.ID), fromWebhook(t, shop, added[3].ID), fromWebhook(t, shop, cancelled.ID)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("orders changed since the start (-want +got):\n%s", diff)
	}
	if got[0].ShopStatus != "paid" || got[1].ShopStatus != "partially_refunded" || !got[2].Cancelled {
		t.Errorf("snapshots %+v, %+v, %+v: want paid, partially refunded, cancelled", got[0].Snapshot, got[1].Snapshot, got[2].Snapshot)
	}
	hookRefund, err := webhook.ParseShopifyRefund(shop.RefundWebhook(added[3].ID, refund.ID))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]enroll.Refund{hookRefund}, refunds); diff != "" {
		t.Errorf("refunds differ from the refund webhook's (-webhook +api):\n%s", diff)
	}
}

func TestOrdersSixtyDays(t *testing.T) {
	shop := shopifytest.New(t)
	now := shop.Now()
	old := shop.AddOrder(shopifytest.Order{CreatedAt: now.Add(-70 * 24 * time.Hour), UpdatedAt: now.Add(-time.Hour),
		Lines: []shopifytest.Line{{SKU: "old"}}})
	recent := shop.AddOrder(shopifytest.Order{CreatedAt: now.Add(-50 * 24 * time.Hour), Lines: []shopifytest.Line{{SKU: "recent"}}})
	since := now.Add(-90 * 24 * time.Hour)

	t.Run("capped", func(t *testing.T) {
		c, _ := newClient(t, shop, nil)
		pages, _, res := read(t, c, since)
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "read_all_orders") {
			t.Errorf("warnings %q: want one naming read_all_orders", res.Warnings)
		}
		if earliest := now.Add(-shopify.Window); res.Since.Before(earliest) || res.Since.After(earliest.Add(time.Minute)) {
			t.Errorf("read since %s, want the start of the 60 days, %s", res.Since, earliest)
		}
		got := flatten(pages)
		if len(got) != 1 || got[0].ID != recent.ID {
			t.Errorf("orders %+v: want only order %d, the older one is not readable", got, recent.ID)
		}
	})
	t.Run("read_all_orders", func(t *testing.T) {
		shop.SetReadAllOrders(true)
		c, _ := newClient(t, shop, func(o *shopify.Options) { o.ReadAllOrders = true })
		pages, _, res := read(t, c, since)
		got := flatten(pages)
		if len(res.Warnings) != 0 || !res.Since.Equal(since.UTC()) || len(got) != 2 || got[0].ID != recent.ID || got[1].ID != old.ID {
			t.Errorf("result %+v, orders %+v: want both orders since %s without a warning", res, got, since)
		}
	})
}

func TestOrdersThrottled(t *testing.T) {
	shop := shopifytest.New(t)
	addOrders(shop, 100)
	shop.SetThrottle(100, 10) // a page of 20 requests 42 points: two pages, then wait
	shop.Drain()
	c, sl := newClient(t, shop, func(o *shopify.Options) { o.PageSize = 20 })

	pages, _, res := read(t, c, shop.Now().Add(-time.Hour))
	got := flatten(pages)
	seen := map[int64]bool{}
	for _, o := range got {
		if seen[o.ID] {
			t.Errorf("order %d read twice", o.ID)
		}
		seen[o.ID] = true
	}
	if len(seen) != 100 || len(pages) != 5 {
		t.Errorf("%d orders in %d pages, want 100 in 5", len(seen), len(pages))
	}
	throttled := 0
	for _, r := range shop.Requests() {
		if r.Throttled {
			throttled++
		}
	}
	if throttled == 0 || res.Waits == 0 || len(sl.waits) != res.Waits {
		t.Errorf("%d throttled answers, %d waits (%d recorded): want the drained bucket to throttle and the client to wait", throttled, res.Waits, len(sl.waits))
	}
	if shop.Available() < 0 {
		t.Errorf("bucket at %v", shop.Available())
	}
}

// With the real clock: a drained bucket that refills fast is waited for.
func TestOrdersThrottledRealClock(t *testing.T) {
	shop := shopifytest.New(t)
	addOrders(shop, 30)
	shop.SetThrottle(1000, 2000)
	shop.Drain()
	c, err := shopify.New(shopify.Options{Domain: shop.Domain(), Token: shopifytest.Token, HTTPClient: shop.Client(), Now: shop.Now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Orders(t.Context(), shop.Now().Add(-time.Hour), func([]shopapi.Found) error { return nil })
	if err != nil || res.Orders != 30 || res.Waits == 0 {
		t.Errorf("result %+v, %v: want 30 orders after waiting for the bucket", res, err)
	}
}

func TestOrders429(t *testing.T) {
	shop := shopifytest.New(t)
	addOrders(shop, 3)
	shop.Answer429(2, 3*time.Second)
	c, sl := newClient(t, shop, nil)
	pages, _, res := read(t, c, shop.Now().Add(-time.Hour))
	if got := flatten(pages); len(got) != 3 {
		t.Errorf("%d orders, want 3", len(got))
	}
	if diff := cmp.Diff([]time.Duration{3 * time.Second, 3 * time.Second}, sl.waits); diff != "" || res.Waits != 2 {
		t.Errorf("waits %v (result %d): want Retry-After twice (-want +got):\n%s", sl.waits, res.Waits, diff)
	}

	t.Run("attempts run out", func(t *testing.T) {
		shop.Answer429(5, time.Second)
		c, _ := newClient(t, shop, func(o *shopify.Options) { o.MaxAttempts = 3 })
		_, err := c.Orders(t.Context(), shop.Now().Add(-time.Hour), func([]shopapi.Found) error { return nil })
		if !errors.Is(err, shopify.ErrThrottled) || !strings.Contains(err.Error(), "3 attempts") {
			t.Errorf("error %v: want ErrThrottled after 3 attempts", err)
		}
	})
}

func TestOrdersUnauthorized(t *testing.T) {
	shop := shopifytest.New(t)
	addOrders(shop, 1)
	for _, token := range []string{"", "shpat_wrong_secret_value"} {
		c, _ := newClient(t, shop, func(o *shopify.Options) { o.Token = token })
		_, err := c.Orders(t.Context(), shop.Now().Add(-time.Hour), func([]shopapi.Found) error {
			t.Error("a page without the token")
			return nil
		})
		if !errors.Is(err, shopify.ErrUnauthorized) || !strings.Contains(err.Error(), "api_token") {
			t.Errorf("token %q: error %v, want ErrUnauthorized naming api_token", token, err)
		}
		if token != "" && strings.Contains(err.Error(), token) {
			t.Errorf("the error shows the token: %v", err)
		}
	}
	if n := len(shop.Requests()); n != 2 {
		t.Errorf("%d requests, want one each: a 401 is not retried", n)
	}
}

func TestOrdersStops(t *testing.T) {
	shop := shopifytest.New(t)
	addOrders(shop, 10)
	c, _ := newClient(t, shop, func(o *shopify.Options) { o.PageSize = 2 })

	t.Run("context cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		pages := 0
		_, err := c.Orders(ctx, shop.Now().Add(-time.Hour), func([]shopapi.Found) error {
			pages++
			cancel()
			return nil
		})
		if !errors.Is(err, context.Canceled) || pages != 1 {
			t.Errorf("error %v after %d pages: want context.Canceled after 1", err, pages)
		}
	})
	t.Run("page error", func(t *testing.T) {
		stop := errors.New("stop")
		_, err := c.Orders(t.Context(), shop.Now().Add(-time.Hour), func([]shopapi.Found) error { return stop })
		if !errors.Is(err, stop) {
			t.Errorf("error %v, want the page's", err)
		}
	})
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, opts := range []shopify.Options{
		{},
		{Domain: "https://shop.myshopify.com/admin"},
		{Domain: "shop.myshopify.com", APIVersion: "latest"},
		{Domain: "shop.myshopify.com", PageSize: 251},
	} {
		if _, err := shopify.New(opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
}

func TestOrdersServerErrors(t *testing.T) {
	shop := shopifytest.New(t)
	addOrders(shop, 3)
	shop.Fail(2, http.StatusBadGateway)
	c, sl := newClient(t, shop, nil)
	pages, _, _ := read(t, c, shop.Now().Add(-time.Hour))
	if got := flatten(pages); len(got) != 3 {
		t.Errorf("%d orders, want 3 after two 502s", len(got))
	}
	if diff := cmp.Diff([]time.Duration{2 * time.Second, 4 * time.Second}, sl.waits); diff != "" {
		t.Errorf("waits (-want +got), a longer one after each failure:\n%s", diff)
	}

	t.Run("attempts run out", func(t *testing.T) {
		shop.Fail(5, http.StatusServiceUnavailable)
		c, _ := newClient(t, shop, func(o *shopify.Options) { o.MaxAttempts = 2 })
		_, err := c.Orders(t.Context(), shop.Now().Add(-time.Hour), func([]shopapi.Found) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "2 attempts") {
			t.Errorf("error %v: want the 503 after 2 attempts", err)
		}
	})
}
