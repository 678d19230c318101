package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
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
	// Want is the item's desired state, read when the job runs: a job
	// drives the LMS towards it, whatever an earlier job worked towards.
	Want enroll.Want
	// Mode is the enrollment mode bought; empty for the course default.
	Mode     string
	Status   enroll.ItemStatus
	Attempts int
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
	var p params
	ws, err := queryRows(ctx, db.sql, func(w *Work) []any {
		return []any{&w.ItemID, &w.OrderID, &w.Platform, &w.Source, &w.ExternalID,
			&w.SKU, &w.Email, &w.CourseID, &w.Want, &w.Mode, &w.Status, &w.Attempts, &w.Tries}
	}, `SELECT i.id, i.order_id, o.platform, o.source, o.external_id,
		i.sku, i.email, i.course_id, i.want, i.mode, i.status, i.attempts, i.tries
		FROM items i JOIN orders o ON o.id = i.order_id WHERE i.id IN (`+p.list(itemIDs)+`) ORDER BY i.id`, p.args...)
	if err != nil {
		return nil, fmt.Errorf("load items %v: %w", itemIDs, err)
	}
	return ws, nil
}

// Attempt is the outcome of one try at enrolling an item.
type Attempt struct {
	ItemID int64
	// Outcome names what happened.
	Outcome    enroll.Outcome
	HTTPStatus int
	Detail     string
	// Status is the item's status after this attempt.
	Status enroll.ItemStatus
	// CourseID is recorded on the item when not empty.
	CourseID string
	// Counted is false for attempts that do not use up the retry budget,
	// such as a throttled call.
	Counted bool
	// Want is the desired state the attempt worked towards (the item's
	// when its job read it). Should the item's desired state have changed
	// since, the attempt is recorded but its Status does not stand: the
	// item is pending again, with a fresh budget, for a job to work
	// towards the new one. Empty for a record that does not depend on it.
	Want enroll.Want
}

// RecordAttempt stores an attempt, moves its item to the attempt's status
// and updates the order's status, in one transaction.
func (db *DB) RecordAttempt(ctx context.Context, a Attempt) error {
	return db.RecordAttempts(ctx, []Attempt{a})
}

// RecordAttempts stores the attempts of one enrollment call (or job) and
// their items' and orders' new statuses, in one transaction, with prepared
// statements on SQLite (from its second call on). Call it while holding no
// transaction.
func (db *DB) RecordAttempts(ctx context.Context, as []Attempt) error {
	return db.RecordAttemptsThen(ctx, as, nil)
}

