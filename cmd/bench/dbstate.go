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
	st := dbState{items: map[string]int{}}
	db, err := store.Open(ctx, databaseURL, store.Options{MaxConns: 1})
	if err != nil {
		return st, fmt.Errorf("read the service's database: %w", err)
	}
	defer db.Close()
	t, err := db.Tally(ctx)
	if err != nil {
		return st, fmt.Errorf("read the service's database: %w", err)
	}
	for status, n := range t.Items {
		st.items[string(status)] = n
	}
	st.jobs, st.attempts, st.throttled = t.Jobs, t.Attempts, t.Throttled
	return st, nil
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
	db, err := store.Open(ctx, databaseURL, store.Options{MaxConns: 1})
	if err != nil {
		return headroom{}, fmt.Errorf("read the service's database: %w", err)
	}
	defer db.Close()
	h, err := db.Headroom(ctx)
	if err != nil {
		return headroom{}, fmt.Errorf("read the service's database: %w", err)
	}
	return headroom{maxTries: h.MaxTries, maxSnoozes: h.MaxSnoozes}, nil
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
