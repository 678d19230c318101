package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Find searches every column of every row of every table of the database
// (the tables as its schema lists them, the job queue's included) for
// text, ignoring ASCII case, and returns where it is: "table.column", once
// per row that holds it.
func Find(t testing.TB, db *store.DB, text string) []string {
	t.Helper()
	ctx := context.Background()
	query := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if db.Dialect() == store.Postgres {
		query = `SELECT table_name FROM information_schema.tables
			WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	tables, err := names(ctx, db.SQL(), query)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	if len(tables) == 0 {
		t.Fatal("list tables: none")
	}
	needle := bytes.ToLower([]byte(text))
	var found []string
	for _, table := range tables {
		rows, err := db.SQL().QueryContext(ctx, `SELECT * FROM "`+table+`"`)
		if err != nil {
			t.Fatalf("read table %s: %v", table, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			values := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range values {
				ptrs[i] = &values[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("read table %s: %v", table, err)
			}
			for i, v := range values {
				if bytes.Contains(bytes.ToLower(valueBytes(v)), needle) {
					found = append(found, table+"."+cols[i])
				}
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("read table %s: %v", table, err)
		}
		rows.Close()
	}
	return found
}

func names(ctx context.Context, db *sql.DB, query string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func valueBytes(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		return x
	case string:
		return []byte(x)
	case time.Time:
		return []byte(x.String())
	}
	return fmt.Appendf(nil, "%v", v)
}

// FileHolds reports whether the bytes of a SQLite database's files (the
// database, and its write-ahead log if any) hold text, ignoring ASCII
// case, after a VACUUM has rewritten the database without its free pages
// and a checkpoint has emptied the log.
func FileHolds(t testing.TB, db *store.DB, path, text string) bool {
	t.Helper()
	ctx := context.Background()
	for _, stmt := range []string{`VACUUM`, `PRAGMA wal_checkpoint(TRUNCATE)`} {
		if _, err := db.SQL().ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	needle := bytes.ToLower([]byte(text))
	for _, name := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(name)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(b), needle) {
			return true
		}
	}
	return false
}
