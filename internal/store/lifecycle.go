package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// The life of an order as its deliveries tell it. Every accepted delivery
// is a snapshot of its order (enroll.Snapshot and the items) or a refund
// of it. A snapshot older than the one applied changes nothing; a newer one
// updates the order's facts, creates missing items, and sets every item's
// desired state (enroll.Desired). A refund marks the seats it took
// (enroll.RefundedSeats), for good. An item whose desired state changed
// and is not reached goes back to pending and is enqueued, in the
// transaction that changed it: its job reads the desired state when it
// runs. New orders take the writer's multi-row fast path (batch.go); this
// file holds the rest, one order at a time.
//
// On PostgreSQL, an order's lifecycle changes are serialized by an
// advisory lock, and the order's row is updated only after its items:
// enrollment jobs update items, then lock their orders (RecordAttempts),
// so holding an order's row while waiting for one of its items could
// deadlock with them.

// newItemState is the desired state and status the items of a new order
// start with: enrolled, pending; or, for an order first seen cancelled or
// refunded whose shop unenrolls on refund, unenrolled already: there is
// nothing to undo.
func newItemState(a Accepted) (enroll.Want, enroll.ItemStatus) {
	if want := enroll.Desired(a.Order.Snapshot, false, a.UnenrollOnRefund); want == enroll.WantUnenrolled {
		return want, enroll.ItemUnenrolled
	}
	return enroll.WantEnrolled, enroll.ItemPending
}

// newOrderStatus is the status a new order starts with.
func newOrderStatus(a Accepted) enroll.OrderStatus {
	if a.AwaitingPayment {
		return enroll.OrderAwaitingPayment
	}
	if len(a.Order.Items) == 0 {
		return enroll.StatusOf(nil)
	}
	_, status := newItemState(a) // every item's
	return enroll.StatusOf([]enroll.ItemStatus{status})
}

// snapshotTime is a snapshot's time as stored: NULL when the payload gave none.
func snapshotTime(at time.Time) any {
	if at.IsZero() {
		return nil
	}
	return at.UTC()
}

// orderFacts are what a stored order says of the shop's order.
type orderFacts struct {
	email      string
	snapshotAt sql.NullTime
	// redacted: a privacy request erased the order's personal data.
	redacted bool
	enroll.Snapshot
}

func (db *DB) orderFacts(ctx context.Context, tx *sql.Tx, orderID int64) (orderFacts, error) {
	var f orderFacts
	err := tx.QueryRowContext(ctx, `SELECT email, snapshot_at, shop_status, cancelled, refunded, partial_refund,
		redacted_at IS NOT NULL FROM orders WHERE id = $1`, orderID).Scan(&f.email, &f.snapshotAt, &f.ShopStatus,
		&f.Cancelled, &f.Refunded, &f.PartialRefund, &f.redacted)
	if err != nil {
		return f, fmt.Errorf("read order %d: %w", orderID, err)
	}
	f.At = f.snapshotAt.Time
	return f, nil
}

// changedBy reports whether applying snapshot o changes the facts.
func (f orderFacts) changedBy(o enroll.Order) bool {
	return !o.At.IsZero() && !o.At.Equal(f.At) || o.ShopStatus != f.ShopStatus || o.Cancelled != f.Cancelled ||
		o.Refunded != f.Refunded || o.PartialRefund != f.PartialRefund || f.email == "" && o.Email != ""
}

// lifecycleLock is the class of the advisory locks that serialize the
// lifecycle changes of one order (PostgreSQL). Its two-key space does not
// overlap the migration lock's one-key space.
const lifecycleLock = 0x5752_0001

// lockLifecycle waits until no other transaction changes the order's
// lifecycle, until the end of this one. SQLite transactions are serialized
// already.
func (db *DB) lockLifecycle(ctx context.Context, tx *sql.Tx, orderID int64) error {
	if db.dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(lifecycleLock), int32(orderID)); err != nil {
		return fmt.Errorf("lock order %d: %w", orderID, err)
	}
	return nil
}

// findOrder sets the id of a stored order.
func (db *DB) findOrder(ctx context.Context, tx *sql.Tx, o enroll.Order, id *int64) error {
	err := tx.QueryRowContext(ctx, `SELECT id FROM orders WHERE platform = $1 AND source = $2 AND external_id = $3`,
		o.Platform, o.Source, o.ID).Scan(id)
	if err != nil {
		return fmt.Errorf("find order %d: %w", o.ID, err)
	}
	return nil
}

