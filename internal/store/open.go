// Package store keeps orders, their enrollment items, attempts and webhook
// deliveries in a SQL database. All SQL of the receiver lives here.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite" // the pure-Go SQLite driver
)

// DB is the receiver's database.
type DB struct {
	sql     *sql.DB
	dialect Dialect
	// listen is a pgx pool for the job queue's LISTEN connections (PostgreSQL only).
	listen *pgxpool.Pool
	url    string
	// Now tells the time; tests may replace it.
	Now func() time.Time
}

// Dialect names a database backend.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options tune the connection pool.
type Options struct {
	// MaxConns caps PostgreSQL connections (default 10); SQLite uses one.
	MaxConns int
	// Existing opens a database that exists already and never creates one:
	// a missing SQLite file is ErrNoDatabase. For the commands that read
	// or act on stored orders.
	Existing bool
}

// ErrNoDatabase means that the SQLite file Open was told to find
// (Options.Existing) does not exist. (A database without the receiver's
// tables is told by HasSchema.)
var ErrNoDatabase = errors.New("no database here")

// ErrNoDirectory means the directory of a SQLite file does not exist;
// Open does not create it (CreateSQLiteDir does).
var ErrNoDirectory = errors.New("the database's directory does not exist")

// DialectOf tells which backend a database URL names.
func DialectOf(databaseURL string) (Dialect, error) {
	scheme, _, _ := strings.Cut(databaseURL, ":")
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		return SQLite, nil
	case "postgres", "postgresql", "pgsql":
		return Postgres, nil
	}
	return "", fmt.Errorf("database URL: unsupported scheme %q: use sqlite:<path> or postgres://user:pass@host/db", scheme)
}

// SQLitePath returns the file path a sqlite: database URL names.
//
//	sqlite:relative/path.db     relative to the working directory
//	sqlite:/abs/path.db         absolute
//	sqlite:///abs/path.db       absolute (also sqlite:////abs/path.db)
func SQLitePath(databaseURL string) (string, error) {
	if d, err := DialectOf(databaseURL); err != nil || d != SQLite {
		return "", fmt.Errorf("database URL: want sqlite:<path>")
	}
	_, rest, _ := strings.Cut(databaseURL, ":")
	if p, ok := strings.CutPrefix(rest, "//"); ok {
		// sqlite://host/path has no host for SQLite: what follows is the path.
		if strings.HasPrefix(p, "/") {
			return "/" + strings.TrimLeft(p, "/"), nil
		}
		rest = p
	}
	if rest == "" {
		return "", fmt.Errorf("database URL %q: empty path", databaseURL)
	}
	return rest, nil
}

// Open opens the database a URL names: SQLite or PostgreSQL. A SQLite
// file is created when missing, unless opts.Existing is set, but its
// directory never is. It does not migrate the schema; call Migrate.
func Open(ctx context.Context, databaseURL string, opts Options) (*DB, error) {
	d, err := DialectOf(databaseURL)
	if err != nil {
		return nil, err
	}
	if d == Postgres {
		return openPostgres(ctx, databaseURL, opts)
	}
	return openSQLite(ctx, databaseURL, opts)
}

