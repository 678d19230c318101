package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

func openTestSQLite(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "test.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.sql.Exec(`CREATE TABLE t (n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// cachedTexts returns the statement texts the connection keeps compiled.
func cachedTexts(t *testing.T, db *DB) map[string]bool {
	t.Helper()
	texts := map[string]bool{}
	conn, err := db.sql.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("connection %T keeps no statements", dc)
		}
		for q := range c.stmts {
			texts[q] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

// TestSQLiteKeepsStatements checks that statements run as text, inside a
// transaction too (as River's job insert is), are kept compiled and give
// the same answers when run again.
func TestSQLiteKeepsStatements(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	const insert, count = `INSERT INTO t (n) VALUES (?)`, `SELECT count(*), coalesce(sum(n), 0) FROM t`
	for i := 1; i <= 3; i++ {
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, insert, i)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var n, sum int
		if err := db.sql.QueryRowContext(ctx, count).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		if n != i || sum != i*(i+1)/2 {
			t.Fatalf("after %d inserts: %d rows, sum %d", i, n, sum)
		}
	}
	kept := cachedTexts(t, db)
	if !kept[insert] || !kept[count] {
		t.Errorf("statements kept: %v; want %q and %q among them", kept, insert, count)
	}
}

// TestSQLiteStatementReadTwice runs a query while its own rows are still
// being read: the second run cannot use the compiled statement the first
// one holds, and must not disturb it.
func TestSQLiteStatementReadTwice(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	if _, err := db.sql.Exec(`INSERT INTO t (n) VALUES (1), (2), (3)`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT n FROM t ORDER BY n`
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		outer, err := tx.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer outer.Close()
		var got []int
		for outer.Next() {
			var n int
			if err := outer.Scan(&n); err != nil {
				return err
			}
			inner, err := scanRows(must(tx.QueryContext(ctx, q)), func(m *int) []any { return []any{m} })
			if err != nil {
				return err
			}
			if len(inner) != 3 {
				return fmt.Errorf("inner query read %v", inner)
			}
			got = append(got, n)
		}
		if len(got) != 3 || got[0] != 1 || got[2] != 3 {
			return fmt.Errorf("outer query read %v, want [1 2 3]", got)
		}
		return outer.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func must(rows *sql.Rows, err error) *sql.Rows {
	if err != nil {
		panic(err)
	}
	return rows
}

// TestSQLiteStatementsBounded runs more distinct texts than are kept, and
// a statement kept from before a change of the table's columns.
func TestSQLiteStatementsBounded(t *testing.T) {
	db := openTestSQLite(t)
	ctx := context.Background()
	for i := range maxCachedStmts + 10 {
		var n int
		if err := db.sql.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n); err != nil || n != i {
			t.Fatalf("SELECT %d: %d, %v", i, n, err)
		}
	}
	if kept := cachedTexts(t, db); len(kept) > maxCachedStmts {
		t.Errorf("%d statements kept, want at most %d", len(kept), maxCachedStmts)
	}
	const all = `SELECT * FROM t`
	if _, err := db.sql.ExecContext(ctx, all); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.Exec(`ALTER TABLE t ADD COLUMN m INTEGER NOT NULL DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.sql.Exec(`INSERT INTO t (n) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	var n, m int
	if err := db.sql.QueryRowContext(ctx, all).Scan(&n, &m); err != nil || m != 7 {
		t.Fatalf("%s after a new column: %d, %d, %v", all, n, m, err)
	}
}
