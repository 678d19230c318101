package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ingest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// In a healthy system reconciliation finds nothing: a Shopify order all of
// whose webhooks came, of the topics the shop is subscribed to, is neither
// missing nor stale, although the shop's financial status moved on with a
// refund (Shopify sends refunds/create, never the refunded order) or with
// changes no subscribed topic sends. A change a subscribed topic sends
// and that did not come makes it stale.
func TestReconcileHealthyShopify(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		// The shop subscribes to every topic (payment and refunds on).
		f := newFakeShops(t)
		shop := f.cfg.Shopify[0]
		o := newOps(t, db, f.cfg)
		hooks := shopifyHooks{t: t, f: f, db: db, o: o, shop: shop}

		// Partly refunded, its refund delivered.
		order := hooks.created("PAID")
		f.shopify.Advance(time.Minute)
		refund := f.shopify.RefundLines(order.ID, shopifytest.RefundLine{LineItemID: order.Lines[1].ID, Quantity: 1})
		body := f.shopify.RefundWebhook(order.ID, refund.ID)
		r, err := webhook.ParseShopifyRefund(body)
		if err != nil {
			t.Fatal(err)
		}
		hooks.save(ingest.ShopifyRefund(shop, r), body)
		if got := hooks.reconcile(); got.Run.Seen != 1 || got.Run.Missing+got.Run.Stale+got.Run.Refunds != 0 {
			t.Errorf("a healthy shop's reconciliation: %+v; want its order seen, nothing found", got)
		}

		// Its cancellation, which the shop sends, did not come.
		f.shopify.Advance(time.Minute)
		f.shopify.Cancel(order.ID)
		if got := hooks.reconcile(); got.Run.Stale != 1 {
			t.Errorf("a cancellation lost: %+v; want the order stale", got)
		}
	})
}

// A Shopify shop subscribed to orders/create only (payment not required,
// refunds not unenrolling) sends nothing when an order is paid later,
// refunded or cancelled: none of these makes it stale.
func TestReconcileShopifyCreateOnly(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		f := newFakeShops(t)
		f.cfg.Shopify[0].RequirePayment, f.cfg.Shopify[0].UnenrollOnRefund = false, false
		if topics := ops.ShopifyTopics(f.cfg.Shopify[0]); len(topics) != 1 {
			t.Fatalf("topics %+v; want orders/create only", topics)
		}
		o := newOps(t, db, f.cfg)
		hooks := shopifyHooks{t: t, f: f, db: db, o: o, shop: f.cfg.Shopify[0]}
		order := hooks.created("PENDING")
		f.shopify.Advance(time.Minute)
		f.shopify.Pay(order.ID)
		f.shopify.RefundLines(order.ID)
		f.shopify.Cancel(order.ID)
		if got := hooks.reconcile(); got.Run.Seen != 1 || got.Run.Missing+got.Run.Stale != 0 {
			t.Errorf("reconciliation: %+v; want nothing missing or stale", got)
		}
	})
}

// shopifyHooks stores Shopify webhooks of the fake's orders as the webhook
// endpoints do, and reconciles the shop.
type shopifyHooks struct {
	t    *testing.T
	f    *fakeShops
	db   *store.DB
	o    *ops.Ops
	shop config.Shop
}

func (h shopifyHooks) save(a store.Accepted, body []byte) {
	h.t.Helper()
	a.Order.Source = h.shop.Domain
	a.Delivery = store.Delivery{ReceivedAt: time.Now(), Platform: a.Order.Platform, Source: h.shop.Domain,
		Path: "/webhooks/shopify", Body: body, Status: 200}
	if _, err := h.db.SaveAccepted(context.Background(), a, h.o.Enqueue); err != nil {
		h.t.Fatal(err)
	}
}

// created adds an order to the fake, and its orders/create webhook comes.
func (h shopifyHooks) created(status string) shopifytest.Order {
	h.t.Helper()
	order := h.f.shopify.AddOrder(shopifytest.Order{Email: "a@example.com", FinancialStatus: status,
		Lines: []shopifytest.Line{{SKU: "course-v1:A+B+C"}, {SKU: "course-v1:A+B+D", Learners: []string{"b@example.com"}}}})
	body := h.f.shopify.OrderWebhook(order.ID)
	parsed, err := webhook.ParseShopifyOrder(body)
	if err != nil {
		h.t.Fatal(err)
	}
	a, err := ingest.ShopifyOrder(h.f.cfg, h.shop, ingest.OrdersCreate, parsed)
	if err != nil {
		h.t.Fatal(err)
	}
	h.save(a, body)
	return order
}

func (h shopifyHooks) reconcile() ops.ReconcileReport {
	h.t.Helper()
	reports := h.f.reconcile(h.t, h.o, ops.ReconcileOptions{Shop: h.shop.Domain, Since: time.Now().Add(-time.Hour)})
	if len(reports) != 1 {
		h.t.Fatalf("reports %+v", reports)
	}
	return reports[0]
}
