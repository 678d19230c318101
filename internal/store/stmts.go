package store

import (
	"context"
	"database/sql"
)

// The hot paths' statements run through these. On SQLite the connection
// keeps every statement it runs compiled (sqliteconn.go); on PostgreSQL the
// pgx driver caches prepared statements by itself.

func (db *DB) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	return tx.ExecContext(ctx, query, args...)
}

func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	return tx.QueryRowContext(ctx, query, args...)
}

func (db *DB) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(ctx, query, args...)
}
