package store_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// A row of folded rejections is listed with its count, and counted as
// that many rejections on the dashboard.
func TestFoldedDeliveries(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		start := time.Now().Add(-time.Minute)
		d := order(1).Delivery
		d.Status, d.Reason, d.SourceIP = 403, "invalid signature", "203.0.113.9"
		for range 3 {
			if _, err := db.SaveDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		d.Folded, d.Body, d.Unread, d.Headers = 19950, nil, true, nil
		id, err := db.SaveDelivery(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		ds, _, err := db.ListDeliveries(ctx, store.DeliveryFilter{Rejected: true})
		if err != nil || len(ds) != 4 {
			t.Fatalf("rejected deliveries: %d, %v", len(ds), err)
		}
		if ds[0].ID != id || ds[0].Folded != 19950 || ds[0].BodySHA256 != "" || ds[0].BodySize != 0 || ds[1].Folded != 0 {
			t.Errorf("folded row listed as %+v, then %+v", ds[0], ds[1])
		}
		s, err := db.Stats(ctx, start)
		if err != nil || s.Rejected != 19953 || s.RejectedBy["invalid signature"] != 19953 {
			t.Errorf("stats: %+v, %v; want 19953 rejections", s, err)
		}
	})
}

// hold keeps the writer from writing until the returned function is
// called: SQLite's one connection is taken, PostgreSQL's deliveries table
// locked.
func hold(t *testing.T, db *store.DB) func() {
	t.Helper()
	ctx := context.Background()
	if db.Dialect() == store.SQLite {
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return func() { conn.Close() }
	}
	tx, err := db.SQL().BeginTx(ctx, &sql.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return func() { tx.Rollback() }
}

// waitFor polls cond until it holds, for at most 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An accepted delivery does not wait behind rejected ones: it is written
// in the writer's next batch, however many rejections are queued before it.
func TestWriterPutsAcceptedDeliveriesFirst(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		var rec recorder
		const maxBatch = 16
		w := db.NewWriter(rec.enqueue, 1, maxBatch)
		defer w.Close()
		release := hold(t, db)
		var wg sync.WaitGroup
		rejected := make([]int64, 200)
		for i := range rejected {
			wg.Go(func() {
				d := order(1).Delivery
				d.Status, d.Reason = 403, "invalid signature"
				var err error
				if rejected[i], err = w.SaveDelivery(context.Background(), d); err != nil {
					t.Error(err)
				}
			})
		}
		// The writer holds a batch of rejections; the rest wait.
		waitFor(t, "queued the rejections", func() bool { _, others := w.Waiting(); return others == 4*maxBatch })
		var accepted store.SaveResult
		wg.Go(func() {
			var err error
			if accepted, err = w.SaveAccepted(context.Background(), order(77, itemA)); err != nil {
				t.Error(err)
			}
		})
		waitFor(t, "queued the accepted delivery", func() bool { n, _ := w.Waiting(); return n == 1 })
		release()
		wg.Wait()
		before := 0
		for _, id := range rejected {
			if id < accepted.DeliveryID {
				before++
			}
		}
		if before > maxBatch {
			t.Errorf("%d rejections written before the accepted delivery; want at most the one batch being written (%d)", before, maxBatch)
		}
	})
}
