package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// seedChunk is how many orders one seeding transaction stores.
const seedChunk = 5000

// seed stores n finished orders, each with two enrolled items and its
// delivery (without a body), straight into the database rather than
// through HTTP, so that a run measures ingest on a database with history.
func seed(ctx context.Context, databaseURL string, n int, progress io.Writer) error {
	db, err := store.Open(ctx, databaseURL, store.Options{MaxConns: 2})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer db.Close()
	err = db.WithMigrationLock(ctx, func() error {
		if _, err := db.Migrate(ctx); err != nil {
			return err
		}
		return jobs.Migrate(ctx, db)
	})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	start := time.Now()
	for first := 1; first <= n; first += seedChunk {
		if err := seedChunkOf(ctx, db, first, min(first+seedChunk, n+1)); err != nil {
			return fmt.Errorf("seed orders from %d: %w", first, err)
		}
	}
	fmt.Fprintf(progress, "seeded %d orders in %v\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}

func seedChunkOf(ctx context.Context, db *store.DB, from, to int) error {
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	for id := from; id < to; id++ {
		var orderID int64
		err := tx.QueryRowContext(ctx, `INSERT INTO orders (platform, source, external_id, email, status, created_at, updated_at)
			VALUES ('shopify', 'bench.myshopify.com', $1, $2, 'PROCESSED', $3, $3) RETURNING id`,
			id, fmt.Sprintf("buyer%d@example.com", id), now).Scan(&orderID)
		if err != nil {
			return err
		}
		for line, course := range []string{firstCourse, secondCourse} {
			_, err := tx.ExecContext(ctx, `INSERT INTO items (order_id, line_item_id, sku, email, course_id, status,
				attempts, tries, created_at, updated_at) VALUES ($1, $2, $3, $4, $3, 'enrolled', 1, 1, $5, $5)`,
				orderID, line+1, course, fmt.Sprintf("learner%d-%d@example.com", id, line), now)
			if err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO deliveries (received_at, platform, source, path, source_ip, headers,
			body_size, body_sha256, status, reason, order_id) VALUES ($1, 'shopify', 'bench.myshopify.com',
			'/webhooks/shopify/order/create', '127.0.0.1', '{}', 3200, '', 200, '', $2)`, now, orderID)
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}
