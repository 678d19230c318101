package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

func TestImportOrders(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		var rec recorder
		// Order 1 came by webhook already: the import leaves it alone.
		if _, err := db.SaveAccepted(ctx, order(1, itemA), rec.enqueue); err != nil {
			t.Fatal(err)
		}
		rec = recorder{}
		created := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
		imported := func(id int64, items ...store.ImportedItem) store.ImportedOrder {
			return store.ImportedOrder{Platform: enroll.Shopify, Source: "shop.example.com", ExternalID: id,
				Email: "buyer@example.com", Status: enroll.OrderNew, CreatedAt: created, Items: items, Note: "imported"}
		}
		orders := []store.ImportedOrder{
			imported(1, store.ImportedItem{SKU: "course-v1:Org+Z+1", Email: "z@example.com", Status: enroll.ItemPending}),
			imported(2, store.ImportedItem{SKU: "course-v1:Org+A+1", Email: "a@example.com", Status: enroll.ItemEnrolled, CourseID: "course-v1:Org+A+1"},
				store.ImportedItem{SKU: "S", Email: "p@example.com", Status: enroll.ItemPending},
				store.ImportedItem{SKU: "S", Email: "p@example.com", Status: enroll.ItemPending}, // twice in the old app
				store.ImportedItem{SKU: "T", Email: "q@example.com", Status: enroll.ItemPending},
				store.ImportedItem{SKU: "S", Email: "r@example.com", Status: enroll.ItemPending}),
			imported(3, store.ImportedItem{SKU: "U", Email: "f@example.com", Status: enroll.ItemFailed, LastError: "gave up"}),
		}
		res, err := db.ImportOrders(ctx, orders, "cli:tester", rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		if res.Orders != 2 || res.Existing != 1 || res.Items[enroll.ItemEnrolled] != 1 || res.Items[enroll.ItemPending] != 3 ||
			res.Items[enroll.ItemFailed] != 1 || len(res.Enqueued) != 3 {
			t.Fatalf("result %+v", res)
		}
		// Pending items are enqueued in the import's transaction, by SKU.
		if len(rec.groups) != 2 || len(rec.groups[0]) != 2 || len(rec.groups[1]) != 1 {
			t.Errorf("enqueued groups %v; want the two items of SKU S, then T", rec.groups)
		}
		first, err := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 1)
		if err != nil || len(first.Items) != 1 || first.Items[0].SKU != itemA.SKU {
			t.Errorf("the order already here was changed: %+v, %v", first, err)
		}
		second, err := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 2)
		if err != nil || len(second.Items) != 4 || !second.CreatedAt.Equal(created) || second.Items[0].CourseID != "course-v1:Org+A+1" {
			t.Errorf("order 2: %+v, %v", second, err)
		}
		third, err := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 3)
		if err != nil || third.Items[0].Status != enroll.ItemFailed || third.Items[0].LastError != "gave up" {
			t.Errorf("order 3: %+v, %v", third, err)
		}
		detail, err := db.OrderDetail(ctx, second.ID)
		if err != nil || len(detail.Actions) != 1 || detail.Actions[0].Action != store.ActionImport ||
			detail.Actions[0].Actor != "cli:tester" || detail.Actions[0].Note != "imported" {
			t.Errorf("actions of order 2: %+v, %v", detail.Actions, err)
		}

		here, err := db.ExistingOrders(ctx, enroll.Shopify, "shop.example.com", []int64{1, 2, 3, 4})
		if err != nil || len(here) != 3 || here[4] {
			t.Errorf("ExistingOrders: %v, %v", here, err)
		}
		if here, _ := db.ExistingOrders(ctx, enroll.Shopify, "other.example.com", []int64{1}); len(here) != 0 {
			t.Errorf("another shop's orders: %v", here)
		}

		// Again: nothing changes.
		rec = recorder{}
		res, err = db.ImportOrders(ctx, orders, "cli:tester", rec.enqueue)
		if err != nil || res.Orders != 0 || res.Existing != 3 || len(rec.groups) != 0 {
			t.Errorf("second import: %+v, %v, enqueued %v", res, err, rec.groups)
		}

		// A failed enqueue stores nothing.
		rec = recorder{err: errors.New("queue down")}
		if _, err := db.ImportOrders(ctx, []store.ImportedOrder{imported(9, store.ImportedItem{SKU: "S", Email: "n@example.com", Status: enroll.ItemPending})},
			"cli:tester", rec.enqueue); err == nil {
			t.Fatal("import with a failing queue succeeded")
		}
		if _, err := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 9); !errors.Is(err, enroll.ErrNotFound) {
			t.Errorf("order 9 after a failed enqueue: %v", err)
		}
	})
}
