package store

import (
	"context"
	"database/sql"
)

// BatchRequest is one delivery of a batch written by Writer.WriteBatch:
// an accepted one when Accepted is set, else Delivery.
type BatchRequest struct {
	Accepted *Accepted
	Delivery Delivery
}

// WriteBatch writes requests as one group-commit batch, as the writer
// goroutine does, and returns each one's answer in their order: tests
// choose what a batch holds, which concurrent callers cannot.
func (w *Writer) WriteBatch(reqs []BatchRequest) ([]SaveResult, []error) {
	batch := make([]*writeRequest, len(reqs))
	for i, r := range reqs {
		batch[i] = &writeRequest{ctx: context.Background(), accepted: r.Accepted, delivery: r.Delivery, done: make(chan struct{})}
	}
	w.write(append([]*writeRequest(nil), batch...)) // write sorts its batch
	res, errs := make([]SaveResult, len(batch)), make([]error, len(batch))
	for i, r := range batch {
		res[i], errs[i] = r.res, r.err
	}
	return res, errs
}

// The queries the console and the ops commands run, as the code builds
// them, for the query plan test.
var (
	ListOrdersQuery     = listOrdersQuery
	FailedItemsQuery    = failedItemsQuery
	ListDeliveriesQuery = func(f DeliveryFilter, limit int) (string, []any) {
		rest, args := listDeliveriesQuery(f, limit)
		return deliveriesQuery(false, rest), args
	}
	ItemsOfOrdersQuery = itemsOfOrdersQuery
)

const (
	OrdersByExternalIDQuery = ordersByExternalIDQuery
	OrderByIDQuery          = orderByIDQuery
	OrderAttemptsQuery      = orderAttemptsQuery
	OrderActionsQuery       = orderActionsQuery
	OrderRefundsQuery       = orderRefundsQuery
	StatsDeliveriesQuery    = statsDeliveriesQuery
	StatsOrdersQuery        = statsOrdersQuery
	StatsItemsQuery         = statsItemsQuery
	BacklogQuery            = backlogQuery
	OldestWaitingQuery      = oldestWaitingQuery
	LastAttemptQuery        = lastAttemptQuery
)

// OrderDeliveriesQuery is the query of an order's deliveries, with bodies.
var OrderDeliveriesQuery = deliveriesQuery(true, orderDeliveries)

// Explain returns the lines of the plan the database makes for a query.
// On PostgreSQL, whose planner prefers reading a tiny test table whole,
// sequential scans are discouraged, so that a plan shows an index if one
// can be used at all.
func (db *DB) Explain(ctx context.Context, query string, args ...any) ([]string, error) {
	var lines []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		prefix := "EXPLAIN QUERY PLAN "
		if db.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
			prefix = "EXPLAIN "
		}
		rows, err := tx.QueryContext(ctx, prefix+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			return err
		}
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			switch v := vals[len(vals)-1].(type) { // the plan's text is the last column
			case []byte:
				lines = append(lines, string(v))
			case string:
				lines = append(lines, v)
			}
		}
		return rows.Err()
	})
	return lines, err
}

// Waiting counts the deliveries queued for a writer goroutine: accepted
// ones, and the others.
func (w *Writer) Waiting() (accepted, others int) { return len(w.reqs), len(w.others) }
