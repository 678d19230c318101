package ops_test

import (
	"context"
	"fmt"
	"net/http"
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
		o := newOps(t, db, f.cfg)

		reports := f.reconcile(t, o, ops.ReconcileOptions{StartedBy: store.ReconcileCommand, Actor: "admin"})
		if len(reports) != 2 || reports[0].Run.Seen != 3 || reports[0].Run.Missing != 3 || reports[1].Run.Missing != 1 {
			t.Fatalf("reports %+v", reports)
		}
		if jobCount(t, db) != 4 {
			t.Errorf("%d jobs, want 4", jobCount(t, db))
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
