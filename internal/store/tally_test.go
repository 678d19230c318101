package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// History is stored as enrolled orders, and Tally and Headroom count it
// with the work still to do.
func TestSaveHistoryAndTally(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		const orders = 600 // more than one chunk of orders marked done
		var history []store.Accepted
		for id := range int64(orders) {
			o := enroll.Order{Platform: enroll.Shopify, Source: "history.myshopify.com", ID: id + 1, Paid: true,
				Items: []enroll.Item{
					{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: fmt.Sprintf("a%d@example.com", id)},
					{LineItemID: 2, SKU: "course-v1:Org+B+1", Email: fmt.Sprintf("b%d@example.com", id)}}}
			history = append(history, store.Accepted{Order: o, Delivery: store.Delivery{ReceivedAt: time.Now(),
				Platform: enroll.Shopify, Source: o.Source, Path: "/webhooks/shopify/order/create", Status: 200}})
		}
		if err := db.SaveHistory(ctx, history); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{1, orders} {
			o, err := db.FindOrder(ctx, enroll.Shopify, "history.myshopify.com", id)
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != enroll.OrderProcessed || len(o.Items) != 2 {
				t.Fatalf("order %d: %+v; want PROCESSED with 2 items", id, o)
			}
			for _, it := range o.Items {
				if it.Status != enroll.ItemEnrolled || it.CourseID != it.SKU || it.Attempts != 1 {
					t.Errorf("order %d item %+v; want enrolled in its SKU's course at the first attempt", id, it)
				}
			}
		}
		ds, err := db.Deliveries(ctx, orders+1)
		if err != nil || len(ds) != orders {
			t.Fatalf("%d deliveries, %v; want %d", len(ds), err, orders)
		}

		// Work still to do: one pending item and its job, one throttled attempt.
		intake, err := jobs.New(db, nil, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.SaveAccepted(ctx, store.Accepted{
			Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: "history.myshopify.com", Path: "/x", Status: 200},
			Order: enroll.Order{Platform: enroll.Shopify, Source: "history.myshopify.com", ID: orders + 1, Paid: true,
				Items: []enroll.Item{{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "new@example.com"}}},
		}, intake.Enqueue)
		if err != nil {
			t.Fatal(err)
		}
		err = db.RecordAttempt(ctx, store.Attempt{ItemID: res.Enqueued[0], Outcome: enroll.OutcomeThrottled, HTTPStatus: 429,
			Status: enroll.ItemPending})
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.Tally(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := store.Tally{Items: map[enroll.ItemStatus]int{enroll.ItemEnrolled: 2 * orders, enroll.ItemPending: 1},
			Jobs: map[string]int{"available": 1}, Attempts: 1, Throttled: 1}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("tally (-want +got):\n%s", diff)
		}
		h, err := db.Headroom(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h != (store.Headroom{MaxTries: 1}) {
			t.Errorf("headroom %+v; want 1 try at most, no snooze", h)
		}
	})
}
