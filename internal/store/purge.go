package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Retention: the raw bodies, parsed orders and headers of deliveries that
// are not needed any more are dropped; the orders, items, statuses and
// attempts stay.

// PurgeResult tells what a purge dropped, or would drop.
type PurgeResult struct {
	// Deliveries lost their body, parsed order and headers.
	Deliveries int64 `json:"deliveries"`
	// Bytes are those of the bodies, parsed orders and headers dropped.
	Bytes int64 `json:"bytes"`
	// Keys are the delivery keys deleted.
	Keys int64 `json:"delivery_keys"`
	// ReconcileRuns are the records of reconciliations deleted, Outages
	// those of webhook outages over.
	ReconcileRuns int64 `json:"reconcile_runs"`
	Outages       int64 `json:"webhook_outages"`
}

// The records of reconciliations started before the cut, but each shop's
// latest; and of webhook outages over before it.
const (
	oldRuns = `FROM reconcile_runs WHERE started_at < $1 AND EXISTS (SELECT 1 FROM reconcile_runs n
		WHERE n.platform = reconcile_runs.platform AND n.source = reconcile_runs.source AND n.started_at > reconcile_runs.started_at)`
	oldOutages = `FROM webhook_outages WHERE up_at IS NOT NULL AND up_at < $1`
)

// purgeChunk is how many deliveries one transaction of a purge clears, so
// that a first purge of a large database does not hold up webhooks.
const purgeChunk = 500

// Purge drops the bodies, parsed orders and headers of the deliveries
// received before olderThan that are rejected, or that carried a finished
// order: one with items, all done (enroll.ItemStatus.Done), or with none
// and not awaiting payment. It deletes the delivery keys received before
// olderThan too: they only guard against redeliveries, which stop after
// hours; and the records of reconciliations started before olderThan but
// each shop's latest, and of webhook outages over before it. Orders,
// items, statuses and attempts stay. A dry run changes
// nothing and tells what a purge would drop.
func (db *DB) Purge(ctx context.Context, olderThan time.Time, dryRun bool) (PurgeResult, error) {
	var res PurgeResult
	cut := olderThan.UTC()
	p := params{args: []any{cut}}
	cond := purgeCondition(&p)
	sizes := `coalesce(octet_length(body), 0) + coalesce(octet_length(parsed), 0) + octet_length(headers)`
	if dryRun {
		err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
			if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(`+sizes+`), 0) FROM deliveries d WHERE `+cond,
				p.args...).Scan(&res.Deliveries, &res.Bytes); err != nil {
				return fmt.Errorf("count deliveries to purge: %w", err)
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM delivery_keys WHERE received_at < $1`, cut).Scan(&res.Keys); err != nil {
				return fmt.Errorf("count delivery keys to purge: %w", err)
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) `+oldRuns, cut).Scan(&res.ReconcileRuns); err != nil {
				return fmt.Errorf("count reconciliations to purge: %w", err)
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) `+oldOutages, cut).Scan(&res.Outages); err != nil {
				return fmt.Errorf("count webhook outages to purge: %w", err)
			}
			return nil
		})
		return res, err
	}
	var after int64
	p.args = append(p.args, int64(0))
	page := `SELECT d.id, ` + sizes + ` FROM deliveries d WHERE ` + cond + ` AND d.id > $` + fmt.Sprint(len(p.args)) +
		` ORDER BY d.id LIMIT ` + fmt.Sprint(purgeChunk)
	for {
		p.args[len(p.args)-1] = after
		type row struct{ id, bytes int64 }
		var rows []row
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			rows, err = queryRows(ctx, tx, func(r *row) []any { return []any{&r.id, &r.bytes} }, page, p.args...)
			if err != nil || len(rows) == 0 {
				return err
			}
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r.id
			}
			var q params
			_, err = tx.ExecContext(ctx, `UPDATE deliveries SET body = NULL, parsed = NULL, headers = '{}'
				WHERE id IN (`+q.list(ids)+`)`, q.args...)
			return err
		})
		if err != nil {
			return res, fmt.Errorf("purge deliveries: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			res.Deliveries++
			res.Bytes += r.bytes
		}
		after = rows[len(rows)-1].id
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if res.Keys, err = execCount(ctx, tx, `DELETE FROM delivery_keys WHERE received_at < $1`, cut); err != nil {
			return fmt.Errorf("delivery keys: %w", err)
		}
		if res.ReconcileRuns, err = execCount(ctx, tx, `DELETE `+oldRuns, cut); err != nil {
			return fmt.Errorf("reconciliations: %w", err)
		}
		if res.Outages, err = execCount(ctx, tx, `DELETE `+oldOutages, cut); err != nil {
			return fmt.Errorf("webhook outages: %w", err)
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("purge: %w", err)
	}
	return res, nil
}

// purgeCondition is the condition on deliveries d that Purge clears, with
// the cut as $1 of p.
func purgeCondition(p *params) string {
	var notDone []enroll.ItemStatus
	for _, s := range enroll.ItemStatuses() {
		if !s.Done() {
			notDone = append(notDone, s)
		}
	}
	return `d.received_at < $1 AND (d.body IS NOT NULL OR d.parsed IS NOT NULL OR d.headers <> '{}')
		AND (d.status <> 200 OR (d.order_id IS NOT NULL
			AND NOT EXISTS (SELECT 1 FROM items i WHERE i.order_id = d.order_id AND i.status IN (` + p.statuses(notDone) + `))
			AND EXISTS (SELECT 1 FROM orders o WHERE o.id = d.order_id AND o.status <> ` + p.add(enroll.OrderAwaitingPayment) + `)))`
}
