package store_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// The rules of an order's life, delivery after delivery: each test case
// is a sequence of deliveries to one store, with what each one enqueues
// and the reason its delivery is stored with, and the items and order
// facts at the end. Between deliveries, "worker" steps do what the
// enrollment jobs would: every pending item reaches its desired state.

const (
	lifecycleShop = "life.myshopify.com"
	lifecycleSite = "https://life.example.com"
	lifecycleID   = 5834765623456
)

var t0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// learners are items of one line, each a learner of it.
func learners(line int64, sku string, quantity int, emails ...string) []enroll.Item {
	var items []enroll.Item
	for _, e := range emails {
		items = append(items, enroll.Item{LineItemID: line, SKU: sku, Email: e, Quantity: quantity})
	}
	return items
}

var (
	courseA = "course-v1:Org+A+1"
	courseB = "course-v1:Org+B+1"
	// twoCourses: one learner in each of two courses, on lines 1 and 2.
	twoCourses = append(learners(1, courseA, 1, "a@example.com"), learners(2, courseB, 1, "b@example.com")...)
	// team: three learners on one line of three seats.
	team = learners(7, courseA, 3, "t1@example.com", "t2@example.com", "t3@example.com")
)

type option func(*store.Accepted)

func cancelled(a *store.Accepted)        { a.Order.Cancelled = true }
func unenrollOnRefund(a *store.Accepted) { a.UnenrollOnRefund = true }
func awaitingPayment(a *store.Accepted)  { a.AwaitingPayment = true; a.Order.ShopStatus = "pending" }
func keys(k ...string) option            { return func(a *store.Accepted) { a.Keys = k } }

// shopify is a Shopify snapshot of the order at a time (zero: none).
func shopify(when time.Time, items []enroll.Item, opts ...option) store.Accepted {
	a := store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: lifecycleShop,
			Path: "/webhooks/shopify", Headers: http.Header{"X-Shopify-Topic": {"orders/create"}},
			Body: fmt.Appendf(nil, `{"id":%d,"updated_at":%q}`, lifecycleID, when.Format(time.RFC3339)), Status: 200},
		Order: enroll.Order{Platform: enroll.Shopify, Source: lifecycleShop, ID: lifecycleID, Email: "buyer@example.com",
			Paid: true, Items: items, Snapshot: enroll.Snapshot{At: when, ShopStatus: "paid"}},
	}
	for _, o := range opts {
		o(&a)
	}
	return a
}

// woo is a WooCommerce snapshot of the order in a status at a time.
func woo(status string, when time.Time, items []enroll.Item, opts ...option) store.Accepted {
	a := store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.WooCommerce, Source: lifecycleSite,
			Path: "/webhooks/woocommerce/order/update", Body: fmt.Appendf(nil, `{"id":%d,"status":%q}`, lifecycleID, status), Status: 200},
		Order: enroll.Order{Platform: enroll.WooCommerce, Source: lifecycleSite, ID: lifecycleID, Email: "buyer@example.com",
			Paid: true, Items: items, Snapshot: enroll.Snapshot{At: when, ShopStatus: status,
				Cancelled: status == "cancelled", Refunded: status == "refunded"}},
		Keys: []string{fmt.Sprintf("order:%d:%s:%s", lifecycleID, status, when.Format("2006-01-02T15:04:05"))},
	}
	for _, o := range opts {
		o(&a)
	}
	return a
}

func partialRefund(a *store.Accepted) { a.Order.PartialRefund = true }

// refund is a Shopify refund of lines of the order.
func refund(id int64, lines map[int64]int, opts ...option) store.Accepted {
	rf := &enroll.Refund{ID: id, OrderID: lifecycleID, At: at(30)}
	for line, q := range lines {
		rf.Lines = append(rf.Lines, enroll.RefundLine{LineItemID: line, Quantity: q})
	}
	slices.SortFunc(rf.Lines, func(a, b enroll.RefundLine) int { return int(a.LineItemID - b.LineItemID) })
	a := store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: lifecycleShop,
			Path: "/webhooks/shopify/refund/create", Body: fmt.Appendf(nil, `{"id":%d}`, id), Status: 200},
		Order:  enroll.Order{Platform: enroll.Shopify, Source: lifecycleShop, ID: lifecycleID},
		Refund: rf,
	}
	for _, o := range opts {
		o(&a)
	}
	return a
}

