package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// TestCheckCreatesNoSQLiteFile runs check on SQLite files that do not
// exist yet, as before the first start: it passes, says that serve or
// migrate creates the file, and leaves neither file nor directory.
func TestCheckCreatesNoSQLiteFile(t *testing.T) {
	lms := edxtest.New(t)
	tests := []struct {
		name string
		env  func(path string) env // the database settings
		args func(path string) []string
	}{
		{"environment", func(p string) env { return env{"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + p} }, nil},
		{"Django environment", func(p string) env { return env{"DJANGO_DATABASE_URL": "sqlite:///" + p} }, nil},
		{"flag", func(string) env { return env{} }, func(p string) []string { return []string{"--database-url", "sqlite:" + p} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			path := filepath.Join(dir, "receiver.db")
			e := baseEnv(t, lms, store.SQLite)
			delete(e, "WEBHOOK_RECEIVER_DATABASE_URL")
			for k, v := range tt.env(path) {
				e[k] = v
			}
			args := []string{"check"}
			if tt.args != nil {
				args = append(args, tt.args(path)...)
			}
			out, _, err := runCmd(t, e, "", args...)
			if err != nil {
				t.Errorf("check = %v; want success:\n%s", err, out)
			}
			want := "\nok   database     sqlite file " + path + " does not exist yet: serve or migrate creates it\n"
			if !strings.Contains(out, want) || !strings.Contains(out, "\nok   lms token") {
				t.Errorf("output lacks %q and an ok LMS:\n%s", want[1:], out)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("check created %s: %v", dir, err)
			}
		})
	}

	t.Run("directory exists", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "receiver.db")
		e := baseEnv(t, lms, store.SQLite)
		e["WEBHOOK_RECEIVER_DATABASE_URL"] = "sqlite:" + path
		out, _, err := runCmd(t, e, "", "check")
		if err != nil || !strings.Contains(out, "sqlite file "+path+" does not exist yet") {
			t.Errorf("check = %v:\n%s", err, out)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("check created %v in %s", entries, dir)
		}
	})
}

// pendingLine matches check's database line for a schema behind the code.
var pendingLine = regexp.MustCompile(`(?m)^ok   database     (.*) at (.*), (\d+) migration\(s\) pending: serve or migrate applies them$`)

// TestCheckReportsPendingMigrations runs check on a database that was never
// migrated: it reports the migrations pending, and applies none of them.
func TestCheckReportsPendingMigrations(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		e := baseEnv(t, lms, d)
		url := e["WEBHOOK_RECEIVER_DATABASE_URL"]
		if d == store.SQLite {
			path, err := store.SQLitePath(url)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, nil, 0o600); err != nil { // an empty SQLite database
				t.Fatal(err)
			}
		}

		for range 2 {
			out := mustRun(t, e, "check")
			m := pendingLine.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("output lacks a line matching %s:\n%s", pendingLine, out)
			}
			if !regexp.MustCompile("^"+databaseVersion[d]+"$").MatchString(m[1]) || m[2] != url {
				t.Errorf("database line names %q at %q; want %s at %s", m[1], m[2], databaseVersion[d], url)
			}
			if got, want := m[3], strconv.Itoa(pendingMigrations(t, url)); got != want || want == "0" {
				t.Errorf("check reports %s migration(s) pending; the database has %s", got, want)
			}
		}

		mustRun(t, e, "migrate")
		if out := mustRun(t, e, "check"); !strings.Contains(out, ", schema current\n") {
			t.Errorf("check after migrate:\n%s", out)
		}
	})
}

// pendingMigrations counts the migrations the database lacks, its own and
// the job queue's.
func pendingMigrations(t *testing.T, url string) int {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.PendingMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	queue, err := jobs.PendingMigrations(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	return n + queue
}
