package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Helpers shared by the queries of every subject: placeholders, WHERE
// clauses, page sizes and reading rows.

// Page sizes of the list queries. List pages are paged by keyset
// (id < cursor), never by offset.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

func pageSize(limit int) int {
	if limit <= 0 {
		return defaultPageSize
	}
	return min(limit, maxPageSize)
}

// params collects a query's arguments and names their placeholders.
type params struct{ args []any }

func (p *params) add(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(len(p.args))
}

// list adds ids and returns their placeholders, for IN (...).
func (p *params) list(ids []int64) string {
	marks := make([]string, len(ids))
	for i, id := range ids {
		marks[i] = p.add(id)
	}
	return strings.Join(marks, ", ")
}

// statuses adds item statuses and returns their placeholders, for IN (...).
func (p *params) statuses(ss []enroll.ItemStatus) string {
	marks := make([]string, len(ss))
	for i, s := range ss {
		marks[i] = p.add(s)
	}
	return strings.Join(marks, ", ")
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

// querier is a transaction or the pool.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// scanRows reads every row of rows into a T, through fields, which points
// at the T's fields in the order of the query's columns, and closes rows.
func scanRows[T any](rows *sql.Rows, fields func(*T) []any) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(fields(&v)...); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryRows runs a query and reads every row into a T, through fields (see
// scanRows).
func queryRows[T any](ctx context.Context, q querier, fields func(*T) []any, query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanRows(rows, fields)
}

// scanIDs reads the ids a query returns, one per row; it takes the
// query's results as they come, so that a caller can pass them straight on.
func scanIDs(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	return scanRows(rows, func(id *int64) []any { return []any{id} })
}

// nullID scans a nullable id column into an int64, NULL as 0.
type nullID struct{ id *int64 }

func (n nullID) Scan(v any) error {
	var x sql.NullInt64
	if err := x.Scan(v); err != nil {
		return err
	}
	*n.id = x.Int64
	return nil
}

// nullTime scans a nullable timestamp into a time.Time, NULL as the zero time.
type nullTime struct{ t *time.Time }

func (n nullTime) Scan(v any) error {
	var x sql.NullTime
	if err := x.Scan(v); err != nil {
		return err
	}
	*n.t = x.Time
	return nil
}
