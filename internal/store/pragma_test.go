package store_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// TestSQLitePragmas checks the settings every SQLite connection gets: WAL
// with a sync at every commit (an acknowledged webhook survives power
// loss), and temporary files, the statement journal among them, in memory.
func TestSQLitePragmas(t *testing.T) {
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "test.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []struct {
		pragma, want string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"temp_store", "2"}, // MEMORY
	} {
		var got string
		if err := db.SQL().QueryRow("PRAGMA " + p.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != p.want {
			t.Errorf("PRAGMA %s = %s, want %s", p.pragma, got, p.want)
		}
	}
}