// applySnapshot applies a snapshot to its order, stored before.
func (db *DB) applySnapshot(ctx context.Context, tx *sql.Tx, a Accepted, res *SaveResult, now time.Time) error {
	o := a.Order
	if err := db.findOrder(ctx, tx, o, &res.OrderID); err != nil {
		return err
	}
	if err := db.lockLifecycle(ctx, tx, res.OrderID); err != nil {
		return err
	}
	facts, err := db.orderFacts(ctx, tx, res.OrderID)
	if err != nil {
		return err
	}
	switch {
	case enroll.Stale(o.At, facts.At):
		res.Stale = true
		return nil
	case facts.redacted:
		// Its learners' emails are erased: a snapshot would bring them
		// back, and create their items again.
		res.Redacted = true
		return nil
	}
	items, err := db.orderItems(ctx, tx, res.OrderID)
	if err != nil {
		return err
	}
	if !a.AwaitingPayment {
		created, err := db.createItems(ctx, tx, res.OrderID, o.Items, items, now)
		if err != nil {
			return err
		}
		if len(created) > 0 {
			items = append(items, created...)
			// Items of lines refunded before the order's first snapshot
			// are created refunded.
			refunded, err := db.refundedQuantities(ctx, tx, res.OrderID)
			if err != nil {
				return err
			}
			markRefunded(items, refunded)
		}
	}
	redelivered := map[itemKey]enroll.Item{}
	for _, it := range o.Items {
		redelivered[itemKey{it.SKU, it.Email}] = it
	}
	itemsChanged, err := db.settleItems(ctx, tx, items, o.Snapshot, a.UnenrollOnRefund, redelivered, res, now)
	if err != nil {
		return err
	}
	if facts.changedBy(o) {
		res.changed = true
		_, err := tx.ExecContext(ctx, `UPDATE orders SET snapshot_at = COALESCE($1, snapshot_at), shop_status = $2,
			cancelled = $3, refunded = $4, partial_refund = $5,
			email = CASE WHEN email = '' AND redacted_at IS NULL THEN $6 ELSE email END, updated_at = $7 WHERE id = $8`,
			snapshotTime(o.At), o.ShopStatus, o.Cancelled, o.Refunded, o.PartialRefund, o.Email, now, res.OrderID)
		if err != nil {
			return fmt.Errorf("update order %d: %w", o.ID, err)
		}
	}
	if !itemsChanged {
		return nil
	}
	res.changed = true
	return db.updateOrderStatus(ctx, tx, res.OrderID, now)
}

// applyRefund records a refund of an order, marks the seats it took
// refunded, and sets the desired state of their items. A refund of an
// order not stored yet creates the order, awaiting its first snapshot; a
// refund never moves the order's snapshot time. A refund recorded before
// changes nothing.
func (db *DB) applyRefund(ctx context.Context, tx *sql.Tx, a Accepted, res *SaveResult, now time.Time) error {
	o, rf := a.Order, a.Refund
	err := tx.QueryRowContext(ctx, `INSERT INTO orders (platform, source, external_id, email, status, created_at, updated_at)
		VALUES ($1, $2, $3, '', $4, $5, $5) ON CONFLICT (platform, source, external_id) DO NOTHING RETURNING id`,
		o.Platform, o.Source, o.ID, enroll.OrderAwaitingPayment, now).Scan(&res.OrderID)
	switch {
	case err == nil:
		res.NewOrder = true
	case errors.Is(err, sql.ErrNoRows):
		if err := db.findOrder(ctx, tx, o, &res.OrderID); err != nil {
			return err
		}
	default:
		return fmt.Errorf("insert order %d: %w", o.ID, err)
	}
	if err := db.lockLifecycle(ctx, tx, res.OrderID); err != nil {
		return err
	}
	lines := map[int64]int{}
	for _, l := range rf.Lines {
		if l.LineItemID != 0 {
			lines[l.LineItemID] += l.Quantity
		}
	}
	if len(lines) == 0 {
		return nil
	}
	at := rf.At
	if at.IsZero() {
		at = now
	}
	var rows [][]any
	for _, line := range slices.Sorted(maps.Keys(lines)) {
		rows = append(rows, []any{res.OrderID, rf.ID, line, lines[line], at.UTC()})
	}
	inserted := 0
	err = db.insertRows(ctx, tx, refundsInsert,
		`ON CONFLICT (order_id, external_id, line_item_id) DO NOTHING RETURNING id`, rows,
		func(rs *sql.Rows) error { inserted++; return nil })
	if err != nil {
		return fmt.Errorf("insert refund %d of order %d: %w", rf.ID, o.ID, err)
	}
	if inserted == 0 {
		return nil // recorded before
	}
	res.changed = true
	items, err := db.orderItems(ctx, tx, res.OrderID)
	if err != nil || len(items) == 0 {
		return err
	}
	refunded, err := db.refundedQuantities(ctx, tx, res.OrderID)
	if err != nil {
		return err
	}
	markRefunded(items, refunded)
	facts, err := db.orderFacts(ctx, tx, res.OrderID)
	if err != nil {
		return err
	}
	itemsChanged, err := db.settleItems(ctx, tx, items, facts.Snapshot, a.UnenrollOnRefund, nil, res, now)
	if err != nil || !itemsChanged {
		return err
	}
	return db.updateOrderStatus(ctx, tx, res.OrderID, now)
}

