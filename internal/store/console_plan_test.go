package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// TestConsoleQueriesUseIndexes checks that the console's keyset pages and
// searches are answered from indexes: no table is read whole.
func TestConsoleQueriesUseIndexes(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	orders := []struct {
		name string
		f    OrderFilter
	}{
		{"order id", OrderFilter{Query: "5834765623456", Before: 100}},
		{"email", OrderFilter{Query: "Learner@Example.com", Before: 100}},
		{"course", OrderFilter{Query: "course-v1:Org+A+1", Before: 100}},
		{"failed items", OrderFilter{Status: "failed", Before: 100}},
		{"order status", OrderFilter{Status: "ERROR", Before: 100}},
		{"email and course", OrderFilter{Email: "a@example.com", Course: "course-v1:Org+A+1", Before: 100}},
		{"shop", OrderFilter{Platform: enroll.Shopify, Source: "shop.example.com", Before: 100}},
		{"date range", OrderFilter{Since: since, Until: since.AddDate(0, 0, 7)}},
		{"newest page", OrderFilter{Before: 100}},
	}
	type plan struct {
		name, query string
		args        []any
	}
	var plans []plan
	for _, o := range orders {
		q, args, err := listOrdersQuery(o.f, 51)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, plan{"orders: " + o.name, q, args})
	}
	q, args, err := failedItemsQuery(OrderFilter{Course: "course-v1:Org+A+1", Since: since}, 100)
	if err != nil {
		t.Fatal(err)
	}
	plans = append(plans,
		plan{"failed items of a course", q, args},
		plan{"rejected deliveries", `SELECT id FROM deliveries WHERE status <> 200 AND id < $1 ORDER BY id DESC LIMIT $2`, []any{100, 51}},
		plan{"order by shop id", `SELECT id FROM orders o WHERE o.external_id = $1 ORDER BY o.id`, []any{5}},
		plan{"order attempts", `SELECT id FROM attempts WHERE item_id IN (SELECT id FROM items WHERE order_id = $1) ORDER BY id`, []any{5}},
		plan{"order actions", `SELECT id FROM actions WHERE order_id = $1 ORDER BY id`, []any{5}},
		plan{"orders since", `SELECT count(*) FROM orders WHERE created_at >= $1`, []any{since}},
	)
	for _, d := range []Dialect{SQLite, Postgres} {
		t.Run(string(d), func(t *testing.T) {
			db := openForPlans(t, d)
			for _, p := range plans {
				t.Run(p.name, func(t *testing.T) {
					lines := explain(t, db, p.query, p.args)
					for _, l := range lines {
						if fullScan(d, l) {
							t.Errorf("full scan: %s\nquery: %s\nplan:\n%s", l, p.query, strings.Join(lines, "\n"))
						}
					}
				})
			}
		})
	}
}

func fullScan(d Dialect, line string) bool {
	if d == Postgres {
		return strings.Contains(line, "Seq Scan")
	}
	// "SCAN o" reads a table whole; "SCAN o USING INDEX" reads an index in
	// order, and "SEARCH" looks keys up.
	line = strings.TrimLeft(line, "|-` ")
	return strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, " USING ")
}

func explain(t *testing.T, db *DB, query string, args []any) []string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		prefix := "EXPLAIN QUERY PLAN "
		if db.dialect == Postgres {
			// The test tables are tiny: tell the planner to use an index
			// if there is one it can use at all.
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
			prefix = "EXPLAIN "
		}
		rows, err := tx.QueryContext(ctx, prefix+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			lines = append(lines, toString(vals[len(vals)-1]))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	return lines
}

func toString(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return ""
}

// openForPlans opens a fresh migrated database (storetest cannot be used
// from inside the package).
func openForPlans(t *testing.T, d Dialect) *DB {
	t.Helper()
	ctx := context.Background()
	u := "sqlite:" + filepath.Join(t.TempDir(), "plans.db")
	if d == Postgres {
		base := os.Getenv("TEST_DATABASE_URL")
		if base == "" {
			t.Skip("PostgreSQL tests skipped: set TEST_DATABASE_URL=postgres://user@host:5432/db to run them")
		}
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		name := fmt.Sprintf("wr_plans_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			admin, err := sql.Open("pgx", base)
			if err == nil {
				admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
				admin.Close()
			}
		})
		pu, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		pu.Path = "/" + name
		u = pu.String()
	}
	db, err := Open(ctx, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
