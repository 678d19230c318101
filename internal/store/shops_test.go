package store_test

import (
	"context"
	"database/sql"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

func TestReconcileRuns(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		run := func(source string, at time.Time, missing, stale int, dry bool) {
			t.Helper()
			_, err := db.RecordReconcileRun(ctx, store.ReconcileRun{Platform: enroll.Shopify, Source: source,
				StartedBy: store.ReconcilePeriodic, Since: at.Add(-72 * time.Hour), StartedAt: at, FinishedAt: at.Add(time.Second),
				DryRun: dry, Seen: 10, Missing: missing, Stale: stale, Warnings: []string{"one", "two"}})
			if err != nil {
				t.Fatal(err)
			}
		}
		run("a.myshopify.com", now.AddDate(0, 0, -10), 5, 0, false) // before the week
		run("a.myshopify.com", now.Add(-time.Hour), 2, 1, false)
		run("a.myshopify.com", now.Add(-time.Minute), 7, 0, true) // dry runs store nothing
		run("b.myshopify.com", now.Add(-time.Minute), 0, 0, false)
		got, err := db.ReconciledSince(ctx, now.AddDate(0, 0, -7))
		if err != nil {
			t.Fatal(err)
		}
		want := []store.Reconciled{{Platform: enroll.Shopify, Source: "a.myshopify.com", Missing: 2, Stale: 1}}
		if !slices.Equal(got, want) {
			t.Errorf("reconciled this week = %+v, want %+v", got, want)
		}
		runs, err := db.ReconcileRuns(ctx, enroll.Shopify, "a.myshopify.com", 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2 || !runs[0].DryRun || runs[1].Missing != 2 || !slices.Equal(runs[1].Warnings, []string{"one", "two"}) ||
			!runs[1].StartedAt.Equal(now.Add(-time.Hour)) {
			t.Errorf("latest runs = %+v", runs)
		}
	})
}

func TestShopChecksAndOutages(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Now().UTC().Truncate(time.Second)
		site := "https://shop.example.com"
		check := func(at time.Time, state string, repaired bool) {
			t.Helper()
			err := db.RecordShopCheck(ctx, store.ShopCheck{Platform: enroll.WooCommerce, Source: site, CheckedAt: at,
				Webhooks: []store.ShopWebhook{
					{Topic: "order.created", Address: "https://r.example.com/webhooks/woocommerce/order/create", State: "active", Up: true},
					{Topic: "order.updated", Address: "https://r.example.com/webhooks/woocommerce/order/update", State: state,
						Up: state == "active", Repaired: repaired},
				}})
			if err != nil {
				t.Fatal(err)
			}
		}
		check(t0, "active", false)
		check(t0.Add(15*time.Minute), "disabled", false)
		check(t0.Add(30*time.Minute), "disabled", false) // still the same outage
		// The API fails: the webhooks stay as last seen.
		if err := db.RecordShopCheck(ctx, store.ShopCheck{Platform: enroll.WooCommerce, Source: site,
			CheckedAt: t0.Add(40 * time.Minute), Error: "401 Unauthorized"}); err != nil {
			t.Fatal(err)
		}
		checks, err := db.ShopChecks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(checks) != 1 || checks[0].Error != "401 Unauthorized" || len(checks[0].Webhooks) != 2 ||
			checks[0].Webhooks[1].Up || !checks[0].Webhooks[1].DownSince.Equal(t0.Add(15*time.Minute)) {
			t.Fatalf("checks while down = %+v", checks)
		}
		check(t0.Add(45*time.Minute), "active", true)
		outages, err := db.Outages(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(outages) != 1 || outages[0].Topic != "order.updated" || outages[0].State != "disabled" ||
			!outages[0].DownAt.Equal(t0.Add(15*time.Minute)) || !outages[0].UpAt.Equal(t0.Add(45*time.Minute)) || !outages[0].Repaired {
			t.Errorf("outages = %+v", outages)
		}
		if later, _ := db.Outages(ctx, t0.Add(time.Hour)); len(later) != 0 {
			t.Errorf("outages over before the hour are listed after it: %+v", later)
		}
		checks, _ = db.ShopChecks(ctx)
		if !checks[0].Webhooks[1].Up || !checks[0].Webhooks[1].DownSince.IsZero() {
			t.Errorf("repaired webhook = %+v", checks[0].Webhooks[1])
		}

		// A topic down that the shop needs no more: its outage ends with
		// the first check without it.
		check(t0.Add(50*time.Minute), "paused", false)
		if err := db.RecordShopCheck(ctx, store.ShopCheck{Platform: enroll.WooCommerce, Source: site, CheckedAt: t0.Add(55 * time.Minute),
			Webhooks: []store.ShopWebhook{{Topic: "order.created", State: "active", Up: true}}}); err != nil {
			t.Fatal(err)
		}
		outages, err = db.Outages(ctx, t0.Add(time.Hour))
		if err != nil || len(outages) != 0 {
			t.Errorf("outages after the hour = %+v, %v; want none open", outages, err)
		}
		outages, _ = db.Outages(ctx, t0.Add(50*time.Minute))
		if len(outages) != 1 || outages[0].State != "paused" || !outages[0].UpAt.Equal(t0.Add(55*time.Minute)) || outages[0].Repaired {
			t.Errorf("the outage of a topic no longer checked = %+v; want it closed at the check, not repaired", outages)
		}
	})
}

