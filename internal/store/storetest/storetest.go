// Package storetest gives tests a real, migrated database of their own: a
// SQLite file always, and a fresh PostgreSQL database when TEST_DATABASE_URL
// names a server (postgres://user@host:port/db) the tests may create
// databases on. Without TEST_DATABASE_URL the PostgreSQL tests are skipped,
// except under CI=true, where they fail: CI must not pass without them.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Backends are the database backends tests run against.
var Backends = []store.Dialect{store.SQLite, store.Postgres}

// URL returns the URL of a fresh, empty database of the backend, removed
// when the test ends. A PostgreSQL test without TEST_DATABASE_URL is
// skipped, or failed under CI=true; one whose server cannot be reached fails.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.SQLite {
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	}
	return freshPostgres(t, PostgresServer(t))
}

// PostgresServer returns TEST_DATABASE_URL, the server PostgreSQL tests
// create their databases on. When it is not set, it skips the test, or
// fails it under CI=true.
func PostgresServer(t testing.TB) string {
	t.Helper()
	base, missing := postgresServer(os.Getenv)
	switch missing {
	case failMissing:
		t.Fatal(noServer + " (CI=true: PostgreSQL tests must run in CI)")
	case skipMissing:
		t.Skip(noServer)
	}
	return base
}

const noServer = "PostgreSQL tests need TEST_DATABASE_URL=postgres://user@host:5432/db"

// onMissing is what a PostgreSQL test does without a server.
type onMissing int

const (
	runTest onMissing = iota // there is a server
	skipMissing
	failMissing
)

// postgresServer reads the server's URL from the environment, and what a
// test does without one: skip it, or fail under CI=true.
func postgresServer(getenv func(string) string) (string, onMissing) {
	switch base := getenv("TEST_DATABASE_URL"); {
	case base != "":
		return base, runTest
	case getenv("CI") == "true":
		return "", failMissing
	}
	return "", skipMissing
}

var counter atomic.Int64

func freshPostgres(t testing.TB, base string) string {
	t.Helper()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close()
	name := fmt.Sprintf("wr_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, counter.Add(1))
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		// A server that cannot be reached fails the test, in CI or not:
		// TEST_DATABASE_URL says one is expected.
		t.Fatalf("create a test database on TEST_DATABASE_URL's server: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Open returns a migrated database of the backend, closed when the test ends.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, URL(t, d), store.Options{})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

// New returns a migrated SQLite database in a file under t.TempDir().
func New(t testing.TB) *store.DB { return Open(t, store.SQLite) }

// ForEach runs f as a subtest against each backend, each with a fresh
// migrated database (PostgreSQL as URL says).
func ForEach(t *testing.T, f func(t *testing.T, db *store.DB)) {
	for _, d := range Backends {
		t.Run(string(d), func(t *testing.T) { f(t, Open(t, d)) })
	}
}

// ForEachBackend runs f as a subtest for each backend.
func ForEachBackend(t *testing.T, f func(t *testing.T, d store.Dialect)) {
	for _, d := range Backends {
		t.Run(string(d), func(t *testing.T) { f(t, d) })
	}
}