// step is one delivery, or with worker set, the enrollment jobs' work.
type step struct {
	a        store.Accepted
	worker   bool
	enqueued []string // the emails of the items it enqueues
	reason   string   // its delivery's reason
}

// redelivery is the reason of a delivery whose key was accepted before:
// stored as a duplicate, without its body.
const redelivery = "duplicate, body not kept"

func deliver(a store.Accepted, reason string, enqueued ...string) step {
	return step{a: a, reason: reason, enqueued: enqueued}
}

var worker = step{worker: true}

// item is an item's state: email status/want, and "refunded".
type item struct {
	Email    string
	Status   enroll.ItemStatus
	Want     enroll.Want
	Refunded bool
}

type facts struct {
	Status                               enroll.OrderStatus
	SnapshotAt                           time.Time
	ShopStatus                           string
	Cancelled, Refunded, PartialRefunded bool
}

func TestOrderLifecycle(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		items []item
		order facts
	}{
		{"a newer snapshot is applied", []step{
			deliver(shopify(at(0), twoCourses), "", "a@example.com", "b@example.com"),
			worker,
			deliver(shopify(at(5), twoCourses, cancelled), ""),
		}, []item{
			{"a@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, false},
			{"b@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, false},
		}, facts{enroll.OrderProcessed, at(5), "paid", true, false, false}},

		{"a stale snapshot changes nothing", []step{
			deliver(shopify(at(5), twoCourses, cancelled, unenrollOnRefund), ""),
			deliver(shopify(at(0), append(twoCourses, learners(3, courseB, 1, "c@example.com")...), unenrollOnRefund), "stale"),
		}, []item{
			{"a@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, false},
			{"b@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, false},
		}, facts{enroll.OrderProcessed, at(5), "paid", true, false, false}},

		{"the same snapshot again is a duplicate", []step{
			deliver(shopify(at(0), twoCourses), "", "a@example.com", "b@example.com"),
			deliver(shopify(at(0), twoCourses), "duplicate"),
			deliver(shopify(time.Time{}, twoCourses), "duplicate"),
		}, []item{
			{"a@example.com", enroll.ItemPending, enroll.WantEnrolled, false},
			{"b@example.com", enroll.ItemPending, enroll.WantEnrolled, false},
		}, facts{enroll.OrderNew, at(0), "paid", false, false, false}},

		{"cancel of an enrolled order unenrolls", []step{
			deliver(shopify(at(0), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			worker,
			deliver(shopify(at(5), twoCourses, cancelled, unenrollOnRefund), "", "a@example.com", "b@example.com"),
		}, []item{
			{"a@example.com", enroll.ItemPending, enroll.WantUnenrolled, false},
			{"b@example.com", enroll.ItemPending, enroll.WantUnenrolled, false},
		}, facts{enroll.OrderNew, at(5), "paid", true, false, false}},

		{"cancel while the enroll waits for a retry", []step{
			deliver(shopify(at(0), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			{worker: true, reason: "retrying"},
			deliver(shopify(at(5), twoCourses, cancelled, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			worker,
		}, []item{
			{"a@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, false},
			{"b@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, false},
		}, facts{enroll.OrderProcessed, at(5), "paid", true, false, false}},

		{"an order first seen cancelled has nothing to undo", []step{
			deliver(shopify(at(0), twoCourses, cancelled, unenrollOnRefund), ""),
		}, []item{
			{"a@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, false},
			{"b@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, false},
		}, facts{enroll.OrderProcessed, at(0), "paid", true, false, false}},

		{"awaiting payment, then paid", []step{
			deliver(shopify(at(0), twoCourses, awaitingPayment), ""),
			deliver(shopify(at(0), twoCourses, awaitingPayment), "duplicate"),
			deliver(shopify(at(3), twoCourses), "", "a@example.com", "b@example.com"),
			deliver(shopify(at(3), twoCourses), "duplicate"),
		}, []item{
			{"a@example.com", enroll.ItemPending, enroll.WantEnrolled, false},
			{"b@example.com", enroll.ItemPending, enroll.WantEnrolled, false},
		}, facts{enroll.OrderNew, at(3), "paid", false, false, false}},

		{"partial refund of a 3-learner line unenrolls the last learner", []step{
			deliver(shopify(at(0), team, unenrollOnRefund), "", "t1@example.com", "t2@example.com", "t3@example.com"),
			worker,
			deliver(refund(900, map[int64]int{7: 1}, unenrollOnRefund), "", "t3@example.com"),
			deliver(refund(900, map[int64]int{7: 1}, unenrollOnRefund), "duplicate"),
			worker,
			deliver(refund(901, map[int64]int{7: 1}, unenrollOnRefund), "", "t2@example.com"),
		}, []item{
			{"t1@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, false},
			{"t2@example.com", enroll.ItemPending, enroll.WantUnenrolled, true},
			{"t3@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, true},
		}, facts{enroll.OrderProcessing, at(0), "paid", false, false, false}},

		{"a refund takes unassigned seats first", []step{
			deliver(shopify(at(0), learners(7, courseA, 5, "t1@example.com", "t2@example.com", "t3@example.com"), unenrollOnRefund),
				"", "t1@example.com", "t2@example.com", "t3@example.com"),
			worker,
			deliver(refund(900, map[int64]int{7: 2}, unenrollOnRefund), ""),
			deliver(refund(901, map[int64]int{7: 1}, unenrollOnRefund), "", "t3@example.com"),
		}, []item{
			{"t1@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, false},
			{"t2@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, false},
			{"t3@example.com", enroll.ItemPending, enroll.WantUnenrolled, true},
		}, facts{enroll.OrderProcessing, at(0), "paid", false, false, false}},

		{"a refund without unenroll_on_refund is recorded, learners stay", []step{
			deliver(shopify(at(0), twoCourses), "", "a@example.com", "b@example.com"),
			worker,
			deliver(refund(900, map[int64]int{2: 1}), ""),
		}, []item{
			{"a@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, false},
			{"b@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, true},
		}, facts{enroll.OrderProcessed, at(0), "paid", false, false, false}},

		{"refund before create: the refunded learner is never enrolled", []step{
			deliver(refund(900, map[int64]int{2: 1}, unenrollOnRefund), ""),
			deliver(shopify(at(0), twoCourses, unenrollOnRefund), "", "a@example.com"),
		}, []item{
			{"a@example.com", enroll.ItemPending, enroll.WantEnrolled, false},
			{"b@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, true},
		}, facts{enroll.OrderProcessing, at(0), "paid", false, false, false}},

		{"a refund, then an old orders/create: the learner stays unenrolled", []step{
			deliver(shopify(at(0), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			worker,
			deliver(refund(900, map[int64]int{2: 1}, unenrollOnRefund), "", "b@example.com"),
			worker,
			deliver(shopify(at(0), twoCourses, unenrollOnRefund), "duplicate"),
			deliver(shopify(time.Time{}, twoCourses, unenrollOnRefund), "duplicate"),
		}, []item{
			{"a@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, false},
			{"b@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, true},
		}, facts{enroll.OrderProcessed, at(0), "paid", false, false, false}},

		{"a resolved item is left to the operator", []step{
			deliver(shopify(at(0), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			{worker: true, reason: "resolve b@example.com"},
			deliver(shopify(at(5), twoCourses, cancelled, unenrollOnRefund), "", "a@example.com"),
		}, []item{
			{"a@example.com", enroll.ItemPending, enroll.WantUnenrolled, false},
			{"b@example.com", enroll.ItemResolved, enroll.WantEnrolled, false},
		}, facts{enroll.OrderProcessing, at(5), "paid", true, false, false}},

		{"woocommerce refunded", []step{
			deliver(woo("processing", at(0), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			worker,
			deliver(woo("refunded", at(9), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
		}, []item{
			{"a@example.com", enroll.ItemPending, enroll.WantUnenrolled, false},
			{"b@example.com", enroll.ItemPending, enroll.WantUnenrolled, false},
		}, facts{enroll.OrderNew, at(9), "refunded", false, true, false}},

		{"woocommerce cancelled", []step{
			deliver(woo("processing", at(0), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			worker,
			deliver(woo("cancelled", at(9), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			worker,
		}, []item{
			{"a@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, false},
			{"b@example.com", enroll.ItemUnenrolled, enroll.WantUnenrolled, false},
		}, facts{enroll.OrderProcessed, at(9), "cancelled", true, false, false}},

		{"woocommerce partial refund is recorded, learners stay", []step{
			deliver(woo("processing", at(0), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			worker,
			deliver(woo("processing", at(9), twoCourses, unenrollOnRefund, partialRefund), ""),
		}, []item{
			{"a@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, false},
			{"b@example.com", enroll.ItemEnrolled, enroll.WantEnrolled, false},
		}, facts{enroll.OrderProcessed, at(9), "processing", false, false, true}},

		{"woocommerce re-opened: enrolled again", []step{
			deliver(woo("processing", at(0), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			worker,
			deliver(woo("cancelled", at(9), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
			worker,
			deliver(woo("processing", at(0), twoCourses, unenrollOnRefund), redelivery),
			deliver(woo("completed", at(0), twoCourses, unenrollOnRefund), "stale"),
			deliver(woo("processing", at(12), twoCourses, unenrollOnRefund), "", "a@example.com", "b@example.com"),
		}, []item{
			{"a@example.com", enroll.ItemPending, enroll.WantEnrolled, false},
			{"b@example.com", enroll.ItemPending, enroll.WantEnrolled, false},
		}, facts{enroll.OrderNew, at(12), "processing", false, false, false}},
	}
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				var rec recorder
				id := int64(lifecycleID + i) // a fresh order for each case
				var orderID int64
				for n, s := range tt.steps {
					if s.worker {
						work(t, db, orderID, s.reason)
						continue
					}
					s.a.Order.ID = id
					if s.a.Refund != nil {
						s.a.Refund.OrderID = id
					}
					for k := range s.a.Keys {
						s.a.Keys[k] = strings.Replace(s.a.Keys[k], fmt.Sprint(lifecycleID), fmt.Sprint(id), 1)
					}
					res, err := db.SaveAccepted(ctx, s.a, rec.enqueue)
					if err != nil {
						t.Fatalf("step %d: %v", n, err)
					}
					orderID = res.OrderID
					if got := emailsOf(t, db, res.Enqueued); !slices.Equal(got, s.enqueued) {
						t.Errorf("step %d enqueued %q; want %q", n, got, s.enqueued)
					}
					d, err := db.Delivery(ctx, res.DeliveryID)
					if err != nil {
						t.Fatal(err)
					}
					reason, kept := s.reason, true
					if reason == redelivery {
						reason, kept = store.ReasonDuplicate, false
					}
					if d.Reason != reason || d.HasBody != kept || d.OrderID.Int64 != orderID {
						t.Errorf("step %d: delivery reason %q, body kept %v, order %v; want %q, kept %v, order %d",
							n, d.Reason, d.HasBody, d.OrderID, reason, kept, orderID)
					}
				}
				if diff := cmp.Diff(tt.items, itemsOf(t, db, orderID)); diff != "" {
					t.Errorf("items (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.order, factsOf(t, db, orderID)); diff != "" {
					t.Errorf("order (-want +got):\n%s", diff)
				}
			})
		}
	})
}

// work does what the enrollment jobs would: every pending item of the
// order reaches its desired state. With how "retrying", every one waits
// for a retry instead; with "resolve EMAIL", that learner's item is
// resolved by an operator instead.
func work(t *testing.T, db *store.DB, orderID int64, how string) {
	t.Helper()
	resolve, _ := strings.CutPrefix(how, "resolve ")
	_, err := db.SQL().Exec(`UPDATE items SET status = CASE WHEN $1 THEN 'retrying' WHEN email = $2 THEN 'resolved'
		WHEN want = 'enrolled' THEN 'enrolled' ELSE 'unenrolled' END WHERE order_id = $3 AND status = 'pending'`,
		how == "retrying", resolve, orderID)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.SQL().Query(`SELECT status FROM items WHERE order_id = $1`, orderID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var statuses []enroll.ItemStatus
	for rows.Next() {
		var s enroll.ItemStatus
		rows.Scan(&s)
		statuses = append(statuses, s)
	}
	if _, err := db.SQL().Exec(`UPDATE orders SET status = $1 WHERE id = $2`, enroll.StatusOf(statuses), orderID); err != nil {
		t.Fatal(err)
	}
}

func emailsOf(t *testing.T, db *store.DB, ids []int64) []string {
	t.Helper()
	var emails []string
	for _, id := range ids {
		var e string
		if err := db.SQL().QueryRow(`SELECT email FROM items WHERE id = $1`, id).Scan(&e); err != nil {
			t.Fatal(err)
		}
		emails = append(emails, e)
	}
	return emails
}

func itemsOf(t *testing.T, db *store.DB, orderID int64) []item {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT email, status, want, refunded FROM items WHERE order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var items []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.Email, &it.Status, &it.Want, &it.Refunded); err != nil {
			t.Fatal(err)
		}
		items = append(items, it)
	}
	return items
}

func factsOf(t *testing.T, db *store.DB, orderID int64) facts {
	t.Helper()
	var f facts
	var snapshotAt *time.Time
	err := db.SQL().QueryRow(`SELECT status, snapshot_at, shop_status, cancelled, refunded, partial_refund FROM orders WHERE id = $1`,
		orderID).Scan(&f.Status, &snapshotAt, &f.ShopStatus, &f.Cancelled, &f.Refunded, &f.PartialRefunded)
	if err != nil {
		t.Fatal(err)
	}
	if snapshotAt != nil {
		f.SnapshotAt = snapshotAt.UTC()
	}
	return f
}

// Deliveries name themselves by keys: a delivery one of whose keys was
// accepted before for its shop (in an earlier batch, or earlier in its
// own) is a duplicate: stored without its body, its order untouched,
// nothing enqueued.
func TestDeliveryKeys(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		w := db.NewWriter(rec.enqueue, 1, 64)
		defer w.Close()
		order := func(id int64, k ...string) store.BatchRequest {
			a := shopify(at(0), learners(1, courseA, 1, fmt.Sprintf("l%d@example.com", id)), keys(k...))
			a.Order.ID = id
			return store.BatchRequest{Accepted: &a}
		}
		other := order(3, "webhook:w1") // the same key, another shop
		other.Accepted.Order.Source, other.Accepted.Delivery.Source = "other.myshopify.com", "other.myshopify.com"
		batches := []struct {
			reqs []store.BatchRequest
			dups []bool
		}{
			{[]store.BatchRequest{order(1, "webhook:w1", "event:e1"), order(1, "webhook:w1", "event:e1"), order(2, "webhook:w2"),
				order(2, "event:e2"), order(2, "webhook:w2b", "event:e2"), other}, []bool{false, true, false, false, true, false}},
			// Shopify's retry of a delivery; the event sent to another subscription.
			{[]store.BatchRequest{order(1, "webhook:w1", "event:e1"), order(1, "webhook:w1c", "event:e1"),
				order(4, "webhook:w4"), order(5)}, []bool{true, true, false, false}},
			{[]store.BatchRequest{order(4, "webhook:w4", "event:e4"), order(5)}, []bool{true, false}},
			// A new order whose first delivery carries a key accepted before:
			// the next one creates it.
			{[]store.BatchRequest{order(6, "webhook:w2"), order(6, "webhook:w6"), order(7, "event:e7")}, []bool{true, false, false}},
		}
		enqueued := 0
		for b, batch := range batches {
			res, errs := w.WriteBatch(batch.reqs)
			for i, r := range res {
				if errs[i] != nil {
					t.Fatalf("batch %d, request %d: %v", b, i, errs[i])
				}
				enqueued += len(r.Enqueued)
				d, err := db.Delivery(ctx, r.DeliveryID)
				if err != nil {
					t.Fatal(err)
				}
				if dup := batch.dups[i]; r.Redelivered != dup || dup && (d.HasBody || d.Reason != store.ReasonDuplicate || len(r.Enqueued) > 0) ||
					!dup && !d.HasBody || r.OrderID == 0 || d.OrderID.Int64 != r.OrderID || d.BodySHA256 == "" {
					t.Errorf("batch %d, request %d: %+v; delivery %+v; want duplicate %v", b, i, r, d, dup)
				}
				var parsed *string
				if err := db.SQL().QueryRow(`SELECT parsed FROM deliveries WHERE id = $1`, r.DeliveryID).Scan(&parsed); err != nil {
					t.Fatal(err)
				}
				if (parsed == nil) != batch.dups[i] {
					t.Errorf("batch %d, request %d: parsed order stored: %v", b, i, parsed != nil)
				}
			}
		}
		if enqueued != 7 || len(rec.enqueued()) != 7 {
			t.Errorf("%d items enqueued (%d by the answers); want one for each of 7 orders", len(rec.enqueued()), enqueued)
		}
		var n int
		if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM delivery_keys`).Scan(&n); err != nil || n != 11 {
			t.Errorf("%d delivery keys stored (%v); want 11", n, err)
		}
	})
}

// A refund's parsed form is stored with its delivery; one refunded before
// is a duplicate.
func TestRefundDelivery(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		for i, want := range []string{"", store.ReasonDuplicate} {
			res, err := db.SaveAccepted(ctx, refund(77, map[int64]int{1: 2, 3: 1}), rec.enqueue)
			if err != nil {
				t.Fatal(err)
			}
			if res.NewOrder != (i == 0) || res.Reason() != want {
				t.Errorf("delivery %d: %+v, reason %q; want %q", i, res, res.Reason(), want)
			}
			var parsed string
			if err := db.SQL().QueryRow(`SELECT parsed FROM deliveries WHERE id = $1`, res.DeliveryID).Scan(&parsed); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(parsed, `"lines":[{"line_item_id":1,"quantity":2},{"line_item_id":3,"quantity":1}]`) {
				t.Errorf("parsed refund: %s", parsed)
			}
		}
		o, err := db.FindOrder(ctx, enroll.Shopify, lifecycleShop, lifecycleID)
		if err != nil || o.Status != enroll.OrderAwaitingPayment || len(o.Items) != 0 {
			t.Errorf("order of a refund: %+v, %v; want awaiting payment, no items", o, err)
		}
		var lines, quantity int
		if err := db.SQL().QueryRow(`SELECT COUNT(*), SUM(quantity) FROM refunds WHERE external_id = 77`).Scan(&lines, &quantity); err != nil ||
			lines != 2 || quantity != 3 {
			t.Errorf("refund lines %d, quantity %d (%v); want 2, 3", lines, quantity, err)
		}
		if f := factsOf(t, db, o.ID); !f.SnapshotAt.IsZero() {
			t.Errorf("a refund moved the snapshot time: %+v", f)
		}
	})
}

// Snapshots and refunds of one order written at once, by writers on
// several connections (PostgreSQL), end as if written one after another:
// the newest snapshot's facts, every refund counted once.
func TestConcurrentSnapshotsOfOneOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		if _, err := db.SaveAccepted(ctx, shopify(at(0), team, unenrollOnRefund), rec.enqueue); err != nil {
			t.Fatal(err)
		}
		w := db.NewWriter(rec.enqueue, 4, 2)
		defer w.Close()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				a := shopify(at(i+1), team, unenrollOnRefund)
				a.Order.ShopStatus = fmt.Sprint("status-", i+1)
				if i%3 == 0 {
					a = refund(int64(900+i), map[int64]int{7: 1}, unenrollOnRefund)
				}
				if _, err := w.SaveAccepted(ctx, a); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		o, err := db.FindOrder(ctx, enroll.Shopify, lifecycleShop, lifecycleID)
		if err != nil {
			t.Fatal(err)
		}
		if f := factsOf(t, db, o.ID); !f.SnapshotAt.Equal(at(20)) || f.ShopStatus != "status-20" {
			t.Errorf("order facts %+v; want the newest snapshot's", f)
		}
		want := []item{ // 7 refunds of one seat each: every learner's seat
			{"t1@example.com", enroll.ItemPending, enroll.WantUnenrolled, true},
			{"t2@example.com", enroll.ItemPending, enroll.WantUnenrolled, true},
			{"t3@example.com", enroll.ItemPending, enroll.WantUnenrolled, true},
		}
		if diff := cmp.Diff(want, itemsOf(t, db, o.ID)); diff != "" {
			t.Errorf("items (-want +got):\n%s", diff)
		}
	})
}

// A snapshot of an order a privacy request redacted changes nothing: its
// learners' emails would come back, in new items and in the stored body.
func TestSnapshotOfARedactedOrder(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		if _, err := db.SaveAccepted(ctx, shopify(at(0), twoCourses), rec.enqueue); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Redact(ctx, enroll.Shopify, lifecycleShop, enroll.Redaction{OrderIDs: []int64{lifecycleID}}); err != nil {
			t.Fatal(err)
		}
		res, err := db.SaveAccepted(ctx, shopify(at(5), twoCourses, cancelled), rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Redacted || res.Reason() != store.ReasonRedacted || len(res.Enqueued) != 0 {
			t.Errorf("snapshot of a redacted order: %+v, reason %q", res, res.Reason())
		}
		for _, email := range []string{"a@example.com", "b@example.com", "buyer@example.com"} {
			if where := storetest.Find(t, db, email); len(where) > 0 {
				t.Errorf("%s stored again after the redaction, in %v", email, where)
			}
		}
		o, err := db.FindOrder(ctx, enroll.Shopify, lifecycleShop, lifecycleID)
		if err != nil || len(o.Items) != 2 || o.Snapshot.Cancelled {
			t.Errorf("order after the snapshot: %+v, %v; want its two items, not cancelled", o, err)
		}
	})
}
