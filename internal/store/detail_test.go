package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// TestOrderLifecycleColumns reads what the order's life left in the new
// columns: the snapshot applied, refunds, redaction, each item's desired
// state, mode, seats and refund, and the stale and duplicate deliveries.
func TestOrderLifecycleColumns(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		life := storetest.LifecycleOrders(t, db)
		d, err := db.OrderDetail(ctx, life.Orders[9001])
		if err != nil {
			t.Fatal(err)
		}
		if !d.Snapshot.At.Equal(storetest.LifeSnapshotAt) {
			t.Errorf("snapshot at %v; want %v", d.Snapshot.At, storetest.LifeSnapshotAt)
		}
		d.Snapshot.At = time.Time{}
		if want := (enroll.Snapshot{ShopStatus: "partially_refunded"}); d.Snapshot != want || !d.RedactedAt.IsZero() {
			t.Errorf("snapshot %+v, redacted at %v; want %+v, never redacted", d.Snapshot, d.RedactedAt, want)
		}
		type item struct {
			Email, Mode  string
			Status       enroll.ItemStatus
			Want         enroll.Want
			LineQuantity int
			Refunded     bool
		}
		var items []item
		for _, it := range d.Items {
			items = append(items, item{it.Email, it.Mode, it.Status, it.Want, it.LineQuantity, it.Refunded})
		}
		wantItems := []item{
			{"ada@example.com", "verified", enroll.ItemEnrolled, enroll.WantEnrolled, 5, false},
			{"bob@example.com", "verified", enroll.ItemRetrying, enroll.WantUnenrolled, 5, true},
			{"cy@example.com", "verified", enroll.ItemAwaitingRegistration, enroll.WantEnrolled, 1, false},
		}
		if diff := cmp.Diff(wantItems, items); diff != "" {
			t.Errorf("items (-want +got):\n%s", diff)
		}
		wantLines := []store.Line{
			{LineItemID: 11, SKU: "TEAM", Seats: enroll.Seats{Quantity: 5, Assigned: 2, Unassigned: 3, Refunded: 1},
				ItemIDs: []int64{life.Items["ada@example.com"], life.Items["bob@example.com"]}},
			{LineItemID: 12, SKU: "SOLO", Seats: enroll.Seats{Quantity: 1, Assigned: 1}, ItemIDs: []int64{life.Items["cy@example.com"]}},
		}
		if diff := cmp.Diff(wantLines, d.Lines()); diff != "" {
			t.Errorf("lines (-want +got):\n%s", diff)
		}
		if s := d.SeatsByItem()[life.Items["bob@example.com"]]; s.String() != "2 of 5 seats assigned" {
			t.Errorf("bob's seats: %q", s)
		}
		wantRefunds := []store.RefundRecord{{RefundID: 7001, LineItemID: 11, Quantity: 4, At: storetest.LifeRefundAt}}
		if diff := cmp.Diff(wantRefunds, d.Refunds, cmp.Comparer(time.Time.Equal)); diff != "" {
			t.Errorf("refunds (-want +got):\n%s", diff)
		}
		if d.StaleSnapshots() != 2 || d.Duplicates() != 1 || len(d.Deliveries) != 4 {
			t.Errorf("%d stale snapshots, %d duplicates of %d deliveries; want 2 and 1 of 4", d.StaleSnapshots(), d.Duplicates(), len(d.Deliveries))
		}

		// Every way of reading orders reads the same columns.
		woo, err := db.FindOrder(ctx, enroll.WooCommerce, storetest.LifeSite, 9002)
		if err != nil {
			t.Fatal(err)
		}
		if !woo.Snapshot.PartialRefund || woo.Snapshot.Refunded || woo.Snapshot.Cancelled || woo.Snapshot.ShopStatus != "processing" ||
			!woo.RedactedAt.Equal(storetest.LifeRedactedAt) {
			t.Errorf("order 9002: %+v, redacted at %v", woo.Snapshot, woo.RedactedAt)
		}
		if it := woo.Items[0]; it.Mode != "" || it.Want != enroll.WantEnrolled || it.LineQuantity != 1 {
			t.Errorf("order 9002's item: %+v", it)
		}
		list, _, err := db.ListOrders(ctx, store.OrderFilter{Status: string(enroll.ItemUnenrolled)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[int64]enroll.Snapshot{}
		for _, o := range list {
			got[o.ExternalID] = enroll.Snapshot{ShopStatus: o.Snapshot.ShopStatus, Cancelled: o.Snapshot.Cancelled, Refunded: o.Snapshot.Refunded}
		}
		want := map[int64]enroll.Snapshot{9003: {ShopStatus: "refunded", Refunded: true}, 9004: {ShopStatus: "voided", Cancelled: true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("orders with an unenrolled item (-want +got):\n%s", diff)
		}
		byID, err := db.OrdersByExternalID(ctx, 9004)
		if err != nil || len(byID) != 1 || !byID[0].Snapshot.Cancelled || byID[0].Items[0].Status != enroll.ItemUnenrolled {
			t.Errorf("OrdersByExternalID(9004) = %+v, %v", byID, err)
		}
		awaiting, _, err := db.ListOrders(ctx, store.OrderFilter{Status: string(enroll.ItemAwaitingRegistration)})
		if err != nil || len(awaiting) != 1 || awaiting[0].ExternalID != 9001 {
			t.Errorf("orders with an item awaiting registration: %+v, %v", awaiting, err)
		}
	})
}

// TestOrderBeforeSnapshots: an order stored as before (no snapshot yet)
// reads as zero times and the items' defaults.
func TestOrderBeforeSnapshots(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		res, err := db.SaveAccepted(ctx, order(77, itemA), rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		d, err := db.OrderDetail(ctx, res.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Snapshot.At.IsZero() || !d.RedactedAt.IsZero() || len(d.Refunds) != 0 || d.StaleSnapshots() != 0 {
			t.Errorf("a new order: snapshot %+v, redacted %v, refunds %v", d.Snapshot, d.RedactedAt, d.Refunds)
		}
		if it := d.Items[0]; it.Want != enroll.WantEnrolled || it.LineQuantity != 1 || it.Refunded || it.Mode != "" {
			t.Errorf("a new item: %+v", it)
		}
		if s := d.Lines()[0].Seats; s.String() != "1 seat" {
			t.Errorf("seats %+v read %q", s, s)
		}
	})
}
