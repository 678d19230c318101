package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Orders carried over from the system the receiver replaces (the Django
// app), with what became of their items there. What status an imported
// item gets is decided by internal/ops; the store writes it.

// ActionImport records that an order was imported.
const ActionImport = "import"

// ImportedOrder is an order to import, as the other system had it.
type ImportedOrder struct {
	Platform   enroll.Platform
	Source     string
	ExternalID int64
	Email      string
	// Status is the order's status here.
	Status    enroll.OrderStatus
	CreatedAt time.Time
	Items     []ImportedItem
	// Note goes with the import action recorded on the order.
	Note string
}

// ImportedItem is an item of an imported order, in the status it gets
// here. Pending items are enqueued.
type ImportedItem struct {
	SKU, Email, CourseID string
	Status               enroll.ItemStatus
	// LastError says why a failed or resolved item is so.
	LastError string
}

// ImportResult tells what ImportOrders changed.
type ImportResult struct {
	// Orders counts the orders imported; Existing those that were here
	// already (by platform, source and shop order id) and were left alone.
	Orders, Existing int
	// Items counts the items imported, by status.
	Items map[enroll.ItemStatus]int
	// Enqueued lists the pending items imported, enqueued.
	Enqueued []int64
}

// ImportOrders stores the orders that are not here yet (by platform,
// source and shop order id, as webhooks are deduplicated) with their items,
// records an import action by actor on each, and enqueues their pending
// items, in one transaction. Orders that are here already are left
// alone, whatever their items: importing again changes nothing. An item
// repeated in an order (same SKU and learner) is stored once.
func (db *DB) ImportOrders(ctx context.Context, orders []ImportedOrder, actor string, enqueue EnqueueFunc) (ImportResult, error) {
	var res ImportResult
	now := db.now()
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res = ImportResult{Items: map[enroll.ItemStatus]int{}}
		var skus []string
		for _, o := range orders {
			var orderID int64
			err := tx.QueryRowContext(ctx, `INSERT INTO orders (platform, source, external_id, email, status, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (platform, source, external_id) DO NOTHING RETURNING id`,
				o.Platform, o.Source, o.ExternalID, o.Email, o.Status, o.CreatedAt.UTC(), now).Scan(&orderID)
			if errors.Is(err, sql.ErrNoRows) {
				res.Existing++
				continue
			}
			if err != nil {
				return fmt.Errorf("import order %d of %s: %w", o.ExternalID, o.Source, err)
			}
			res.Orders++
			for _, it := range o.Items {
				var id int64
				err := tx.QueryRowContext(ctx, `INSERT INTO items (order_id, line_item_id, sku, email, course_id, status, last_error, created_at, updated_at)
					VALUES ($1, 0, $2, $3, $4, $5, $6, $7, $8)
					ON CONFLICT (order_id, sku, email) DO NOTHING RETURNING id`,
					orderID, it.SKU, it.Email, it.CourseID, it.Status, it.LastError, o.CreatedAt.UTC(), now).Scan(&id)
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return fmt.Errorf("import an item of order %d of %s: %w", o.ExternalID, o.Source, err)
				}
				res.Items[it.Status]++
				if it.Status == enroll.ItemPending {
					res.Enqueued = append(res.Enqueued, id)
					skus = append(skus, it.SKU)
				}
			}
			a := ActionRecord{At: now, Actor: actor, Action: ActionImport, OrderID: orderID, Note: o.Note}
			if err := recordAction(ctx, tx, a); err != nil {
				return err
			}
		}
		if len(res.Enqueued) == 0 {
			return nil
		}
		if err := enqueue(ctx, tx, groupBySKU(res.Enqueued, skus)); err != nil {
			return fmt.Errorf("enqueue %d imported items: %w", len(res.Enqueued), err)
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

// ExistingOrders returns which of the shop order ids of platform p and
// source are here already.
func (db *DB) ExistingOrders(ctx context.Context, p enroll.Platform, source string, externalIDs []int64) (map[int64]bool, error) {
	found := map[int64]bool{}
	if len(externalIDs) == 0 {
		return found, nil
	}
	ps := params{args: []any{p, source}}
	ids, err := scanIDs(db.sql.QueryContext(ctx, `SELECT external_id FROM orders
		WHERE platform = $1 AND source = $2 AND external_id IN (`+ps.list(externalIDs)+`)`, ps.args...))
	if err != nil {
		return nil, fmt.Errorf("find orders of %s: %w", source, err)
	}
	for _, id := range ids {
		found[id] = true
	}
	return found, nil
}
