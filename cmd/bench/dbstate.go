package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// dbState is what the service's database says about its items and jobs,
// read by the benchmark beside the running service (SQLite in WAL mode
// lets a second process read while the service writes).
type dbState struct {
	items     map[string]int // items by status
	jobs      map[string]int // River jobs by state
	attempts  int            // rows of the attempts table: every try, throttled ones included
	throttled int            // of those, answered 429
}

// readState counts items, jobs and attempts in the database.
func readState(ctx context.Context, databaseURL string) (dbState, error) {
	st := dbState{items: map[string]int{}, jobs: map[string]int{}}
	db, err := store.Open(ctx, databaseURL, store.Options{MaxConns: 1})
	if err != nil {
		return st, fmt.Errorf("read the service's database: %w", err)
	}
	defer db.Close()
	for _, q := range []struct {
		query string
		into  map[string]int
	}{
		{"SELECT status, count(*) FROM items GROUP BY status", st.items},
		{"SELECT state, count(*) FROM river_job GROUP BY state", st.jobs},
	} {
		if err := countBy(ctx, db, q.query, q.into); err != nil {
			return st, err
		}
	}
	err = db.SQL().QueryRowContext(ctx, "SELECT count(*), coalesce(sum(CASE WHEN http_status = 429 THEN 1 ELSE 0 END), 0) FROM attempts").
		Scan(&st.attempts, &st.throttled)
	if err != nil {
		return st, fmt.Errorf("count attempts: %w", err)
	}
	return st, nil
}

func countBy(ctx context.Context, db *store.DB, query string, into map[string]int) error {
	rows, err := db.SQL().QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var n int
		if err := rows.Scan(&key, &n); err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		into[key] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	return nil
}

// headroom is how close the run came to the service's limits that turn
// waiting into failing: the counted tries of an item (WEBHOOK_RECEIVER_MAX_ATTEMPTS,
// 25 by default) and the snoozes of a job on 429s (100, after which a 429
// counts as a try).
type headroom struct {
	maxTries   int // most counted tries of one item
	maxSnoozes int // most snoozes of one job
}

// readHeadroom reads the most tries of an item and the most snoozes of a
// job. It looks at every job, so runs call it once, at the end.
func readHeadroom(ctx context.Context, databaseURL string) (headroom, error) {
	var h headroom
	db, err := store.Open(ctx, databaseURL, store.Options{MaxConns: 1})
	if err != nil {
		return h, fmt.Errorf("read the service's database: %w", err)
	}
	defer db.Close()
	if err := db.SQL().QueryRowContext(ctx, "SELECT coalesce(max(tries), 0) FROM items").Scan(&h.maxTries); err != nil {
		return h, fmt.Errorf("most tries of an item: %w", err)
	}
	// River keeps a job's snoozes in its JSON metadata (JSONB on SQLite).
	query := "SELECT coalesce(max(json_extract(metadata, '$.snoozes')), 0) FROM river_job"
	if db.Dialect() == store.Postgres {
		query = "SELECT coalesce(max((metadata->>'snoozes')::int), 0) FROM river_job"
	}
	if err := db.SQL().QueryRowContext(ctx, query).Scan(&h.maxSnoozes); err != nil {
		return h, fmt.Errorf("most snoozes of a job: %w", err)
	}
	return h, nil
}

// waiting counts the items that still wait for an enrollment.
func (st dbState) waiting() int {
	return st.items[string(enroll.ItemPending)] + st.items[string(enroll.ItemRetrying)]
}

// failed counts the items given up on.
func (st dbState) failed() int { return st.items[string(enroll.ItemFailed)] }

// openJobs counts the jobs that are not finished: those the queue will still run.
func (st dbState) openJobs() int {
	n := 0
	for state, c := range st.jobs {
		switch state {
		case "completed", "cancelled", "discarded":
		default:
			n += c
		}
	}
	return n
}

// describe lists counts as "pending 100000, retrying 5".
func describe(counts map[string]int) string {
	if len(counts) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}
