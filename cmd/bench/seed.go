package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// seedChunk is how many orders one seeding transaction stores.
const seedChunk = 5000

// seedBodySize is the body size recorded for a seeded delivery, whose body
// is not stored: about that of a Shopify order with two line items.
const seedBodySize = 3200

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

// seedChunkOf stores the orders numbered from to to-1 as history.
func seedChunkOf(ctx context.Context, db *store.DB, from, to int) error {
	now := time.Now().UTC()
	history := make([]store.Accepted, 0, to-from)
	for id := from; id < to; id++ {
		o := enroll.Order{Platform: enroll.Shopify, Source: "bench.myshopify.com", ID: int64(id),
			Email: fmt.Sprintf("buyer%d@example.com", id), Paid: true}
		for line, course := range []string{firstCourse, secondCourse} {
			o.Items = append(o.Items, enroll.Item{LineItemID: int64(line + 1), SKU: course,
				Email: fmt.Sprintf("learner%d-%d@example.com", id, line)})
		}
		history = append(history, store.Accepted{Order: o, Delivery: store.Delivery{ReceivedAt: now,
			Platform: enroll.Shopify, Source: o.Source, Path: "/webhooks/shopify/order/create", SourceIP: "127.0.0.1",
			DeclaredSize: seedBodySize, Status: 200}})
	}
	return db.SaveHistory(ctx, history)
}