// StoredOrders reads a shop's orders among the ids asked, with their last
// snapshot, items and refunds; other shops' orders and ids not stored are
// left out.
func TestStoredOrders(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		noop := func(context.Context, *sql.Tx, [][]int64) error { return nil }
		at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
		save := func(a store.Accepted) {
			t.Helper()
			a.Delivery = store.Delivery{ReceivedAt: at, Platform: a.Order.Platform, Source: a.Order.Source, Path: "reconcile", Status: 200}
			if _, err := db.SaveAccepted(ctx, a, noop); err != nil {
				t.Fatal(err)
			}
		}
		const shop = "a.myshopify.com"
		order := func(id int64, status string, awaiting bool) store.Accepted {
			return store.Accepted{AwaitingPayment: awaiting, Order: enroll.Order{Platform: enroll.Shopify, Source: shop, ID: id, Paid: true,
				Items:    []enroll.Item{{LineItemID: 11, SKU: "course-v1:A+B+C", Email: "a@example.com"}, {LineItemID: 12, SKU: "course-v1:A+B+D", Email: "b@example.com"}},
				Snapshot: enroll.Snapshot{At: at, ShopStatus: status}}}
		}
		save(order(1, "paid", false))
		save(order(2, "pending", true))
		other := order(3, "paid", false)
		other.Order.Source = "b.myshopify.com"
		save(other)
		save(store.Accepted{Order: enroll.Order{Platform: enroll.Shopify, Source: shop, ID: 1},
			Refund: &enroll.Refund{ID: 91, OrderID: 1, Lines: []enroll.RefundLine{{LineItemID: 11, Quantity: 1}}}})
		save(store.Accepted{Order: enroll.Order{Platform: enroll.Shopify, Source: shop, ID: 4},
			Refund: &enroll.Refund{ID: 92, OrderID: 4, Lines: []enroll.RefundLine{{LineItemID: 11, Quantity: 1}}}})

		got, err := db.StoredOrders(ctx, enroll.Shopify, shop, []int64{1, 2, 3, 4, 5})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("orders %v, want 1, 2 and 4", slices.Collect(maps.Keys(got)))
		}
		one := got[1]
		if one.AwaitingPayment() || !one.Snapshot.At.Equal(at) || one.Snapshot.ShopStatus != "paid" || len(one.Items) != 2 ||
			one.Items[1] != (store.StoredItem{LineItemID: 12, SKU: "course-v1:A+B+D", Email: "b@example.com"}) || !slices.Equal(one.Refunds, []int64{91}) {
			t.Errorf("order 1: %+v", one)
		}
		if two := got[2]; !two.AwaitingPayment() || len(two.Items) != 0 || two.Snapshot.ShopStatus != "pending" {
			t.Errorf("order 2: %+v", two)
		}
		if four := got[4]; !four.Snapshot.At.IsZero() || !slices.Equal(four.Refunds, []int64{92}) {
			t.Errorf("order 4, known by its refund only: %+v", four)
		}
	})
}
