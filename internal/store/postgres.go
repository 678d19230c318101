package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// migrationLockKey is the PostgreSQL advisory lock that lets one process at
// a time migrate; the others wait, then find nothing left to do.
const migrationLockKey = 7_316_484_215_020_811

// postgresURL accepts the schemes dj-database-url accepts.
func postgresURL(databaseURL string) string {
	_, rest, _ := strings.Cut(databaseURL, ":")
	return "postgres:" + rest
}

func openPostgres(ctx context.Context, databaseURL string, opts Options) (*DB, error) {
	u := postgresURL(databaseURL)
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		return nil, fmt.Errorf("database URL: not a valid PostgreSQL URL")
	}
	db := stdlib.OpenDB(*cfg)
	maxConns := opts.MaxConns
	if maxConns < 1 {
		maxConns = 10
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", cfg.Host, err)
	}
	// The job queue keeps one LISTEN connection per process from this pool.
	pcfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("database URL: not a valid PostgreSQL URL")
	}
	pcfg.MaxConns, pcfg.MinConns = 2, 0
	listen, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s: %w", cfg.Host, err)
	}
	return &DB{sql: db, dialect: Postgres, listen: listen, url: u, Now: time.Now}, nil
}

// WithMigrationLock runs f while holding the migration lock: on PostgreSQL
// an advisory lock, so that replicas starting together migrate one at a
// time; SQLite needs none (its writes are serialized).
func (db *DB) WithMigrationLock(ctx context.Context, f func() error) error {
	if db.dialect != Postgres {
		return f()
	}
	// A connection of its own, so that the lock holds whatever the pool does.
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		return fmt.Errorf("connect for the migration lock: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLockKey)); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLockKey))
	return f()
}

// lockOrder serializes the status updates of one order's items across
// processes (PostgreSQL); SQLite transactions are serialized already.
func (db *DB) lockOrder(ctx context.Context, tx *sql.Tx, orderID int64) error {
	if db.dialect != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT id FROM orders WHERE id = $1 FOR NO KEY UPDATE`, orderID); err != nil {
		return fmt.Errorf("lock order %d: %w", orderID, err)
	}
	return nil
}
