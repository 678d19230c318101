package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

func TestSQLitePath(t *testing.T) {
	tests := []struct {
		url, want string
		wantErr   bool
	}{
		{url: "sqlite:webhook-receiver.db", want: "webhook-receiver.db"},
		{url: "sqlite:/var/lib/data.db", want: "/var/lib/data.db"},
		{url: "sqlite:///abs/path.db", want: "/abs/path.db"},
		{url: "sqlite:////abs/path.db", want: "/abs/path.db"},
		{url: "sqlite://rel/path.db", want: "rel/path.db"},
		{url: "SQLITE:x.db", want: "x.db"},
		{url: "sqlite:", wantErr: true},
		{url: "webhook.db", wantErr: true},
		{url: "mysql://u@h/db", wantErr: true},
		{url: "postgres://u:p@h/db", wantErr: true},
	}
	for _, tt := range tests {
		got, err := store.SQLitePath(tt.url)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("SQLitePath(%q) = %q, %v; want %q, error %v", tt.url, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestMigrateTwiceIsNoop(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		applied, err := db.Migrate(context.Background())
		if err != nil || len(applied) != 0 {
			t.Fatalf("second Migrate = %v, %v; want nothing applied", applied, err)
		}
		if n, err := db.PendingMigrations(context.Background()); err != nil || n != 0 {
			t.Fatalf("PendingMigrations = %d, %v", n, err)
		}
	})
}

func TestConcurrentMigrationsTakeTurns(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		u := storetest.URL(t, d)
		var wg sync.WaitGroup
		applied := make([][]string, 3)
		for i := range 3 {
			wg.Go(func() {
				db, err := store.Open(context.Background(), u, store.Options{})
				if err != nil {
					t.Error(err)
					return
				}
				defer db.Close()
				err = db.WithMigrationLock(context.Background(), func() error {
					var err error
					applied[i], err = db.Migrate(context.Background())
					return err
				})
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		migrators := 0
		for _, a := range applied {
			if len(a) > 0 {
				migrators++
			}
		}
		if migrators != 1 {
			t.Errorf("migrations applied by %d processes (%v); want one to apply them all", migrators, applied)
		}
	})
}

// recorder is an EnqueueFunc that remembers what it was asked to enqueue.
type recorder struct {
	mu     sync.Mutex
	ids    []int64
	groups [][]int64
	err    error
}

func (r *recorder) enqueue(ctx context.Context, tx *sql.Tx, groups [][]int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	for _, g := range groups {
		r.ids = append(r.ids, g...)
	}
	r.groups = append(r.groups, groups...)
	return nil
}

func (r *recorder) enqueued() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

func order(id int64, items ...enroll.Item) store.Accepted {
	return store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: "shop.example.com",
			Path: "/webhooks/shopify/order/create", SourceIP: "192.0.2.1", Headers: http.Header{"X-Test": {"1"}},
			Body: []byte(`{"id":1}`), Status: 200},
		Order: enroll.Order{Platform: enroll.Shopify, Source: "shop.example.com", ID: id, Paid: true, Items: items},
	}
}

var (
	itemA = enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "a@example.com"}
	itemB = enroll.Item{LineItemID: 2, SKU: "course-v1:Org+B+1", Email: "b@example.com"}
)

func TestSaveAcceptedEnqueuesNewItemsOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		res, err := db.SaveAccepted(ctx, order(5834765623456, itemA, itemB), rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		if !res.NewOrder || len(res.Enqueued) != 2 {
			t.Fatalf("first delivery: %+v; want a new order with 2 items enqueued", res)
		}
		// The same order again, then with one more item.
		res, err = db.SaveAccepted(ctx, order(5834765623456, itemA, itemB), rec.enqueue)
		if err != nil || res.NewOrder || len(res.Enqueued) != 0 {
			t.Fatalf("duplicate delivery: %+v, %v; want nothing enqueued", res, err)
		}
		itemC := enroll.Item{LineItemID: 3, SKU: "course-v1:Org+C+1", Email: "a@example.com"}
		res, err = db.SaveAccepted(ctx, order(5834765623456, itemA, itemB, itemC), rec.enqueue)
		if err != nil || len(res.Enqueued) != 1 {
			t.Fatalf("delivery with a new item: %+v, %v; want 1 enqueued", res, err)
		}
		if got := rec.enqueued(); len(got) != 3 {
			t.Fatalf("enqueued %v; want 3 distinct items", got)
		}
		o, err := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 5834765623456)
		if err != nil || len(o.Items) != 3 || o.Status != enroll.OrderNew {
			t.Fatalf("FindOrder = %+v, %v", o, err)
		}
		ds, err := db.Deliveries(ctx, 10)
		if err != nil || len(ds) != 3 {
			t.Fatalf("Deliveries = %d, %v; want 3", len(ds), err)
		}
		if ds[1].Reason != "duplicate" || ds[0].Reason != "" || string(ds[1].Body) != `{"id":1}` {
			t.Errorf("delivery reasons %q, %q; body %q", ds[0].Reason, ds[1].Reason, ds[1].Body)
		}
	})
}

