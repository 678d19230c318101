package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// One batch holding new orders (more than the largest multi-row
// statement), an order twice, an order stored before, a learner twice on
// one order, an unpaid order and a rejection: each request gets its own
// answer and its own delivery, as if written alone.
func TestWriterBatchOfEveryKind(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		if _, err := db.SaveAccepted(ctx, order(10, itemA), rec.enqueue); err != nil {
			t.Fatal(err)
		}
		w := db.NewWriter(rec.enqueue, 1, 256)
		defer w.Close()
		stored, twice, unpaid := order(10, itemA), order(11, itemA, itemB), order(12, itemA)
		unpaid.AwaitingPayment = true
		learnerTwice := order(13, itemA, enroll.Item{LineItemID: 2, SKU: itemA.SKU, Email: itemA.Email})
		rejected := order(0).Delivery
		rejected.Status, rejected.Reason = 403, "invalid signature"
		reqs := []store.BatchRequest{{Accepted: &twice}, {Accepted: &stored}, {Delivery: rejected}, {Accepted: &twice},
			{Accepted: &unpaid}, {Accepted: &learnerTwice}}
		for i := range 80 {
			a := order(int64(1000-i), enroll.Item{LineItemID: 1, SKU: itemB.SKU, Email: fmt.Sprintf("n%d@example.com", i)})
			reqs = append(reqs, store.BatchRequest{Accepted: &a})
		}
		for i := range reqs { // every delivery's body tells which request it was
			body := fmt.Appendf(nil, `{"request":%d}`, i)
			if reqs[i].Accepted != nil {
				a := *reqs[i].Accepted
				a.Delivery.Body = body
				reqs[i].Accepted = &a
			} else {
				reqs[i].Delivery.Body, reqs[i].Delivery.KeepBody = body, true
			}
		}
		before := len(rec.enqueued())
		res, errs := w.WriteBatch(reqs)
		type answer struct {
			newOrder bool
			enqueued int
			reason   string
		}
		want := []answer{{true, 2, ""}, {false, 0, "duplicate"}, {false, 0, "invalid signature"}, {false, 0, "duplicate"},
			{true, 0, ""}, {true, 1, ""}}
		for range 80 {
			want = append(want, answer{true, 1, ""})
		}
		total := 0
		for i, r := range res {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			w := want[i]
			if r.NewOrder != w.newOrder || len(r.Enqueued) != w.enqueued {
				t.Errorf("request %d: %+v; want new order %v, %d enqueued", i, r, w.newOrder, w.enqueued)
			}
			total += len(r.Enqueued)
			d, err := db.Delivery(ctx, r.DeliveryID)
			if err != nil {
				t.Fatalf("request %d: delivery %d: %v", i, r.DeliveryID, err)
			}
			if got := fmt.Sprintf(`{"request":%d}`, i); string(d.Body) != got || d.Reason != w.reason || d.OrderID.Int64 != r.OrderID {
				t.Errorf("request %d: delivery body %s, reason %q, order %v; want %s, %q, order %d", i, d.Body, d.Reason, d.OrderID, got, w.reason, r.OrderID)
			}
		}
		if got := len(rec.enqueued()) - before; got != total || total != 83 {
			t.Errorf("enqueued %d items, answers list %d; want 83", got, total)
		}
		if res[0].OrderID != res[3].OrderID || res[1].OrderID == 0 || res[2].OrderID != 0 {
			t.Errorf("order ids %d, %d, %d, %d", res[0].OrderID, res[1].OrderID, res[2].OrderID, res[3].OrderID)
		}
		o, err := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 12)
		if err != nil || o.Status != enroll.OrderAwaitingPayment || len(o.Items) != 0 {
			t.Errorf("unpaid order: %+v, %v; want awaiting payment with no items", o, err)
		}
	})
}
