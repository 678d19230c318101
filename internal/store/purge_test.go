package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

func TestPurge(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		now := time.Now().UTC()
		old, recent := now.AddDate(0, 0, -100), now.AddDate(0, 0, -10)
		save := func(a store.Accepted, at time.Time) store.SaveResult {
			t.Helper()
			a.Delivery.ReceivedAt = at
			res, err := db.SaveAccepted(ctx, a, rec.enqueue)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		item := func(sku string) enroll.Item {
			return enroll.Item{LineItemID: 1, SKU: sku, Email: "learner@example.com"}
		}
		// Finished long ago: its deliveries' bodies go.
		done := save(shopOrder(privacyShop, 1, "a@example.com", "A", item("course-v1:Org+D+1")), old)
		doneItems, _ := db.FindOrder(ctx, enroll.Shopify, privacyShop, 1)
		mustRecord(t, db, store.Attempt{ItemID: doneItems.Items[0].ID, Outcome: enroll.OutcomeEnrolled, HTTPStatus: 200,
			Status: enroll.ItemEnrolled, Counted: true})
		// Finished, but its delivery is recent: kept.
		fresh := save(shopOrder(privacyShop, 2, "b@example.com", "B", item("course-v1:Org+F+1")), recent)
		freshItems, _ := db.FindOrder(ctx, enroll.Shopify, privacyShop, 2)
		mustRecord(t, db, store.Attempt{ItemID: freshItems.Items[0].ID, Outcome: enroll.OutcomeFailed, HTTPStatus: 400,
			Status: enroll.ItemFailed, Counted: true})
		// Old, but an item still waits: kept.
		waiting := save(shopOrder(privacyShop, 3, "c@example.com", "C", item("course-v1:Org+W+1")), old)
		// Old, awaiting payment: kept (the paid snapshot enrolls it).
		unpaid := shopOrder(privacyShop, 4, "d@example.com", "D", item("course-v1:Org+U+1"))
		unpaid.AwaitingPayment = true
		awaiting := save(unpaid, old)
		// Rejected: the old one goes, the recent one stays.
		rejected := func(at time.Time) int64 {
			d := shopOrder(privacyShop, 5, "e@example.com", "E").Delivery
			d.ReceivedAt, d.Status, d.Reason, d.KeepBody = at, 402, "order is not paid", true
			id, err := db.SaveDelivery(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		oldRejected, recentRejected := rejected(old), rejected(recent)
		// Delivery keys: the old one goes.
		for i, at := range []time.Time{old, recent} {
			d := complianceDelivery(otherShop, `{}`) // a shop with nothing to redact
			d.ReceivedAt = at
			if _, err := db.SavePrivacy(ctx, store.PrivacyDelivery{Delivery: d, Topic: store.TopicShopRedact,
				Keys: []string{"webhook:" + string(rune('a'+i))}, Redaction: &enroll.Redaction{WholeShop: true}}); err != nil {
				t.Fatal(err)
			}
		}
		before, _, err := db.ListOrders(ctx, store.OrderFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		cut := now.AddDate(0, 0, -90)
		dry, err := db.Purge(ctx, cut, true)
		if err != nil {
			t.Fatal(err)
		}
		if dry.Deliveries != 2 || dry.Keys != 1 || dry.Bytes <= 0 {
			t.Errorf("dry run: %+v", dry)
		}
		if d, _ := db.Delivery(ctx, done.DeliveryID); !d.HasBody {
			t.Error("the dry run dropped a body")
		}
		res, err := db.Purge(ctx, cut, false)
		if err != nil {
			t.Fatal(err)
		}
		if res != dry {
			t.Errorf("purge %+v, dry run said %+v", res, dry)
		}
		for _, c := range []struct {
			id   int64
			kept bool
		}{
			{done.DeliveryID, false}, {oldRejected, false},
			{fresh.DeliveryID, true}, {waiting.DeliveryID, true}, {awaiting.DeliveryID, true}, {recentRejected, true},
		} {
			d, err := db.Delivery(ctx, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if d.HasBody != c.kept || (d.Headers != "{}") != c.kept {
				t.Errorf("delivery %d: body %v, headers %s; want kept %v", c.id, d.HasBody, d.Headers, c.kept)
			}
			if !c.kept && (d.BodySize == 0 || len(d.BodySHA256) != 64) {
				t.Errorf("delivery %d lost its size or digest: %+v", c.id, d)
			}
		}
		after, _, err := db.ListOrders(ctx, store.OrderFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) {
			t.Fatalf("%d orders, want %d", len(after), len(before))
		}
		for i := range after {
			if after[i].Status != before[i].Status || len(after[i].Items) != len(before[i].Items) {
				t.Errorf("order %d changed: %+v, was %+v", after[i].ExternalID, after[i], before[i])
			}
		}
		if as, err := db.Attempts(ctx, doneItems.Items[0].ID); err != nil || len(as) != 1 {
			t.Errorf("attempts of a purged order: %+v, %v", as, err)
		}
		again, err := db.Purge(ctx, cut, false)
		if err != nil || (again != store.PurgeResult{}) {
			t.Errorf("second purge: %+v, %v", again, err)
		}
	})
}

// A purge larger than one transaction's share takes every delivery.
func TestPurgeInChunks(t *testing.T) {
	db := storetest.New(t)
	ctx := context.Background()
	old := time.Now().AddDate(0, 0, -100)
	for i := range 1234 {
		d := shopOrder(privacyShop, int64(i), "e@example.com", "E").Delivery
		d.ReceivedAt, d.Status, d.Reason, d.KeepBody = old, 403, "invalid signature", true
		if _, err := db.SaveDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	dry, err := db.Purge(ctx, time.Now(), true)
	if err != nil {
		t.Fatal(err)
	}
	res, err := db.Purge(ctx, time.Now(), false)
	if err != nil || res != dry || res.Deliveries != 1234 {
		t.Errorf("purge %+v, %v; dry run %+v", res, err, dry)
	}
}