// lifecycleItem is a stored item as the lifecycle rules see it, and what
// they change of it.
type lifecycleItem struct {
	id, line   int64
	sku, email string
	status     enroll.ItemStatus
	want       enroll.Want
	refunded   bool
	quantity   int
	// created: inserted by this delivery, pending towards enrolled.
	created bool
	// newlyRefunded: a refund took its seat just now.
	newlyRefunded bool
}

type itemKey struct{ sku, email string }

// orderItems loads an order's items, in id order.
func (db *DB) orderItems(ctx context.Context, tx *sql.Tx, orderID int64) ([]lifecycleItem, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, line_item_id, sku, email, status, want, refunded, line_quantity
		FROM items WHERE order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("read items of order %d: %w", orderID, err)
	}
	items, err := scanRows(rows, func(it *lifecycleItem) []any {
		return []any{&it.id, &it.line, &it.sku, &it.email, &it.status, &it.want, &it.refunded, &it.quantity}
	})
	if err != nil {
		return nil, fmt.Errorf("read items of order %d: %w", orderID, err)
	}
	return items, nil
}

// createItems inserts the items of a snapshot that the order does not have
// yet, pending towards enrolled, and returns them in id order. A learner
// twice on one order is one item.
func (db *DB) createItems(ctx context.Context, tx *sql.Tx, orderID int64, want []enroll.Item, have []lifecycleItem, now time.Time) ([]lifecycleItem, error) {
	stored := map[itemKey]bool{}
	for _, it := range have {
		stored[itemKey{it.sku, it.email}] = true
	}
	var rows [][]any
	byKey := map[itemKey]enroll.Item{}
	for _, it := range want {
		k := itemKey{it.SKU, it.Email}
		if stored[k] {
			continue
		}
		if _, ok := byKey[k]; !ok {
			byKey[k] = it
		}
		rows = append(rows, []any{orderID, it.LineItemID, it.SKU, it.Email, it.CourseID, it.Mode, lineQuantity(it),
			enroll.ItemPending, enroll.WantEnrolled, now, now})
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids, err := insertKeyed(ctx, db, tx, itemsInsert,
		`ON CONFLICT (order_id, sku, email) DO NOTHING RETURNING id, sku, email`, rows,
		func(k *itemKey) []any { return []any{&k.sku, &k.email} })
	if err != nil {
		return nil, fmt.Errorf("insert %d items of order %d: %w", len(rows), orderID, err)
	}
	created := make([]lifecycleItem, 0, len(ids))
	for k, id := range ids {
		it := byKey[k]
		created = append(created, lifecycleItem{id: id, line: it.LineItemID, sku: it.SKU, email: it.Email,
			status: enroll.ItemPending, want: enroll.WantEnrolled, quantity: lineQuantity(it), created: true})
	}
	slices.SortFunc(created, func(a, b lifecycleItem) int { return cmp.Compare(a.id, b.id) })
	return created, nil
}

// refundedQuantities sums the refunded quantity of each line of an order,
// over all its refunds.
func (db *DB) refundedQuantities(ctx context.Context, tx *sql.Tx, orderID int64) (map[int64]int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT line_item_id, SUM(quantity) FROM refunds WHERE order_id = $1 GROUP BY line_item_id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("read refunds of order %d: %w", orderID, err)
	}
	type line struct {
		id       int64
		quantity int
	}
	lines, err := scanRows(rows, func(l *line) []any { return []any{&l.id, &l.quantity} })
	if err != nil {
		return nil, fmt.Errorf("read refunds of order %d: %w", orderID, err)
	}
	out := make(map[int64]int, len(lines))
	for _, l := range lines {
		out[l.id] = l.quantity
	}
	return out, nil
}

