package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Operator actions: what they change, and their record. Which items an
// action may change is decided by internal/ops and internal/enroll; the
// store carries it out.

// ActionRecord is one operator action. Zero ids are stored as NULL.
type ActionRecord struct {
	ID                          int64
	At                          time.Time
	Actor, Action               string
	OrderID, ItemID, DeliveryID int64
	Note                        string
}

// Actions operators take.
const (
	ActionRetry   = "retry"
	ActionResolve = "resolve"
	ActionReplay  = "replay"
)

// actionColumns are the columns ActionRecord.fields scans.
const actionColumns = `id, at, actor, action, order_id, item_id, delivery_id, note`

func (a *ActionRecord) fields() []any {
	return []any{&a.ID, &a.At, &a.Actor, &a.Action, nullID{&a.OrderID}, nullID{&a.ItemID}, nullID{&a.DeliveryID}, &a.Note}
}

// RetryItems gives items in a retryable status (enroll.RetryableStatuses)
// a new chance now: pending, with a fresh attempt budget (items that were
// done also look their course up again), enqueued in the same transaction,
// one action recorded per item. Items in other states are skipped. A
// retrying item a job is enrolling right now keeps that job's claim, so
// that it cannot be enrolled twice at once: the new job waits for it.
func (db *DB) RetryItems(ctx context.Context, ids []int64, actor, note string, enqueue EnqueueFunc) (retried []int64, err error) {
	now := db.now()
	// Items, then orders, in id order, like RecordAttempts.
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	// $1 is the item, set for each one in turn.
	p := params{args: []any{int64(0), enroll.ItemPending, now.UnixMilli(), now}}
	retryable := enroll.RetryableStatuses()
	done := slices.DeleteFunc(slices.Clone(retryable), func(s enroll.ItemStatus) bool { return !s.Done() })
	query := `UPDATE items SET status = $2, tries = 0,
		course_id = CASE WHEN status IN (` + p.statuses(done) + `) THEN '' ELSE course_id END,
		claim_expires = CASE WHEN claim_expires >= $3 THEN claim_expires ELSE 0 END, updated_at = $4
		WHERE id = $1 AND status IN (` + p.statuses(retryable) + `) RETURNING order_id, sku`
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		retried = nil
		var skus []string
		orders := map[int64][]int64{}
		for _, id := range ids {
			var orderID int64
			var sku string
			p.args[0] = id
			err := tx.QueryRowContext(ctx, query, p.args...).Scan(&orderID, &sku)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				continue // pending, done, or no such item
			case err != nil:
				return fmt.Errorf("retry item %d: %w", id, err)
			}
			retried = append(retried, id)
			skus = append(skus, sku)
			orders[orderID] = append(orders[orderID], id)
		}
		if len(retried) == 0 {
			return nil
		}
		if err := enqueue(ctx, tx, groupBySKU(retried, skus)); err != nil {
			return fmt.Errorf("enqueue %d retried items: %w", len(retried), err)
		}
		for _, orderID := range slices.Sorted(maps.Keys(orders)) {
			for _, id := range orders[orderID] {
				a := ActionRecord{At: now, Actor: actor, Action: ActionRetry, OrderID: orderID, ItemID: id, Note: note}
				if err := recordAction(ctx, tx, a); err != nil {
					return err
				}
			}
			if err := db.updateOrderStatus(ctx, tx, orderID, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return retried, nil
}

// FailedItemIDs returns the ids of failed items of the orders f selects,
// at most max of them, oldest first; f.Before and f.Limit are ignored. The
// item conditions (email, course) apply to the failed items themselves.
func (db *DB) FailedItemIDs(ctx context.Context, f OrderFilter, max int) ([]int64, error) {
	if max <= 0 {
		return nil, nil
	}
	query, args, err := failedItemsQuery(f, max)
	if err != nil {
		return nil, err
	}
	type failedItem struct {
		id       int64
		platform enroll.Platform
		source   string
	}
	found, err := queryRows(ctx, db.sql, func(x *failedItem) []any { return []any{&x.id, &x.platform, &x.source} }, query, args...)
	if err != nil {
		return nil, fmt.Errorf("find failed items: %w", err)
	}
	var ids []int64
	for _, x := range found {
		if f.ofShop(x.platform, x.source) {
			ids = append(ids, x.id)
		}
	}
	return ids, nil
}

// failedItemsQuery builds FailedItemIDs' query.
func failedItemsQuery(f OrderFilter, max int) (string, []any, error) {
	var p params
	conds, itemConds, err := f.conditions(&p, "i.")
	if err != nil {
		return "", nil, err
	}
	conds = append(append(conds, itemConds...), "i.status = "+p.add(enroll.ItemFailed))
	return `SELECT i.id, o.platform, o.source FROM items i JOIN orders o ON o.id = i.order_id` + where(conds) + ` ORDER BY i.id LIMIT ` + p.add(max), p.args, nil
}

// ResolveItem marks an item in a resolvable status
// (enroll.ResolvableStatuses) as resolved by an operator, with a note
// saying why; its last error is kept. Any other item is refused with
// enroll.ErrConflict, as is one a job is enrolling right now: its answer
// would overwrite the resolution.
func (db *DB) ResolveItem(ctx context.Context, id int64, actor, note string) error {
	if strings.TrimSpace(note) == "" {
		return fmt.Errorf("resolve item %d: a note saying why is required", id)
	}
	now := db.now()
	p := params{args: []any{enroll.ItemResolved, now, id, now.UnixMilli()}}
	query := `UPDATE items SET status = $1, updated_at = $2
		WHERE id = $3 AND claim_expires < $4 AND status IN (` + p.statuses(enroll.ResolvableStatuses()) + `) RETURNING order_id`
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var orderID int64
		err := tx.QueryRowContext(ctx, query, p.args...).Scan(&orderID)
		if errors.Is(err, sql.ErrNoRows) {
			var status enroll.ItemStatus
			err := tx.QueryRowContext(ctx, `SELECT status FROM items WHERE id = $1`, id).Scan(&status)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("item %d: %w", id, enroll.ErrNotFound)
			case err != nil:
				return fmt.Errorf("resolve item %d: %w", id, err)
			case !status.Resolvable():
				return fmt.Errorf("resolve item %d: it is %s already: %w", id, status, enroll.ErrConflict)
			}
			return fmt.Errorf("resolve item %d: a job is enrolling it right now, try again in a minute: %w", id, enroll.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("resolve item %d: %w", id, err)
		}
		a := ActionRecord{At: now, Actor: actor, Action: ActionResolve, OrderID: orderID, ItemID: id, Note: note}
		if err := recordAction(ctx, tx, a); err != nil {
			return err
		}
		return db.updateOrderStatus(ctx, tx, orderID, now)
	})
}

// RecordAction records an operator action; a zero At is now.
func (db *DB) RecordAction(ctx context.Context, a ActionRecord) error {
	if a.At.IsZero() {
		a.At = db.now()
	}
	return db.inTx(ctx, func(tx *sql.Tx) error { return recordAction(ctx, tx, a) })
}

func recordAction(ctx context.Context, tx *sql.Tx, a ActionRecord) error {
	null := func(id int64) any {
		if id == 0 {
			return nil
		}
		return id
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO actions (at, actor, action, order_id, item_id, delivery_id, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.At.UTC(), a.Actor, a.Action, null(a.OrderID), null(a.ItemID), null(a.DeliveryID), a.Note)
	if err != nil {
		return fmt.Errorf("record %s action: %w", a.Action, err)
	}
	return nil
}
