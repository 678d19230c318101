package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Orders in every state of an order's life, written with SQL as the
// receiver would have left them, for the tests of what operators see.
//
//	shopify 9001 (life.myshopify.com): shop status partially_refunded, a
//	  snapshot of LifeSnapshotAt applied, 2 stale snapshots and 1 duplicate
//	  after it; refund 7001 took 4 of line 11's 5 seats;
//	  line 11 (TEAM, 5 seats): ada@ enrolled in verified, bob@ refunded and
//	  to be unenrolled (retrying); line 12 (SOLO, 1 seat): cy@
//	  awaiting_registration in verified
//	woocommerce 9002 (https://woo.example.com/): processing, partially
//	  refunded, redacted at LifeRedactedAt; one item enrolled (course default)
//	woocommerce 9003 (https://woo.example.com/): refunded; one item unenrolled
//	shopify 9004 (life.myshopify.com): cancelled (voided); one item unenrolled
const (
	LifeShop = "life.myshopify.com"
	LifeSite = "https://woo.example.com/"
)

// Times of the lifecycle fixture.
var (
	LifeSnapshotAt = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	LifeRefundAt   = time.Date(2026, 11, 23, 11, 30, 0, 0, time.UTC)
	LifeRedactedAt = time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
)

// Life is the lifecycle fixture's ids.
type Life struct {
	// Orders are internal order ids by shop order id.
	Orders map[int64]int64
	// Items are item ids by learner email.
	Items map[string]int64
}

// Exec runs a statement on the database, failing the test on an error.
// Placeholders are $1, $2, ... on both backends; booleans are Go bools.
func Exec(t testing.TB, db *store.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.SQL().ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// insertID runs an INSERT ... RETURNING id.
func insertID(t testing.TB, db *store.DB, query string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := db.SQL().QueryRowContext(context.Background(), query+" RETURNING id", args...).Scan(&id); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return id
}

// LifecycleOrders writes the lifecycle fixture.
func LifecycleOrders(t testing.TB, db *store.DB) Life {
	t.Helper()
	life := Life{Orders: map[int64]int64{}, Items: map[string]int64{}}
	created := LifeSnapshotAt.Add(-time.Hour)
	type item struct {
		line               int64
		sku, email, status string
		want, mode         string
		quantity           int
		refunded           bool
	}
	add := func(platform, source string, id int64, status, shopStatus string, snapshot, redacted any,
		cancelled, refunded, partial bool, items ...item) int64 {
		t.Helper()
		oid := insertID(t, db, `INSERT INTO orders (platform, source, external_id, email, status, created_at, updated_at,
			snapshot_at, shop_status, cancelled, refunded, partial_refund, redacted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, $11, $12)`,
			platform, source, id, "buyer@example.com", status, created, snapshot, shopStatus, cancelled, refunded, partial, redacted)
		life.Orders[id] = oid
		for _, it := range items {
			life.Items[it.email] = insertID(t, db, `INSERT INTO items (order_id, line_item_id, sku, email, status, want, mode,
				line_quantity, refunded, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
				oid, it.line, it.sku, it.email, it.status, it.want, it.mode, it.quantity, it.refunded, created)
		}
		return oid
	}
	a := add("shopify", LifeShop, 9001, "PROCESSING", "partially_refunded", LifeSnapshotAt, nil, false, false, false,
		item{11, "TEAM", "ada@example.com", "enrolled", "enrolled", "verified", 5, false},
		item{11, "TEAM", "bob@example.com", "retrying", "unenrolled", "verified", 5, true},
		item{12, "SOLO", "cy@example.com", "awaiting_registration", "enrolled", "verified", 1, false})
	Exec(t, db, `INSERT INTO refunds (order_id, external_id, line_item_id, quantity, at) VALUES ($1, $2, $3, $4, $5)`,
		a, 7001, 11, 4, LifeRefundAt)
	for i, reason := range []string{"", "stale", "duplicate", "stale"} {
		Exec(t, db, `INSERT INTO deliveries (received_at, platform, source, path, headers, body, body_size, body_sha256,
			status, reason, order_id) VALUES ($1, 'shopify', $2, '/webhooks/shopify', '{}', $3, 2, '', 200, $4, $5)`,
			created.Add(time.Duration(i)*time.Minute), LifeShop, []byte("{}"), reason, a)
	}
	add("woocommerce", LifeSite, 9002, "PROCESSED", "processing", LifeSnapshotAt, LifeRedactedAt, false, false, true,
		item{21, "WOO", "dee@example.com", "enrolled", "enrolled", "", 1, false})
	add("woocommerce", LifeSite, 9003, "PROCESSED", "refunded", LifeSnapshotAt, nil, false, true, false,
		item{31, "WOO", "eve@example.com", "unenrolled", "unenrolled", "", 1, false})
	add("shopify", LifeShop, 9004, "PROCESSED", "voided", LifeSnapshotAt, nil, true, false, false,
		item{41, "SOLO", "fay@example.com", "unenrolled", "unenrolled", "", 1, false})
	return life
}