// markRefunded marks refunded the items whose seats the refunds took:
// of each refunded line, enroll.RefundedSeats of its learners, those with
// the highest ids first. A refunded item stays refunded.
func markRefunded(items []lifecycleItem, refunded map[int64]int) {
	byLine := map[int64][]int{}
	for i, it := range items {
		byLine[it.line] = append(byLine[it.line], i)
	}
	for line, quantity := range refunded {
		of := byLine[line]
		if len(of) == 0 {
			continue
		}
		slices.SortFunc(of, func(a, b int) int { return cmp.Compare(items[a].id, items[b].id) })
		seats := 0
		for _, i := range of {
			seats = max(seats, items[i].quantity)
		}
		n := enroll.RefundedSeats(seats, len(of), quantity)
		for _, i := range of[len(of)-n:] {
			if !items[i].refunded {
				items[i].refunded, items[i].newlyRefunded = true, true
			}
		}
	}
}

// settleItems sets each item's desired state from the order's snapshot
// and the item's refund, writes what changed, and enqueues the items that
// need an attempt: created ones that want enrolling, and those whose
// desired state changed and is not reached (back to pending, whatever their
// status). A created item that wants unenrolling has nothing to undo: it
// is unenrolled already. Resolved items are operator decisions, left as
// they are. A redelivery (redelivered: the snapshot's items by SKU and
// email; nil for a refund) gives its failed items another chance, as
// before: their course is looked up again, unless configured. Items are
// written in id order, as enrollment jobs write them. It reports whether
// any item changed.
func (db *DB) settleItems(ctx context.Context, tx *sql.Tx, items []lifecycleItem, s enroll.Snapshot, unenrollOnRefund bool,
	redelivered map[itemKey]enroll.Item, res *SaveResult, now time.Time) (bool, error) {
	slices.SortFunc(items, func(a, b lifecycleItem) int { return cmp.Compare(a.id, b.id) })
	changed := false
	for _, it := range items {
		if it.status == enroll.ItemResolved {
			if it.newlyRefunded {
				if err := db.setItem(ctx, tx, it, it.status, false, nil, now); err != nil {
					return false, err
				}
				changed = true
			}
			continue
		}
		want := enroll.Desired(s, it.refunded, unenrollOnRefund)
		wantChanged := want != it.want
		status, restart, enqueue := it.status, false, false
		var courseID *string
		switch {
		case it.created && want == enroll.WantUnenrolled:
			status = enroll.ItemUnenrolled
		case it.created:
			enqueue = true
		case wantChanged && !it.status.Reached(want):
			status, restart, enqueue = enroll.ItemPending, true, true
		case !wantChanged && it.status == enroll.ItemFailed && redelivered != nil:
			sent, ok := redelivered[itemKey{it.sku, it.email}]
			if !ok {
				break
			}
			status, restart, enqueue = enroll.ItemPending, true, true
			courseID = &sent.CourseID
		}
		if enqueue {
			res.Enqueued = append(res.Enqueued, it.id)
			res.skus = append(res.skus, it.sku)
		}
		if wantChanged || status != it.status || restart || it.newlyRefunded {
			it.want = want
			if err := db.setItem(ctx, tx, it, status, restart, courseID, now); err != nil {
				return false, err
			}
		}
		changed = changed || it.created || enqueue || wantChanged || it.newlyRefunded
	}
	return changed, nil
}

// setItem writes an item's refund, desired state and status; restart
// gives it a fresh attempt budget; courseID, when not nil, replaces its
// course ("" to look it up by SKU again).
func (db *DB) setItem(ctx context.Context, tx *sql.Tx, it lifecycleItem, status enroll.ItemStatus, restart bool, courseID *string, now time.Time) error {
	setCourse, course := courseID != nil, ""
	if setCourse {
		course = *courseID
	}
	_, err := tx.ExecContext(ctx, `UPDATE items SET refunded = $1, want = $2, status = $3,
		tries = CASE WHEN $4 THEN 0 ELSE tries END,
		course_id = CASE WHEN $5 THEN CAST($6 AS TEXT) ELSE course_id END, updated_at = $7 WHERE id = $8`,
		it.refunded, it.want, status, restart, setCourse, course, now, it.id)
	if err != nil {
		return fmt.Errorf("update item %d: %w", it.id, err)
	}
	return nil
}
