package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// The dashboard's numbers: what happened lately, and the work waiting.

// Stats counts what happened since a moment, for the dashboard.
type Stats struct {
	// Accepted deliveries created or changed orders; Duplicates were
	// accepted but changed nothing; Stale were accepted but older than the
	// snapshot of their order applied, and changed nothing; Rejected were
	// answered other than 200.
	Accepted, Duplicates, Stale, Rejected int64
	// RejectedBy counts rejections by reason.
	RejectedBy map[string]int64
	// Orders counts orders created.
	Orders int64
	// Items counts the items of the orders created, by current status.
	Items map[enroll.ItemStatus]int64
}

// statusCount is one row of a count(*) grouped by status.
type statusCount struct {
	status string
	n      int64
}

// deliveryCount is one row of a count(*) of deliveries grouped by answer.
type deliveryCount struct {
	status int
	reason string
	n      int64
}

// The dashboard's queries: counts since a moment ($1), and of the items
// waiting ($1, $2: pending and retrying).
const (
	// A row of folded requests counts as that many.
	statsDeliveriesQuery = `SELECT status, reason, sum(CASE WHEN folded > 0 THEN folded ELSE 1 END) FROM deliveries
		WHERE received_at >= $1 GROUP BY status, reason`
	statsOrdersQuery = `SELECT count(*) FROM orders WHERE created_at >= $1`
	statsItemsQuery  = `SELECT i.status, count(*) FROM orders o JOIN items i ON i.order_id = o.id
		WHERE o.created_at >= $1 GROUP BY i.status`
	backlogQuery       = `SELECT status, count(*) FROM items WHERE status IN ($1, $2) GROUP BY status`
	oldestWaitingQuery = `SELECT created_at FROM items WHERE status IN ($1, $2) ORDER BY created_at LIMIT 1`
	lastAttemptQuery   = `SELECT ` + attemptColumns + ` FROM attempts WHERE id = (SELECT max(id) FROM attempts)`
)

// Stats counts deliveries received, orders created and their items since
// the given moment. Items are counted through their orders (the items of
// orders created since), which the orders' creation time index finds.
func (db *DB) Stats(ctx context.Context, since time.Time) (Stats, error) {
	since = since.UTC()
	s := Stats{RejectedBy: map[string]int64{}, Items: map[enroll.ItemStatus]int64{}}
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		deliveries, err := queryRows(ctx, tx, func(c *deliveryCount) []any { return []any{&c.status, &c.reason, &c.n} },
			statsDeliveriesQuery, since)
		if err != nil {
			return fmt.Errorf("count deliveries: %w", err)
		}
		for _, c := range deliveries {
			switch {
			case c.status != 200:
				s.Rejected += c.n
				s.RejectedBy[c.reason] += c.n
			case c.reason == ReasonDuplicate:
				s.Duplicates += c.n
			case c.reason == ReasonStale:
				s.Stale += c.n
			default:
				s.Accepted += c.n
			}
		}
		if err := tx.QueryRowContext(ctx, statsOrdersQuery, since).Scan(&s.Orders); err != nil {
			return fmt.Errorf("count orders: %w", err)
		}
		items, err := queryRows(ctx, tx, (*statusCount).fields, statsItemsQuery, since)
		if err != nil {
			return fmt.Errorf("count items: %w", err)
		}
		for _, c := range items {
			s.Items[enroll.ItemStatus(c.status)] = c.n
		}
		return nil
	})
	return s, err
}

// fields scans a (status, count) row.
func (c *statusCount) fields() []any { return []any{&c.status, &c.n} }

// Backlog is the work waiting for the LMS.
type Backlog struct {
	Pending, Retrying int64
	// Oldest is the creation time of the oldest pending or retrying item;
	// zero when there is none.
	Oldest time.Time
}

// Backlog counts the items waiting for an attempt.
func (db *DB) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		counts, err := queryRows(ctx, tx, (*statusCount).fields, backlogQuery, enroll.ItemPending, enroll.ItemRetrying)
		if err != nil {
			return fmt.Errorf("count waiting items: %w", err)
		}
		for _, c := range counts {
			if enroll.ItemStatus(c.status) == enroll.ItemPending {
				b.Pending = c.n
			} else {
				b.Retrying = c.n
			}
		}
		if b.Pending+b.Retrying == 0 {
			return nil
		}
		err = tx.QueryRowContext(ctx, oldestWaitingQuery, enroll.ItemPending, enroll.ItemRetrying).Scan(&b.Oldest)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find the oldest waiting item: %w", err)
		}
		return nil
	})
	return b, err
}

// LastAttempt returns the most recent attempt of any item; false when
// there has been none.
func (db *DB) LastAttempt(ctx context.Context) (AttemptRecord, bool, error) {
	var a AttemptRecord
	err := db.sql.QueryRowContext(ctx, lastAttemptQuery).Scan(a.fields()...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a, false, nil
	case err != nil:
		return a, false, fmt.Errorf("load the last attempt: %w", err)
	}
	return a, true, nil
}