func TestConcurrentDuplicatesEnqueueOnce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var rec recorder
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := db.SaveAccepted(context.Background(), order(7, itemA, itemB), rec.enqueue); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := rec.enqueued(); len(got) != 2 {
			t.Fatalf("enqueued %v; want each of 2 items once", got)
		}
		ds, _ := db.Deliveries(context.Background(), 100)
		if len(ds) != 20 {
			t.Fatalf("stored %d deliveries; want all 20", len(ds))
		}
	})
}

func TestFailedItemGetsAnotherChance(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		res, err := db.SaveAccepted(ctx, order(9, itemA, itemB), rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		a, b := res.Enqueued[0], res.Enqueued[1]
		mustRecord(t, db, store.Attempt{ItemID: a, Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed, Detail: "no course",
			CourseID: "course-v1:Org+Stale+1", Counted: true})
		mustRecord(t, db, store.Attempt{ItemID: b, Outcome: enroll.OutcomeEnrolled, Status: enroll.ItemEnrolled, CourseID: "course-v1:Org+B+1", Counted: true})
		o, _ := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 9)
		if o.Status != enroll.OrderError || o.Items[0].LastError != "no course" || o.Items[1].CourseID != "course-v1:Org+B+1" {
			t.Fatalf("after a failure: %+v", o)
		}
		res, err = db.SaveAccepted(ctx, order(9, itemA, itemB), rec.enqueue)
		if err != nil || !slices.Equal(res.Enqueued, []int64{a}) {
			t.Fatalf("redelivery enqueued %v, %v; want only the failed item %d", res.Enqueued, err, a)
		}
		o, _ = db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 9)
		if o.Status != enroll.OrderProcessing || o.Items[0].Status != enroll.ItemPending || o.Items[0].CourseID != "" {
			t.Fatalf("after redelivery: order %s, item %s", o.Status, o.Items[0].Status)
		}
		if w, err := db.WorkFor(ctx, a); err != nil || w.Tries != 0 || w.Attempts != 1 {
			t.Fatalf("after redelivery: %+v, %v; want a fresh retry budget and the history kept", w, err)
		}
	})
}

func TestEnqueueFailureStoresNothing(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rec := recorder{err: errors.New("queue unavailable")}
		if _, err := db.SaveAccepted(ctx, order(11, itemA), rec.enqueue); err == nil {
			t.Fatal("SaveAccepted succeeded although enqueueing failed")
		}
		if _, err := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 11); !errors.Is(err, enroll.ErrNotFound) {
			t.Fatalf("order stored without its jobs: %v", err)
		}
		if ds, _ := db.Deliveries(ctx, 10); len(ds) != 0 {
			t.Fatalf("delivery stored without its jobs: %d", len(ds))
		}
	})
}

func TestAwaitingPaymentThenPaid(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		unpaid := order(12, itemA)
		unpaid.AwaitingPayment = true
		if res, err := db.SaveAccepted(ctx, unpaid, rec.enqueue); err != nil || len(res.Enqueued) != 0 {
			t.Fatalf("unpaid: %+v, %v", res, err)
		}
		o, _ := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 12)
		if o.Status != enroll.OrderAwaitingPayment || len(o.Items) != 0 {
			t.Fatalf("unpaid order: %+v", o)
		}
		if res, err := db.SaveAccepted(ctx, order(12, itemA), rec.enqueue); err != nil || len(res.Enqueued) != 1 {
			t.Fatalf("paid: %+v, %v", res, err)
		}
		o, _ = db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 12)
		if o.Status != enroll.OrderNew || len(o.Items) != 1 {
			t.Fatalf("paid order: %+v", o)
		}
	})
}

