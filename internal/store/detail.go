package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// An order's detail: everything that happened to it.

// OrderDetail is an order with everything that happened to it.
type OrderDetail struct {
	OrderRecord
	// Attempts are by item id, oldest first.
	Attempts map[int64][]AttemptRecord
	// Deliveries are those that carried this order, oldest first, with their bodies.
	Deliveries []DeliveryRecord
	// Actions are what operators did to the order, oldest first.
	Actions []ActionRecord
	// Refunds are the lines of the shop's refunds of the order, oldest first.
	Refunds []RefundRecord
}

// RefundRecord is one refunded line of one of the shop's refunds.
type RefundRecord struct {
	// RefundID is the shop's refund id.
	RefundID   int64
	LineItemID int64
	Quantity   int
	At         time.Time
}

// StaleSnapshots counts the deliveries of the order that were older than
// the snapshot applied, and so changed nothing.
func (d OrderDetail) StaleSnapshots() int { return d.deliveriesWithReason(ReasonStale) }

// Duplicates counts the deliveries of the order that repeated one already
// accepted, and so changed nothing.
func (d OrderDetail) Duplicates() int { return d.deliveriesWithReason(ReasonDuplicate) }

func (d OrderDetail) deliveriesWithReason(reason string) int {
	n := 0
	for _, dl := range d.Deliveries {
		if dl.Status == http.StatusOK && dl.Reason == reason {
			n++
		}
	}
	return n
}

// AttemptRecord is one stored attempt at enrolling an item.
type AttemptRecord struct {
	ID, ItemID int64
	At         time.Time
	Outcome    enroll.Outcome
	HTTPStatus int
	Detail     string
}

// OrderDetail loads an order by its internal id with its items, attempts,
// deliveries and actions, as they were at one moment.
func (db *DB) OrderDetail(ctx context.Context, id int64) (OrderDetail, error) {
	var d OrderDetail
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		orders, err := queryOrders(ctx, tx, orderByIDQuery, id)
		if err != nil {
			return fmt.Errorf("load order %d: %w", id, err)
		}
		if len(orders) == 0 {
			return fmt.Errorf("order %d: %w", id, enroll.ErrNotFound)
		}
		if err := fillItems(ctx, tx, orders); err != nil {
			return err
		}
		d.OrderRecord = orders[0]
		if d.Attempts, err = orderAttempts(ctx, tx, id); err != nil {
			return err
		}
		if d.Deliveries, err = queryDeliveries(ctx, tx, true, orderDeliveries, id); err != nil {
			return fmt.Errorf("load deliveries of order %d: %w", id, err)
		}
		if d.Actions, err = orderActions(ctx, tx, id); err != nil {
			return err
		}
		if d.Refunds, err = queryRows(ctx, tx, (*RefundRecord).fields, orderRefundsQuery, id); err != nil {
			return fmt.Errorf("load refunds of order %d: %w", id, err)
		}
		return nil
	})
	return d, err
}

// attemptColumns are the columns AttemptRecord.fields scans.
const attemptColumns = `id, item_id, at, outcome, http_status, detail`

// The queries of an order's detail, by the order's internal id ($1).
const (
	orderByIDQuery = `SELECT ` + orderColumns + ` FROM orders o WHERE o.id = $1`
	// orderDeliveries follows FROM deliveries (see deliveriesQuery).
	orderDeliveries    = `WHERE order_id = $1 ORDER BY id`
	orderAttemptsQuery = `SELECT ` + attemptColumns + ` FROM attempts
		WHERE item_id IN (SELECT id FROM items WHERE order_id = $1) ORDER BY id`
	orderActionsQuery = `SELECT ` + actionColumns + ` FROM actions WHERE order_id = $1 ORDER BY id`
	orderRefundsQuery = `SELECT external_id, line_item_id, quantity, at FROM refunds WHERE order_id = $1 ORDER BY at, id`
)

func (r *RefundRecord) fields() []any { return []any{&r.RefundID, &r.LineItemID, &r.Quantity, &r.At} }

func (a *AttemptRecord) fields() []any {
	return []any{&a.ID, &a.ItemID, &a.At, &a.Outcome, &a.HTTPStatus, &a.Detail}
}

func orderAttempts(ctx context.Context, tx *sql.Tx, orderID int64) (map[int64][]AttemptRecord, error) {
	list, err := queryRows(ctx, tx, (*AttemptRecord).fields, orderAttemptsQuery, orderID)
	if err != nil {
		return nil, fmt.Errorf("load attempts of order %d: %w", orderID, err)
	}
	attempts := map[int64][]AttemptRecord{}
	for _, a := range list {
		attempts[a.ItemID] = append(attempts[a.ItemID], a)
	}
	return attempts, nil
}

func orderActions(ctx context.Context, tx *sql.Tx, orderID int64) ([]ActionRecord, error) {
	as, err := queryRows(ctx, tx, (*ActionRecord).fields, orderActionsQuery, orderID)
	if err != nil {
		return nil, fmt.Errorf("load actions of order %d: %w", orderID, err)
	}
	return as, nil
}

// Attempts returns an item's attempts, oldest first.
func (db *DB) Attempts(ctx context.Context, itemID int64) ([]Attempt, error) {
	as, err := queryRows(ctx, db.sql, func(a *Attempt) []any { return []any{&a.ItemID, &a.Outcome, &a.HTTPStatus, &a.Detail} },
		`SELECT item_id, outcome, http_status, detail FROM attempts WHERE item_id = $1 ORDER BY id`, itemID)
	if err != nil {
		return nil, fmt.Errorf("list attempts of item %d: %w", itemID, err)
	}
	return as, nil
}
