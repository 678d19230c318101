package ops_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

const (
	shop = "courses.myshopify.com"
	site = "https://shop.example.com"
)

// newOps returns Ops over a fresh database with an insert-only job queue.
func newOps(t *testing.T, db *store.DB, cfg config.Config) *ops.Ops {
	t.Helper()
	if err := jobs.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.New(db, nil, jobs.Options{Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	return &ops.Ops{DB: db, Enqueue: q.Enqueue, Config: cfg}
}

func testConfig(requirePayment, acceptUnpaid bool) config.Config {
	cfg := config.Default()
	cfg.Shopify = []config.Shop{{Domain: shop, Secrets: []config.Secret{"s"}}}
	cfg.WooCommerce = []config.Site{{Source: site + "/", Secrets: []config.Secret{"w"},
		RequirePayment: requirePayment, AcceptUnpaid: acceptUnpaid}}
	return cfg
}

// jobCount counts the enrollment jobs in the queue.
func jobCount(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM river_job`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../webhook/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// receive stores a delivery the way the server does for an accepted webhook.
func receive(t *testing.T, o *ops.Ops, p enroll.Platform, source string, body []byte) store.SaveResult {
	t.Helper()
	parse, path := webhook.ParseShopifyOrder, "/webhooks/shopify/order/create"
	if p == enroll.WooCommerce {
		parse, path = webhook.ParseWooCommerceOrder, "/webhooks/woocommerce/order/create"
	}
	order, err := parse(body)
	if err != nil {
		t.Fatal(err)
	}
	order.Source = source
	res, err := o.DB.SaveAccepted(context.Background(), store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: p, Source: source, Path: path, SourceIP: "192.0.2.7",
			Headers: http.Header{"X-Shopify-Hmac-Sha256": {"[masked]"}}, Body: body, Status: 200},
		Order: order}, o.Enqueue)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func fail(t *testing.T, db *store.DB, ids ...int64) {
	t.Helper()
	for _, id := range ids {
		if err := db.RecordAttempt(context.Background(), store.Attempt{ItemID: id, Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed,
			HTTPStatus: 404, Detail: "course not found", Counted: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReplay(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := newOps(t, db, testConfig(false, false))
		first := receive(t, o, enroll.Shopify, shop, testdata(t, "shopify_order.json"))
		fail(t, db, first.Enqueued...)
		jobs := jobCount(t, db)

		res, err := o.Replay(ctx, "admin", first.DeliveryID)
		if err != nil {
			t.Fatal(err)
		}
		if res.OrderID != first.OrderID || res.NewOrder || !slices.Equal(res.Enqueued, first.Enqueued) {
			t.Errorf("replay = %+v; want the failed items of order %d enqueued again", res, first.OrderID)
		}
		if got := jobCount(t, db); got <= jobs {
			t.Errorf("jobs %d → %d; want new jobs", jobs, got)
		}
		d, err := o.DB.OrderDetail(ctx, first.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Deliveries) != 2 {
			t.Fatalf("deliveries of the order: %d; want the original and the replay", len(d.Deliveries))
		}
		replay := d.Deliveries[1]
		if replay.ID != res.DeliveryID || replay.Reason != "replay of delivery 1 by admin" || replay.SourceIP != "" ||
			replay.Source != shop || !strings.Contains(replay.Headers, "[masked]") || replay.Path != "/webhooks/shopify/order/create" {
			t.Errorf("replayed delivery: %+v", replay)
		}
		for _, it := range d.Items {
			if it.Status != enroll.ItemPending {
				t.Errorf("item %d after the replay: %s; want pending", it.ID, it.Status)
			}
		}
		if len(d.Actions) != 1 || d.Actions[0].Action != "replay" || d.Actions[0].DeliveryID != first.DeliveryID || d.Actions[0].Actor != "admin" {
			t.Errorf("actions: %+v", d.Actions)
		}

		// Replaying again changes nothing: the items are pending.
		if res, err := o.Replay(ctx, "admin", first.DeliveryID); err != nil || len(res.Enqueued) != 0 {
			t.Errorf("second replay = %+v, %v; want nothing enqueued", res, err)
		}
	})
}

func TestReplayRefuses(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := newOps(t, db, testConfig(true, false))
		rejected, err := db.SaveDelivery(ctx, store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: shop,
			Path: "/webhooks/shopify/order/create", Body: []byte(`{"id":1}`), Status: 403, Reason: "invalid signature"})
		if err != nil {
			t.Fatal(err)
		}
		unpaid := testdata(t, "woocommerce_order_unpaid.json")
		paymentRequired, err := db.SaveDelivery(ctx, store.Delivery{ReceivedAt: time.Now(), Platform: enroll.WooCommerce, Source: site,
			Path: "/webhooks/woocommerce/order/create", Body: unpaid, KeepBody: true, Status: 402, Reason: "order is not paid"})
		if err != nil {
			t.Fatal(err)
		}
		other := receive(t, o, enroll.Shopify, "gone.myshopify.com", testdata(t, "shopify_order.json"))

		_, err = o.Replay(ctx, "admin", rejected)
		if !errors.Is(err, ops.ErrNoBody) || err.Error() != "delivery 1 has no stored body: only authenticated deliveries can be replayed" {
			t.Errorf("replay of a rejected delivery: %v", err)
		}
		if _, err := o.Replay(ctx, "admin", paymentRequired); err == nil || !strings.Contains(err.Error(), "not paid") {
			t.Errorf("replay of an unpaid order to a site that requires payment: %v", err)
		}
		if _, err := o.Replay(ctx, "admin", other.DeliveryID); err == nil || !strings.Contains(err.Error(), "not configured") {
			t.Errorf("replay for a shop no longer configured: %v", err)
		}
		if _, err := o.Replay(ctx, "admin", 999); !errors.Is(err, enroll.ErrNotFound) {
			t.Errorf("replay of a missing delivery: %v; want ErrNotFound", err)
		}

		// The site now accepts unpaid orders: the replay records the order as awaiting payment.
		o.Config = testConfig(true, true)
		res, err := o.Replay(ctx, "admin", paymentRequired)
		if err != nil || !res.NewOrder || len(res.Enqueued) != 0 {
			t.Fatalf("replay with accept_unpaid = %+v, %v", res, err)
		}
		d, _ := db.OrderDetail(ctx, res.OrderID)
		if d.Status != enroll.OrderAwaitingPayment || d.Platform != enroll.WooCommerce || d.Source != site {
			t.Errorf("replayed unpaid order: %+v", d.OrderRecord)
		}
	})
}

func TestRetryAndResolve(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := newOps(t, db, testConfig(false, false))
		a := receive(t, o, enroll.Shopify, shop, testdata(t, "shopify_order.json"))
		b := receive(t, o, enroll.WooCommerce, site, testdata(t, "woocommerce_order.json"))
		fail(t, db, append(a.Enqueued, b.Enqueued...)...)
		jobs := jobCount(t, db)

		retried, err := o.Retry(ctx, "cli:ops", a.Enqueued[0])
		if err != nil || !slices.Equal(retried, a.Enqueued[:1]) {
			t.Fatalf("Retry = %v, %v", retried, err)
		}
		if got := jobCount(t, db); got != jobs+1 {
			t.Errorf("jobs %d → %d; want one more", jobs, got)
		}
		retried, err = o.RetryFailed(ctx, "cli:ops", store.OrderFilter{Platform: enroll.WooCommerce})
		if err != nil || !slices.Equal(retried, b.Enqueued) {
			t.Fatalf("RetryFailed(woocommerce) = %v, %v; want %v", retried, err, b.Enqueued)
		}
		if len(a.Enqueued) > 1 {
			if err := o.Resolve(ctx, "admin", a.Enqueued[1], "refunded"); err != nil {
				t.Fatal(err)
			}
		}
		if retried, err := o.RetryFailed(ctx, "cli:ops", store.OrderFilter{Platform: enroll.Shopify}); err != nil || len(retried) != 0 {
			t.Errorf("RetryFailed with nothing failed = %v, %v", retried, err)
		}
		if err := o.Resolve(ctx, "admin", a.Enqueued[0], ""); err == nil {
			t.Error("resolved without a note")
		}
	})
}

func TestRetryFailedNeedsAFilter(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := newOps(t, db, testConfig(false, false))
		a := receive(t, o, enroll.Shopify, shop, testdata(t, "shopify_order.json"))
		fail(t, db, a.Enqueued...)
		for _, f := range []store.OrderFilter{{}, {Status: "failed"}, {Query: "  "}, {Before: 10, Limit: 5}} {
			retried, err := o.RetryFailed(ctx, "cli:ops", f)
			var refusal *ops.Refusal
			if !errors.Is(err, ops.ErrNoFilter) || !errors.As(err, &refusal) || len(retried) != 0 {
				t.Errorf("RetryFailed(%+v) = %v, %v; want a refusal (ErrNoFilter)", f, retried, err)
			}
		}
		if w, _ := db.WorkFor(ctx, a.Enqueued[0]); w.Status != enroll.ItemFailed {
			t.Errorf("item after refused retries: %s; want failed", w.Status)
		}
		retried, err := o.RetryFailed(ctx, "cli:ops", store.OrderFilter{Source: shop})
		if err != nil || !slices.Equal(retried, a.Enqueued) {
			t.Errorf("RetryFailed(source) = %v, %v; want %v", retried, err, a.Enqueued)
		}
	})
}

func TestFailedItemsAndRetryOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		o := newOps(t, db, testConfig(false, false))
		a := receive(t, o, enroll.Shopify, shop, testdata(t, "shopify_order.json"))
		fail(t, db, a.Enqueued[0])
		ord, err := db.OrderDetail(ctx, a.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if got := ops.FailedItems(ord.OrderRecord); !slices.Equal(got, a.Enqueued[:1]) {
			t.Errorf("FailedItems = %v; want %v", got, a.Enqueued[:1])
		}
		retried, err := o.RetryOrder(ctx, "admin", ord.OrderRecord)
		if err != nil || !slices.Equal(retried, a.Enqueued[:1]) {
			t.Errorf("RetryOrder = %v, %v; want %v", retried, err, a.Enqueued[:1])
		}
	})
}

func TestOrdersOfShop(t *testing.T) {
	orders := []store.OrderRecord{
		{ID: 1, Platform: enroll.Shopify, Source: "courses.myshopify.com"},
		{ID: 2, Platform: enroll.WooCommerce, Source: "https://shop.example.com/Store"},
		{ID: 3, Platform: enroll.Shopify, Source: "other.myshopify.com"},
	}
	ids := func(os []store.OrderRecord) []int64 {
		var out []int64
		for _, o := range os {
			out = append(out, o.ID)
		}
		return out
	}
	for _, tt := range []struct {
		platform enroll.Platform
		source   string
		want     []int64
	}{
		{"", "", []int64{1, 2, 3}},
		{enroll.Shopify, "", []int64{1, 3}},
		{"", "Courses.MyShopify.com", []int64{1}},
		{enroll.Shopify, "COURSES.myshopify.com", []int64{1}},
		{enroll.WooCommerce, "COURSES.myshopify.com", nil},
		{"", "HTTPS://Shop.Example.com/Store/", []int64{2}},
		{"", "https://shop.example.com/store", nil},
	} {
		if got := ids(ops.OrdersOfShop(orders, tt.platform, tt.source)); !slices.Equal(got, tt.want) {
			t.Errorf("OrdersOfShop(%q, %q) = %v; want %v", tt.platform, tt.source, got, tt.want)
		}
	}
}

// TestShopNamesMatchAsConfigured: the configuration finds a shop or site by
// the same rule as operators name one (enroll.SameSource).
func TestShopNamesMatchAsConfigured(t *testing.T) {
	cfg := testConfig(false, false)
	for _, tt := range []struct {
		p    enroll.Platform
		name string
	}{
		{enroll.Shopify, shop},
		{enroll.Shopify, strings.ToUpper(shop)},
		{enroll.Shopify, "Courses.MyShopify.com "},
		{enroll.Shopify, "other.myshopify.com"},
		{enroll.WooCommerce, site},
		{enroll.WooCommerce, site + "/"},
		{enroll.WooCommerce, "HTTPS://SHOP.example.com"},
		{enroll.WooCommerce, site + "/Shop"},
		{enroll.WooCommerce, "http://shop.example.com"},
	} {
		var configured string
		var found bool
		if tt.p == enroll.Shopify {
			var s config.Shop
			s, found = cfg.Shop(tt.name)
			configured = s.Domain
			if !found {
				configured = cfg.Shopify[0].Domain
			}
		} else {
			var s config.Site
			s, found = cfg.Site(tt.name)
			configured = s.Source
			if !found {
				configured = cfg.WooCommerce[0].Source
			}
		}
		if same := enroll.SameSource(tt.p, configured, tt.name); same != found {
			t.Errorf("%s %q: the configuration finds it %v, enroll.SameSource says %v", tt.p, tt.name, found, same)
		}
	}
}
