package ops_test

import (
	"context"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// hold takes a shop's lock as another run of it would, until the test ends.
func hold(t *testing.T, db *store.DB, what string, p enroll.Platform, source string) {
	t.Helper()
	unlock, ok, err := db.TryLockShop(context.Background(), what, p, source)
	if err != nil || !ok {
		t.Fatalf("lock %s of %s: %v, %v", what, source, ok, err)
	}
	t.Cleanup(unlock)
}

// A reconciliation of a shop that another runs skips it, says so, and
// records and stores nothing; the other shops are reconciled.
func TestReconcileSkipsAShopAlreadyBeingReconciled(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		f := newFakeShops(t)
		f.shopify.AddOrder(shopifytest.Order{Email: "s@example.com", Lines: []shopifytest.Line{{SKU: "course-v1:A+B+C"}}})
		o := newOps(t, db, f.cfg)
		domain := f.cfg.Shopify[0].Domain
		hold(t, db, store.LockReconcile, enroll.Shopify, domain)
		logs := &logLines{}
		reports := f.reconcile(t, o, ops.ReconcileOptions{StartedBy: store.ReconcileConsole, Logger: logs.logger()})
		if len(reports) != 2 || !reports[0].Busy || reports[0].Skipped != "reconciliation of "+domain+" already running" ||
			reports[0].Run.Missing != 0 || reports[1].Busy || reports[1].Run.ID == 0 {
			t.Fatalf("reports %+v", reports)
		}
		if l := logs.lines(t, "reconciliation of "+domain+" already running"); len(l) != 1 {
			t.Errorf("logged: %s", logs)
		}
		runs, err := db.ReconcileRuns(context.Background(), enroll.Shopify, domain, 10)
		if err != nil || len(runs) != 0 {
			t.Errorf("runs %+v, %v; want none", runs, err)
		}
		if jobCount(t, db) != 0 {
			t.Errorf("%d jobs; want none", jobCount(t, db))
		}
	})
}

// A check of a shop that another checks leaves it out; a repair whose
// reconciliation finds another running is put off to the next check.
func TestCheckShopsSkipsAShopBeingCheckedOrReconciled(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		f, o := healthFixture(t, db)
		o.Config.Shopify[0].Repair = true
		domain := f.cfg.Shopify[0].Domain
		f.shopify.DeleteSubscription(f.shopify.Subscriptions()[0].ID)
		hold(t, db, store.LockCheck, enroll.Shopify, domain)
		logs := &logLines{}
		hs := checkShops(t, o, f, logs)
		if len(hs) != 1 || hs[0].Report.Platform != enroll.WooCommerce {
			t.Fatalf("checked %+v; want the WooCommerce site only", hs)
		}
		if l := logs.lines(t, "check of "+domain+" already running"); len(l) != 1 {
			t.Errorf("logged: %s", logs)
		}

		f2, o2 := healthFixture(t, db)
		o2.Config.Shopify[0].Repair = true
		domain2 := f2.cfg.Shopify[0].Domain
		f2.shopify.DeleteSubscription(f2.shopify.Subscriptions()[0].ID)
		hold(t, db, store.LockReconcile, enroll.Shopify, domain2)
		hs = checkShops(t, o2, f2, logs)
		if len(hs) != 2 || hs[0].RepairErr == nil || len(hs[0].Repair) != 0 || len(hs[0].Down()) != 1 {
			t.Fatalf("check %+v; want the repair put off", hs)
		}
		if len(f2.shopify.Subscriptions()) != 3 {
			t.Errorf("subscriptions %+v; want the deleted one still missing", f2.shopify.Subscriptions())
		}
	})
}