// RecordAttemptsThen records attempts as RecordAttempts does, and runs then
// (when not nil) in the same transaction after them, which it sees: the
// queue finishes there the jobs that the attempts left nothing to do.
func (db *DB) RecordAttemptsThen(ctx context.Context, as []Attempt, then func(tx *sql.Tx) error) error {
	now := db.now()
	// Items, then orders, in id order: every process locks rows in the same
	// order, so concurrent jobs cannot deadlock.
	as = slices.SortedFunc(slices.Values(as), func(a, b Attempt) int { return cmp.Compare(a.ItemID, b.ItemID) })
	return db.inTx(ctx, func(tx *sql.Tx) error {
		orders := map[int64]bool{}
		for _, a := range as {
			orderID, err := db.recordAttempt(ctx, tx, a, now)
			if err != nil {
				return err
			}
			orders[orderID] = true
		}
		for _, id := range slices.Sorted(maps.Keys(orders)) {
			if err := db.updateOrderStatus(ctx, tx, id, now); err != nil {
				return err
			}
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
}

func (db *DB) recordAttempt(ctx context.Context, tx *sql.Tx, a Attempt, now time.Time) (orderID int64, err error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO attempts (item_id, at, outcome, http_status, detail)
		VALUES ($1, $2, $3, $4, $5)`, a.ItemID, now, a.Outcome, a.HTTPStatus, a.Detail); err != nil {
		return 0, fmt.Errorf("insert attempt of item %d: %w", a.ItemID, err)
	}
	counted := 0
	if a.Counted {
		counted = 1
	}
	lastError := a.Detail
	if a.Status.Reached(enroll.WantEnrolled) || a.Status.Reached(enroll.WantUnenrolled) {
		lastError = ""
	}
	// An attempt made for a desired state the item no longer has leaves it
	// pending with a fresh budget: its result is history, not the item's state.
	err = tx.QueryRowContext(ctx, `UPDATE items SET
		status = CASE WHEN CAST($7 AS TEXT) IN ('', want) THEN CAST($1 AS TEXT) ELSE CAST($8 AS TEXT) END,
		attempts = attempts + $2,
		tries = CASE WHEN CAST($7 AS TEXT) IN ('', want) THEN tries + $2 ELSE 0 END,
		last_error = $3, claim_expires = 0,
		course_id = CASE WHEN CAST($4 AS TEXT) = '' THEN course_id ELSE CAST($4 AS TEXT) END, updated_at = $5
		WHERE id = $6 RETURNING order_id`,
		a.Status, counted, lastError, a.CourseID, now, a.ItemID, a.Want, enroll.ItemPending).Scan(&orderID)
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
	statuses, err := scanRows(rows, func(s *enroll.ItemStatus) []any { return []any{s} })
	if err != nil {
		return fmt.Errorf("read items of order %d: %w", orderID, err)
	}
	// Once a job has begun an order, it is not NEW again (an attempt put off
	// by a 429 leaves its items pending).
	_, err = tx.ExecContext(ctx, `UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3 AND NOT (status = $4 AND $1 = $5)`,
		enroll.StatusOf(statuses), now, orderID, enroll.OrderProcessing, enroll.OrderNew)
	if err != nil {
		return fmt.Errorf("update order %d: %w", orderID, err)
	}
	return nil
}

// Claim marks the items that no other job holds as being enrolled until
// now+d, and returns their ids. Items already done are not claimed.
func (db *DB) Claim(ctx context.Context, itemIDs []int64, d time.Duration) ([]int64, error) {
	if len(itemIDs) == 0 {
		return nil, nil
	}
	now := db.now()
	p := params{args: []any{now.Add(d).UnixMilli(), now.UnixMilli(), enroll.ItemPending, enroll.ItemRetrying}}
	ids := p.list(itemIDs)
	return db.claim(ctx, `UPDATE items SET claim_expires = $1 WHERE id IN (
		SELECT id FROM items WHERE claim_expires < $2 AND status IN ($3, $4) AND id IN (`+ids+`)
		ORDER BY id`+db.skipLocked()+`)
		AND claim_expires < $2 AND status IN ($3, $4) RETURNING id`, p.args...)
}

// skipLocked makes a claim pass over rows another transaction is changing
// (PostgreSQL): claims never wait for a lock, so jobs claiming, recording
// and giving back items on several replicas cannot deadlock. A row passed
// over is another job's for now. SQLite has one writer and needs none.
func (db *DB) skipLocked() string {
	if db.dialect == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// ClaimPending claims up to limit items of a SKU that no job holds, so
// that one call can enroll them with a job's own: pending items, and
// retrying items that retryDue says are due again, oldest first. An item
// with k counted tries is due when its last attempt was at or before
// retryDue[k-1] (the last element for more tries); nil takes pending items
// only. Items sold in a mode are left to their own jobs: they go one
// learner per call.
func (db *DB) ClaimPending(ctx context.Context, sku string, limit int, d time.Duration, retryDue []time.Time) ([]int64, error) {
	now := db.now()
	p := params{args: []any{now.Add(d).UnixMilli(), sku, enroll.ItemPending, now.UnixMilli(), limit}}
	retrying := p.add(enroll.ItemRetrying)
	due := "FALSE" // pending items only
	if len(retryDue) > 0 {
		due = dueCondition(&p, retryDue)
	}
	// Each status is picked on its own, in id order, so that each pick
	// walks the (sku, status) index and stops at limit; the oldest of both
	// make the claim. The rows are picked once, in CTEs: PostgreSQL may run
	// a subquery in IN again for each row it updates, and with SKIP LOCKED
	// each run passes over the rows the last one locked, claiming far more
	// than limit. The outer conditions repeat the inner ones: on PostgreSQL
	// a row another job changed meanwhile is checked again against them.
	return db.claim(ctx, `WITH due AS (
		SELECT id FROM items WHERE sku = $2 AND status = `+retrying+` AND claim_expires < $4 AND mode = '' AND (`+due+`)
		ORDER BY id LIMIT $5`+db.skipLocked()+`),
	pending AS (
		SELECT id FROM items WHERE sku = $2 AND status = $3 AND claim_expires < $4 AND mode = '' ORDER BY id LIMIT $5`+db.skipLocked()+`),
	picked AS (SELECT id FROM due UNION ALL SELECT id FROM pending ORDER BY id LIMIT $5)
		UPDATE items SET claim_expires = $1 WHERE id IN (SELECT id FROM picked)
		AND status IN ($3, `+retrying+`) AND claim_expires < $4 RETURNING id`, p.args...)
}

// dueCondition is the SQL condition on an item's tries and last attempt
// (updated_at) that retryDue describes.
func dueCondition(p *params, retryDue []time.Time) string {
	conds := make([]string, len(retryDue))
	for i, at := range retryDue {
		tries := "tries = " + strconv.Itoa(i+1)
		switch {
		case len(retryDue) == 1:
			tries = "TRUE"
		case i == 0:
			tries = "tries <= 1"
		case i == len(retryDue)-1:
			tries = "tries >= " + strconv.Itoa(i+1)
		}
		// In UTC, as updated_at is written: SQLite compares the text.
		conds[i] = "(" + tries + " AND updated_at <= " + p.add(at.UTC()) + ")"
	}
	return strings.Join(conds, " OR ")
}

// Release gives up claims without recording an attempt, in one statement:
// a job that filled its call with other jobs' items gives them all back.
func (db *DB) Release(ctx context.Context, itemIDs []int64) error {
	return db.release(ctx, itemIDs, false)
}

// ReleaseSent gives up the claims of items a call sent without an answer
// to record, and notes the call as their last attempt (updated_at): a
// retrying item is due for another job's call (ClaimPending) once its
// backoff has passed since then, not at every call that follows.
func (db *DB) ReleaseSent(ctx context.Context, itemIDs []int64) error {
	return db.release(ctx, itemIDs, true)
}

func (db *DB) release(ctx context.Context, itemIDs []int64, sent bool) error {
	if len(itemIDs) == 0 {
		return nil
	}
	var p params
	set, what := "claim_expires = 0", "items"
	if sent {
		set, what = set+", updated_at = "+p.add(db.now()), "items sent"
	}
	ids := p.list(slices.Sorted(slices.Values(itemIDs)))
	if _, err := db.sql.ExecContext(ctx, `UPDATE items SET `+set+` WHERE id IN (`+ids+`)`, p.args...); err != nil {
		return fmt.Errorf("release %d %s: %w", len(itemIDs), what, err)
	}
	return nil
}

// claim runs a claiming query and marks the NEW orders of the items it
// returns PROCESSING, in one transaction.
func (db *DB) claim(ctx context.Context, query string, args ...any) ([]int64, error) {
	var ids []int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if ids, err = scanIDs(tx.QueryContext(ctx, query, args...)); err != nil {
			return fmt.Errorf("claim items: %w", err)
		}
		return db.startOrders(ctx, tx, ids)
	})
	return ids, err
}

// startOrders marks the NEW orders of items PROCESSING. On PostgreSQL an
// order another transaction holds is passed over, as claims pass over
// items, so that claims never wait for a lock: it is PROCESSING once its
// first attempt is recorded.
func (db *DB) startOrders(ctx context.Context, tx *sql.Tx, itemIDs []int64) error {
	if len(itemIDs) == 0 {
		return nil
	}
	p := params{args: []any{enroll.OrderProcessing, db.now(), enroll.OrderNew}}
	ids := p.list(itemIDs)
	_, err := tx.ExecContext(ctx, `UPDATE orders SET status = $1, updated_at = $2 WHERE id IN (
		SELECT id FROM orders WHERE status = $3 AND id IN (SELECT order_id FROM items WHERE id IN (`+ids+`))
		ORDER BY id`+db.skipLocked()+`) AND status = $3`, p.args...)
	if err != nil {
		return fmt.Errorf("mark orders processing: %w", err)
	}
	return nil
}
