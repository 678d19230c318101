// Package storetest gives tests a real, migrated database of their own.
package storetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// New returns a migrated SQLite database in a file under t.TempDir(),
// closed when the test ends.
func New(t testing.TB) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

// ForEach runs f as a subtest against each database backend this build
// supports, each with a fresh database.
func ForEach(t *testing.T, f func(t *testing.T, db *store.DB)) {
	t.Run("sqlite", func(t *testing.T) { f(t, New(t)) })
}
