package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Tally counts the enrollment work a database holds: its items, the
// queue's jobs, the attempts made. The benchmark command reads it beside a
// running service (SQLite in WAL mode lets a second process read while
// the service writes).
type Tally struct {
	Items map[enroll.ItemStatus]int // items by status
	// Jobs counts the queue's (River's) jobs by state: "available",
	// "running", "retryable", "completed", ...
	Jobs      map[string]int
	Attempts  int // rows of the attempts table: every try, throttled ones included
	Throttled int // of those, answered 429
}

// Tally counts items, jobs and attempts, from one snapshot.
func (db *DB) Tally(ctx context.Context) (Tally, error) {
	t := Tally{Items: map[enroll.ItemStatus]int{}, Jobs: map[string]int{}}
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		if err := countBy(ctx, tx, "SELECT status, count(*) FROM items GROUP BY status", t.Items); err != nil {
			return fmt.Errorf("count items by status: %w", err)
		}
		if err := countBy(ctx, tx, "SELECT state, count(*) FROM river_job GROUP BY state", t.Jobs); err != nil {
			return fmt.Errorf("count jobs by state: %w", err)
		}
		err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN http_status = 429 THEN 1 ELSE 0 END), 0)
			FROM attempts`).Scan(&t.Attempts, &t.Throttled)
		if err != nil {
			return fmt.Errorf("count attempts: %w", err)
		}
		return nil
	})
	return t, err
}

// countBy reads a query's (key, count) rows into counts.
func countBy[K ~string](ctx context.Context, tx *sql.Tx, query string, counts map[K]int) error {
	type count struct {
		key K
		n   int
	}
	cs, err := queryRows(ctx, tx, func(c *count) []any { return []any{&c.key, &c.n} }, query)
	for _, c := range cs {
		counts[c.key] = c.n
	}
	return err
}

// Headroom is how close the enrollment work came to the limits that turn
// waiting into failing: an item's counted tries (MAX_ATTEMPTS) and a job's
// snoozes on 429s (after which a 429 counts as a try).
type Headroom struct {
	MaxTries   int // most counted tries of one item in its current chance
	MaxSnoozes int // most snoozes of one job
}

// Headroom reads the most tries of an item and the most snoozes of a job.
// It reads every job: call it once, at the end of a run.
func (db *DB) Headroom(ctx context.Context) (Headroom, error) {
	var h Headroom
	if err := db.sql.QueryRowContext(ctx, "SELECT coalesce(max(tries), 0) FROM items").Scan(&h.MaxTries); err != nil {
		return h, fmt.Errorf("most tries of an item: %w", err)
	}
	// River keeps a job's snoozes in its JSON metadata (JSONB on SQLite).
	query := "SELECT coalesce(max(json_extract(metadata, '$.snoozes')), 0) FROM river_job"
	if db.dialect == Postgres {
		query = "SELECT coalesce(max((metadata->>'snoozes')::int), 0) FROM river_job"
	}
	if err := db.sql.QueryRowContext(ctx, query).Scan(&h.MaxSnoozes); err != nil {
		return h, fmt.Errorf("most snoozes of a job: %w", err)
	}
	return h, nil
}
