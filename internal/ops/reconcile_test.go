package ops_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// reconcile runs Reconcile with the fakes' client, its waits moving the
// Shopify fake's clock, from a day before the WooCommerce fake's clock
// (which starts days before today) unless told.
func (f *fakeShops) reconcile(t *testing.T, o *ops.Ops, opts ops.ReconcileOptions) []ops.ReconcileReport {
	t.Helper()
	opts.HTTPClient = f.client
	if opts.Since.IsZero() {
		opts.Since = f.woo.Now().Add(-24 * time.Hour)
	}
	if opts.Sleep == nil {
		opts.Sleep = func(ctx context.Context, d time.Duration) error { f.shopify.Advance(d); return ctx.Err() }
	}
	reports, err := o.Reconcile(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reports {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Shop, r.Err)
		}
	}
	return reports
}

// Orders the store lacks are stored from the shops' APIs as deliveries
// from reconcile, whose bodies replay; a second run finds nothing.
func TestReconcileStoresMissingOrders(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFakeShops(t)
		for i := range 3 {
			f.shopify.AddOrder(shopifytest.Order{Email: fmt.Sprintf("s%d@example.com", i),
				Lines: []shopifytest.Line{{SKU: "course-v1:A+B+C"}}})
		}
		wooID, _ := f.woo.AddOrder(wootest.NewOrder{Email: "w@example.com", Paid: true, Lines: []wootest.Line{{SKU: "course-v1:A+B+W"}}})
		refundedID, lines := f.woo.AddOrder(wootest.NewOrder{Email: "r@example.com", Paid: true,
			Lines: []wootest.Line{{SKU: "course-v1:A+B+W", Meta: map[string]any{"email": "r1@example.com"}},
				{SKU: "course-v1:A+B+X", Meta: map[string]any{"email": "r2@example.com"}}}})
		f.woo.Advance(time.Minute)
		refundID := f.woo.Refund(refundedID, map[int64]int{lines[1]: 1})
		f.cfg.WooCommerce[0].UnenrollOnRefund = true
		o := newOps(t, db, f.cfg)

		reports := f.reconcile(t, o, ops.ReconcileOptions{StartedBy: store.ReconcileCommand, Actor: "admin"})
		if len(reports) != 2 || reports[0].Run.Seen != 3 || reports[0].Run.Missing != 3 || reports[1].Run.Missing != 2 ||
			reports[1].Run.Refunds != 1 {
			t.Fatalf("reports %+v", reports)
		}
		if jobCount(t, db) != 5 {
			t.Errorf("%d jobs, want 5 (the refunded learner's seat is never enrolled)", jobCount(t, db))
		}
		var refundDelivery int64
		for _, fo := range reports[1].Found {
			if fo.RefundID == refundID {
				refundDelivery = fo.DeliveryID
			}
		}
		if res, err := o.Replay(ctx, "admin", refundDelivery); err != nil || !res.Duplicate() {
			t.Errorf("replay of a reconciled WooCommerce refund: %+v, %v; want a duplicate", res, err)
		}
		stored, err := db.FindOrder(ctx, enroll.WooCommerce, f.woo.URL, wooID)
		if err != nil || len(stored.Items) != 1 {
			t.Fatalf("woo order: %+v, %v", stored, err)
		}
		deliveries, _, err := db.ListDeliveries(ctx, store.DeliveryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deliveries {
			if d.Path != ops.ReconcilePath || d.Status != http.StatusOK {
				t.Errorf("delivery %+v", d)
			}
		}
		if _, err := o.Replay(ctx, "admin", deliveries[0].ID); err != nil {
			t.Errorf("replay of a reconciled delivery: %v", err)
		}

		again := f.reconcile(t, o, ops.ReconcileOptions{})
		for _, r := range again {
			if r.Run.Missing+r.Run.Stale+r.Run.Refunds != 0 || len(r.Found) != 0 {
				t.Errorf("second run found %+v", r)
			}
		}
		runs, err := db.ReconcileRuns(ctx, "", "", 10)
		if err != nil || len(runs) != 4 {
			t.Errorf("runs %+v, %v", runs, err)
		}
	})
}

