package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Work is what an enrollment job needs to know about its item.
type Work struct {
	ItemID   int64
	OrderID  int64
	Platform enroll.Platform
	Source   string
	// ExternalID is the shop's order id.
	ExternalID int64
	SKU        string
	Email      string
	CourseID   string
	Status     enroll.ItemStatus
	Attempts   int
	// Tries counts the attempts of the item's current chance.
	Tries int
}

// WorkFor loads an item for its enrollment job.
func (db *DB) WorkFor(ctx context.Context, itemID int64) (Work, error) {
	ws, err := db.WorkForItems(ctx, []int64{itemID})
	if err != nil {
		return Work{}, err
	}
	if len(ws) == 0 {
		return Work{}, fmt.Errorf("item %d: %w", itemID, enroll.ErrNotFound)
	}
	return ws[0], nil
}

// WorkForItems loads the items of an enrollment job, in id order; ids that
// do not exist are left out.
func (db *DB) WorkForItems(ctx context.Context, itemIDs []int64) ([]Work, error) {
	if len(itemIDs) == 0 {
		return nil, nil
	}
	args := make([]any, len(itemIDs))
	marks := make([]string, len(itemIDs))
	for i, id := range itemIDs {
		args[i], marks[i] = id, fmt.Sprintf("$%d", i+1)
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT i.id, i.order_id, o.platform, o.source, o.external_id,
		i.sku, i.email, i.course_id, i.status, i.attempts, i.tries
		FROM items i JOIN orders o ON o.id = i.order_id WHERE i.id IN (`+strings.Join(marks, ", ")+`) ORDER BY i.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("load items %v: %w", itemIDs, err)
	}
	defer rows.Close()
	var ws []Work
	for rows.Next() {
		var w Work
		if err := rows.Scan(&w.ItemID, &w.OrderID, &w.Platform, &w.Source, &w.ExternalID,
			&w.SKU, &w.Email, &w.CourseID, &w.Status, &w.Attempts, &w.Tries); err != nil {
			return nil, fmt.Errorf("load items %v: %w", itemIDs, err)
		}
		ws = append(ws, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load items %v: %w", itemIDs, err)
	}
	return ws, nil
}

// Attempt is the outcome of one try at enrolling an item.
type Attempt struct {
	ItemID int64
	// Outcome names what happened, e.g. "enrolled", "retry", "throttled", "failed".
	Outcome    string
	HTTPStatus int
	Detail     string
	// Status is the item's status after this attempt.
	Status enroll.ItemStatus
	// CourseID is recorded on the item when not empty.
	CourseID string
	// Counted is false for attempts that do not use up the retry budget,
	// such as a throttled call.
	Counted bool
}

// RecordAttempt stores an attempt, moves its item to the attempt's status
// and updates the order's status, in one transaction.
func (db *DB) RecordAttempt(ctx context.Context, a Attempt) error {
	return db.RecordAttempts(ctx, []Attempt{a})
}

// RecordAttempts stores the attempts of one enrollment call (or job) and
// their items' and orders' new statuses, in one transaction.
func (db *DB) RecordAttempts(ctx context.Context, as []Attempt) error {
	now := db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		orders := map[int64]bool{}
		for _, a := range as {
			orderID, err := recordAttempt(ctx, tx, a, now)
			if err != nil {
				return err
			}
			orders[orderID] = true
		}
		// In id order, so that two processes never wait on each other's order locks.
		for _, id := range slices.Sorted(maps.Keys(orders)) {
			if err := db.updateOrderStatus(ctx, tx, id, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func recordAttempt(ctx context.Context, tx *sql.Tx, a Attempt, now time.Time) (orderID int64, err error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO attempts (item_id, at, outcome, http_status, detail)
		VALUES ($1, $2, $3, $4, $5)`, a.ItemID, now, a.Outcome, a.HTTPStatus, a.Detail); err != nil {
		return 0, fmt.Errorf("insert attempt of item %d: %w", a.ItemID, err)
	}
	counted := 0
	if a.Counted {
		counted = 1
	}
	lastError := a.Detail
	if a.Status == enroll.ItemEnrolled || a.Status == enroll.ItemAllowed {
		lastError = ""
	}
	err = tx.QueryRowContext(ctx, `UPDATE items SET status = $1, attempts = attempts + $2, tries = tries + $2, last_error = $3,
		course_id = CASE WHEN CAST($4 AS TEXT) = '' THEN course_id ELSE CAST($4 AS TEXT) END, updated_at = $5
		WHERE id = $6 RETURNING order_id`,
		a.Status, counted, lastError, a.CourseID, now, a.ItemID).Scan(&orderID)
	if err != nil {
		return 0, fmt.Errorf("update item %d: %w", a.ItemID, err)
	}
	return orderID, nil
}

// updateOrderStatus derives the order's status from its items'.
func (db *DB) updateOrderStatus(ctx context.Context, tx *sql.Tx, orderID int64, now time.Time) error {
	if err := db.lockOrder(ctx, tx, orderID); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT status FROM items WHERE order_id = $1`, orderID)
	if err != nil {
		return fmt.Errorf("read items of order %d: %w", orderID, err)
	}
	var statuses []enroll.ItemStatus
	for rows.Next() {
		var s enroll.ItemStatus
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("read items of order %d: %w", orderID, err)
		}
		statuses = append(statuses, s)
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("read items of order %d: %w", orderID, err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read items of order %d: %w", orderID, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3`,
		enroll.StatusOf(statuses), now, orderID)
	if err != nil {
		return fmt.Errorf("update order %d: %w", orderID, err)
	}
	return nil
}