func openSQLite(ctx context.Context, databaseURL string, opts Options) (*DB, error) {
	path, err := SQLitePath(databaseURL)
	if err != nil {
		return nil, err
	}
	// Say what is missing before SQLite says "unable to open database file".
	switch _, err := os.Stat(path); {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) && opts.Existing:
		return nil, fmt.Errorf("sqlite file %s does not exist: %w", path, ErrNoDatabase)
	case errors.Is(err, fs.ErrNotExist):
		if err := dirExists(filepath.Dir(path)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("open database: %w", err) // "stat ...: not a directory", "permission denied"
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)") // first: the next pragmas may wait for a lock
	if !opts.Existing {
		// Persistent: a database that serve or migrate made is in WAL mode
		// already, and opening an empty file must not write to it.
		q.Add("_pragma", "journal_mode(WAL)")
	}
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	// The statement journal, which a multi-row insert inside a transaction
	// writes so that it could be undone alone, stays in memory rather than
	// spilling to a temporary file past 64 KB. It never outlives its
	// statement, so durability is unchanged (the WAL and its sync are).
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	if opts.Existing {
		q.Set("mode", "rw") // SQLite's own: fail rather than create the file
	}
	db := sql.OpenDB(sqliteConnector{dsn: sqliteURI(path) + "?" + q.Encode(), drv: &sqlite.Driver{}})
	// One connection: SQLite has one writer, and the job queue shares this
	// pool. Never use the pool while holding a transaction on it.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	if err := pingSQLite(ctx, db); err != nil {
		db.Close()
		if cantOpen(err) {
			// SQLite's "unable to open database file (14)" names no cause: the OS does.
			if _, reason := probeSQLite(path, false); reason != nil {
				return nil, fmt.Errorf("open database %s: %w (%v)", path, reason, err)
			}
		}
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return &DB{sql: db, dialect: SQLite, url: databaseURL, Now: time.Now}, nil
}

// sqliteURI makes a path into a SQLite URI filename, in which "?", "#"
// and "%" have meanings of their own.
func sqliteURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// cantOpen tells whether err is SQLite's SQLITE_CANTOPEN, which says that
// the file could not be opened and not why.
func cantOpen(err error) bool {
	var e interface{ Code() int }
	return errors.As(err, &e) && e.Code()&0xff == 14
}

// pingSQLite opens the first connection. Switching a new file to WAL can
// fail at once with SQLITE_BUSY, without waiting busy_timeout, while other
// processes open it too: that is retried for a few seconds.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil || !strings.Contains(err.Error(), "SQLITE_BUSY") || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// SQL returns the underlying pool, for the job queue's driver.
func (db *DB) SQL() *sql.DB { return db.sql }

// Dialect tells the backend.
func (db *DB) Dialect() Dialect { return db.dialect }

// ListenerPool is the pgx pool the job queue listens on (PostgreSQL), or nil.
func (db *DB) ListenerPool() *pgxpool.Pool { return db.listen }

// Close closes the database.
func (db *DB) Close() error {
	if db.listen != nil {
		db.listen.Close()
	}
	return db.sql.Close()
}

// Version names the backend and its server version.
func (db *DB) Version(ctx context.Context) (string, error) {
	query, name := "SELECT sqlite_version()", "SQLite "
	if db.dialect == Postgres {
		query, name = "SHOW server_version", "PostgreSQL "
	}
	var v string
	if err := db.sql.QueryRowContext(ctx, query).Scan(&v); err != nil {
		return "", fmt.Errorf("read database version: %w", err)
	}
	return name + v, nil
}

// Ping reports whether the database can take writes: on SQLite, whether
// a write transaction can start (the file may be locked or read-only); on
// PostgreSQL, whether the server answers.
func (db *DB) Ping(ctx context.Context) error {
	if db.dialect == SQLite {
		if err := db.inTx(ctx, func(*sql.Tx) error { return nil }); err != nil {
			return fmt.Errorf("ping database: %w", err)
		}
		return nil
	}
	var one int
	if err := db.sql.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

func (db *DB) now() time.Time { return db.Now().UTC() }

// inTx runs f in a transaction and commits when f returns nil.
func (db *DB) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	return db.inTxOpts(ctx, nil, f)
}

// inSnapshot runs f in a read-only transaction that sees one moment of the
// database (SQLite transactions always do; PostgreSQL needs repeatable
// read). On SQLite it is a deferred transaction: a read does not take the
// write lock from the webhook writer, in this process or another.
func (db *DB) inSnapshot(ctx context.Context, f func(tx *sql.Tx) error) error {
	if db.dialect != Postgres {
		return db.inTxOpts(ctx, &sql.TxOptions{ReadOnly: true}, f)
	}
	return db.inTxOpts(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}, f)
}

func (db *DB) inTxOpts(ctx context.Context, opts *sql.TxOptions, f func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