// A dry run stores nothing but its record, which says what it found.
func TestReconcileDryRun(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFakeShops(t)
		f.shopify.AddOrder(shopifytest.Order{Email: "s@example.com", Lines: []shopifytest.Line{{SKU: "course-v1:A+B+C"}}})
		f.woo.AddOrder(wootest.NewOrder{Email: "w@example.com", Paid: true, Lines: []wootest.Line{{SKU: "course-v1:A+B+W"}}})
		o := newOps(t, db, f.cfg)
		reports := f.reconcile(t, o, ops.ReconcileOptions{DryRun: true, StartedBy: store.ReconcileConsole, Actor: "admin"})
		if len(reports) != 2 || reports[0].Run.Missing != 1 || reports[1].Run.Missing != 1 || len(reports[0].Found) != 1 ||
			reports[0].Found[0].DeliveryID != 0 {
			t.Fatalf("reports %+v", reports)
		}
		if orders, _, err := db.ListOrders(ctx, store.OrderFilter{}); err != nil || len(orders) != 0 {
			t.Errorf("a dry run stored orders: %d, %v", len(orders), err)
		}
		if ds, _, err := db.ListDeliveries(ctx, store.DeliveryFilter{}); err != nil || len(ds) != 0 {
			t.Errorf("a dry run stored deliveries: %d, %v", len(ds), err)
		}
		if jobCount(t, db) != 0 {
			t.Error("a dry run enqueued jobs")
		}
		runs, err := db.ReconcileRuns(ctx, "", "", 10)
		if err != nil || len(runs) != 2 || !runs[0].DryRun || !runs[1].DryRun || runs[0].Missing+runs[1].Missing != 2 ||
			runs[0].StartedBy != store.ReconcileConsole || runs[0].Actor != "admin" {
			t.Errorf("runs %+v, %v", runs, err)
		}
	})
}

// A site that ignores modified_after lists old orders too: they are left
// out, with a warning; Shopify's window is cut to its 60 days, with a
// warning; a shop whose API fails is reported, and the other reconciled.
func TestReconcileWarningsAndFailures(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFakeShops(t)
		old, _ := f.woo.AddOrder(wootest.NewOrder{Email: "old@example.com", Paid: true, Lines: []wootest.Line{{SKU: "course-v1:A+B+W"}}})
		f.woo.Advance(48 * time.Hour)
		recent, _ := f.woo.AddOrder(wootest.NewOrder{Email: "new@example.com", Paid: true, Lines: []wootest.Line{{SKU: "course-v1:A+B+W"}}})
		f.woo.SetIgnoreModifiedAfter(true)
		o := newOps(t, db, f.cfg)

		reports := f.reconcile(t, o, ops.ReconcileOptions{Shop: f.woo.URL})
		if len(reports) != 1 || reports[0].Run.Missing != 1 || len(reports[0].Found) != 1 || reports[0].Found[0].OrderID != recent ||
			len(reports[0].Run.Warnings) != 1 || !strings.Contains(reports[0].Run.Warnings[0], "ignored modified_after") {
			t.Errorf("a site ignoring modified_after: %+v", reports)
		}
		if _, err := db.FindOrder(ctx, enroll.WooCommerce, f.woo.URL, old); err == nil {
			t.Errorf("order %d, changed before the window, stored", old)
		}

		f.shopify.AddOrder(shopifytest.Order{Email: "s@example.com", Lines: []shopifytest.Line{{SKU: "course-v1:A+B+C"}}})
		reports = f.reconcile(t, o, ops.ReconcileOptions{Shop: f.shopify.Domain(), Since: time.Now().AddDate(0, 0, -90)})
		if len(reports) != 1 || reports[0].Run.Missing != 1 || len(reports[0].Run.Warnings) != 1 ||
			!strings.Contains(reports[0].Run.Warnings[0], "read_all_orders") || reports[0].Run.Since.Before(time.Now().AddDate(0, 0, -61)) {
			t.Errorf("a window beyond Shopify's 60 days: %+v", reports)
		}

		f.shopify.SetToken("another")
		f.woo.AddOrder(wootest.NewOrder{Email: "more@example.com", Paid: true, Lines: []wootest.Line{{SKU: "course-v1:A+B+W"}}})
		reports, err := o.Reconcile(ctx, ops.ReconcileOptions{HTTPClient: f.client, Since: f.woo.Now().Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if ops.ReconcileFailed(reports) != 1 || reports[0].Err == nil || reports[0].Run.Error == "" || reports[1].Err != nil ||
			reports[1].Run.Missing != 1 {
			t.Errorf("a failing shop: %+v", reports)
		}
		runs, err := db.ReconcileRuns(ctx, enroll.Shopify, f.shopify.Domain(), 1)
		if err != nil || len(runs) != 1 || runs[0].Error == "" {
			t.Errorf("the failed run's record: %+v, %v", runs, err)
		}
		if _, err := o.Reconcile(ctx, ops.ReconcileOptions{Shop: "nowhere.myshopify.com"}); err == nil {
			t.Error("an unknown shop reconciled")
		}
	})
}
