package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the prepared statements of the hot paths on SQLite: the
// group-commit writer's and RecordAttempts'. SQLite compiles SQL text on
// every execution otherwise, about a quarter of the writer's time; on
// PostgreSQL the pgx driver caches prepared statements by itself, and the
// cache is not used.
//
// A statement cannot be prepared while a transaction holds SQLite's only
// connection, so a statement first seen inside a transaction runs unprepared
// and is prepared by the next call to prepare, which the writer makes after
// each batch and RecordAttempts before its transaction.
type stmtCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	missing map[string]bool
}

// stmt returns the transaction's copy of a prepared statement; nil on
// PostgreSQL, and on SQLite when there is none yet (it notes the query for
// prepare then).
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if db.dialect != SQLite {
		return nil
	}
	c := &db.stmtCache
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return tx.StmtContext(ctx, s)
	}
	if c.missing == nil {
		c.missing = map[string]bool{}
	}
	c.missing[query] = true
	return nil
}

// prepare prepares the statements the hot paths have asked for. Call it
// while holding no transaction: with SQLite's one connection, it would wait
// for itself. A statement that fails to prepare runs unprepared.
func (db *DB) prepare(ctx context.Context) {
	c := &db.stmtCache
	c.mu.Lock()
	missing := c.missing
	c.missing = nil
	c.mu.Unlock()
	for query := range missing {
		s, err := db.sql.PrepareContext(ctx, query)
		if err != nil {
			continue // it runs unprepared; the next query that runs it asks again
		}
		c.mu.Lock()
		if c.stmts == nil {
			c.stmts = map[string]*sql.Stmt{}
		}
		c.stmts[query] = s
		c.mu.Unlock()
	}
}

func (db *DB) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if s := db.stmt(ctx, tx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if s := db.stmt(ctx, tx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

func (db *DB) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if s := db.stmt(ctx, tx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}
