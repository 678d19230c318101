package store

import (
	"context"
	"fmt"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Awaiting is an item of a course sold in a mode whose learner had no
// account when the LMS allowed the enrollment: it waits for them to
// register, since its last change.
type Awaiting struct {
	Work
	Since time.Time
}

// AwaitingRegistration loads up to limit items awaiting their learner's
// registration, with ids above after, in id order.
func (db *DB) AwaitingRegistration(ctx context.Context, after int64, limit int) ([]Awaiting, error) {
	as, err := queryRows(ctx, db.sql, func(a *Awaiting) []any {
		w := &a.Work
		return []any{&w.ItemID, &w.OrderID, &w.Platform, &w.Source, &w.ExternalID,
			&w.SKU, &w.Email, &w.CourseID, &w.Want, &w.Mode, &w.Status, &w.Attempts, &w.Tries, &a.Since}
	}, `SELECT i.id, i.order_id, o.platform, o.source, o.external_id,
		i.sku, i.email, i.course_id, i.want, i.mode, i.status, i.attempts, i.tries, i.updated_at
		FROM items i JOIN orders o ON o.id = i.order_id WHERE i.status = $1 AND i.id > $2 ORDER BY i.id LIMIT $3`,
		enroll.ItemAwaitingRegistration, after, limit)
	if err != nil {
		return nil, fmt.Errorf("load items awaiting registration: %w", err)
	}
	return as, nil
}

// ClaimAwaiting marks the items awaiting registration that no job holds as
// being checked until now+d, and returns their ids: an enrollment job
// does not take them meanwhile (a refund sets them pending, and its job
// waits for the claim).
func (db *DB) ClaimAwaiting(ctx context.Context, itemIDs []int64, d time.Duration) ([]int64, error) {
	if len(itemIDs) == 0 {
		return nil, nil
	}
	now := db.now()
	p := params{args: []any{now.Add(d).UnixMilli(), now.UnixMilli(), enroll.ItemAwaitingRegistration}}
	ids := p.list(itemIDs)
	return db.claim(ctx, `UPDATE items SET claim_expires = $1 WHERE id IN (
		SELECT id FROM items WHERE claim_expires < $2 AND status = $3 AND id IN (`+ids+`)
		ORDER BY id`+db.skipLocked()+`)
		AND claim_expires < $2 AND status = $3 RETURNING id`, p.args...)
}