func TestSaveDeliveryKeepsBodyOnlyWhenAsked(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d := order(1).Delivery
		d.Status, d.Reason, d.Body = 403, "invalid signature", []byte("secret payload")
		if _, err := db.SaveDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		d.Status, d.Reason, d.KeepBody = 402, "order is not paid", true
		if _, err := db.SaveDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
		ds, _ := db.Deliveries(ctx, 10)
		if len(ds) != 2 {
			t.Fatalf("got %d deliveries", len(ds))
		}
		rejected, unpaid := ds[1], ds[0]
		if rejected.Body != nil || rejected.BodySize != 14 || len(rejected.BodySHA256) != 64 || rejected.Reason != "invalid signature" {
			t.Errorf("rejected delivery: %+v", rejected)
		}
		if string(unpaid.Body) != "secret payload" || unpaid.OrderID.Valid {
			t.Errorf("402 delivery: %+v", unpaid)
		}
	})
}

func mustRecord(t *testing.T, db *store.DB, a store.Attempt) {
	t.Helper()
	if err := db.RecordAttempt(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

func TestWriterBatchesConcurrentDeliveries(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var rec recorder
		w := db.NewWriter(rec.enqueue, 2, 16)
		defer w.Close()
		var wg sync.WaitGroup
		for i := range 100 {
			wg.Go(func() {
				// 50 orders, each delivered twice; and a rejection for each.
				it := enroll.Item{LineItemID: 1, SKU: "course-v1:Org+W+1", Email: fmt.Sprintf("w%d@example.com", i%50)}
				if _, err := w.SaveAccepted(context.Background(), order(int64(100+i%50), it)); err != nil {
					t.Error(err)
				}
				d := order(1).Delivery
				d.Status, d.Reason = 403, "invalid signature"
				if _, err := w.SaveDelivery(context.Background(), d); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := len(rec.enqueued()); got != 50 {
			t.Errorf("enqueued %d items; want each of 50 once", got)
		}
		if ds, _ := db.Deliveries(context.Background(), 1000); len(ds) != 200 {
			t.Errorf("stored %d deliveries; want 200", len(ds))
		}
	})
}

func TestWriterIsolatesABadDelivery(t *testing.T) {
	db := storetest.Open(t, store.Postgres) // PostgreSQL refuses NUL in text; SQLite stores it
	var rec recorder
	w := db.NewWriter(rec.enqueue, 1, 64)
	defer w.Close()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Go(func() {
			email := fmt.Sprintf("ok%d@example.com", i)
			if i == 7 {
				email = "bad\x00@example.com"
			}
			_, errs[i] = w.SaveAccepted(context.Background(), order(int64(200+i), enroll.Item{LineItemID: 1, SKU: "course-v1:Org+W+1", Email: email}))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (err != nil) != (i == 7) {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	if got := len(rec.enqueued()); got != 19 {
		t.Errorf("enqueued %d items; want the 19 good ones", got)
	}
}

func TestClosedWriterRefuses(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var rec recorder
		w := db.NewWriter(rec.enqueue, 2, 8)
		w.Close()
		if _, err := w.SaveAccepted(context.Background(), order(1, itemA)); !errors.Is(err, store.ErrWriterClosed) {
			t.Fatalf("SaveAccepted after Close = %v; want ErrWriterClosed", err)
		}
	})
}

// An order is NEW until a job claims its items, PROCESSING from then on
// (a throttled attempt does not make it NEW again), and PROCESSED once
// every item is enrolled.
func TestOrderStatusFollowsItsItems(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		res, err := db.SaveAccepted(ctx, order(42, itemA, itemB), rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		a, b := res.Enqueued[0], res.Enqueued[1]
		status := func(want enroll.OrderStatus, when string) {
			t.Helper()
			o, err := db.FindOrder(ctx, enroll.Shopify, "shop.example.com", 42)
			if err != nil || o.Status != want {
				t.Fatalf("%s: order status %q, %v; want %s", when, o.Status, err, want)
			}
		}
		status(enroll.OrderNew, "stored")
		if got, err := db.Claim(ctx, []int64{a}, time.Minute); err != nil || len(got) != 1 {
			t.Fatalf("Claim = %v, %v", got, err)
		}
		status(enroll.OrderProcessing, "claimed")
		if err := db.RecordAttempt(ctx, store.Attempt{ItemID: a, Outcome: enroll.OutcomeThrottled, HTTPStatus: 429,
			Status: enroll.ItemPending}); err != nil {
			t.Fatal(err)
		}
		status(enroll.OrderProcessing, "throttled")
		for _, id := range []int64{a, b} {
			if err := db.RecordAttempt(ctx, store.Attempt{ItemID: id, Outcome: enroll.OutcomeEnrolled, HTTPStatus: 200,
				Status: enroll.ItemEnrolled, Counted: true}); err != nil {
				t.Fatal(err)
			}
		}
		status(enroll.OrderProcessed, "enrolled")
	})
}
