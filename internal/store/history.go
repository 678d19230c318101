package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// historyChunk is how many orders one statement of SaveHistory marks done.
const historyChunk = 500

// SaveHistory stores accepted deliveries whose orders were enrolled before,
// as a database that has served for a while holds them: each order
// PROCESSED, each item enrolled, in the course its SKU names, at its first
// attempt (the attempt itself is not stored). It writes them all in one
// transaction, with the writer's statements, and enqueues nothing: the
// benchmark command measures ingest on a database with history this way.
func (db *DB) SaveHistory(ctx context.Context, history []Accepted) error {
	batch := make([]*writeRequest, len(history))
	for i := range history {
		batch[i] = &writeRequest{ctx: ctx, accepted: &history[i]}
	}
	slices.SortStableFunc(batch, byOrder)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.saveBatch(ctx, tx, batch); err != nil {
			return fmt.Errorf("store %d orders: %w", len(batch), err)
		}
		var orders []int64
		for _, r := range batch {
			if r.res.NewOrder {
				orders = append(orders, r.res.OrderID)
			}
		}
		for chunk := range slices.Chunk(orders, historyChunk) {
			p := params{args: []any{enroll.ItemEnrolled}}
			ids := p.list(chunk)
			if _, err := tx.ExecContext(ctx, `UPDATE items SET status = $1, course_id = sku, attempts = 1, tries = 1
				WHERE order_id IN (`+ids+`)`, p.args...); err != nil {
				return fmt.Errorf("mark items enrolled: %w", err)
			}
			p = params{args: []any{enroll.OrderProcessed}}
			ids = p.list(chunk)
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = $1 WHERE id IN (`+ids+`)`, p.args...); err != nil {
				return fmt.Errorf("mark orders processed: %w", err)
			}
		}
		return nil
	})
}
