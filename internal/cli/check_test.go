package cli_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// TestCheckCreatesNoSQLiteFile runs check on SQLite files that do not
// exist yet, as before the first start: it passes when serve could create
// the file there, says that serve or migrate creates it, warns that there
// is no database yet, and leaves neither file nor directory.
func TestCheckCreatesNoSQLiteFile(t *testing.T) {
	lms := edxtest.New(t)
	tests := []struct {
		name   string
		env    func(path string) env // the database settings
		args   func(path string) []string
		source string
	}{
		{"environment", func(p string) env { return env{"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + p} }, nil, "(from WEBHOOK_RECEIVER_DATABASE_URL)"},
		{"Django environment", func(p string) env { return env{"DJANGO_DATABASE_URL": "sqlite:///" + p} }, nil, "(from DJANGO_DATABASE_URL)"},
		{"flag", func(string) env { return env{} }, func(p string) []string { return []string{"--database-url", "sqlite:" + p} }, "(from --database-url)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
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
			want := "\nok   database     sqlite file " + path + " does not exist yet: serve or migrate creates it (the location is writable)\n" +
				"warn database     no database here — wrong --config or --database-url? sqlite:"
			wantEnd := " " + tt.source + ": sqlite file " + path + " does not exist\n"
			if !strings.Contains(out, want) || !strings.Contains(out, wantEnd) || !strings.Contains(out, "\nok   lms token") {
				t.Errorf("output lacks %q ... %q and an ok LMS:\n%s", want[1:], wantEnd, out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("check left %v in %s", entries, dir)
			}
		})
	}
}

// TestCheckSQLiteLocation runs check on SQLite locations where serve could
// not create its database: check fails, naming the URL and the operating
// system's reason, and leaves nothing behind. A missing directory passes
// with --create-dirs, as serve --create-dirs would create it.
func TestCheckSQLiteLocation(t *testing.T) {
	lms := edxtest.New(t)
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		args []string
		want string // in the FAIL line; empty: check passes
		skip bool
	}{
		{"missing directory", filepath.Join(tmp, "data", "sub", "r.db"), nil,
			"the database's directory does not exist: " + filepath.Join(tmp, "data", "sub") + ": create it, or use --create-dirs", false},
		{"missing directory with --create-dirs", filepath.Join(tmp, "data", "sub", "r.db"), []string{"--create-dirs"}, "", false},
		{"under a file", filepath.Join(file, "r.db"), nil, "not a directory", false},
		{"under a file with --create-dirs", filepath.Join(file, "sub", "r.db"), []string{"--create-dirs"}, "not a directory", false},
		{"a directory", tmp, nil, tmp + " is a directory", false},
		// The kernel's file systems take no new files, even from root.
		{"proc", "/proc/webhook-receiver-check.db", nil, "the file cannot be created: no such file or directory", !isDir("/proc/self")},
		{"sys", "/sys/webhook-receiver-check.db", nil, "the file cannot be created: permission denied", !isDir("/sys/kernel")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("no such file system here")
			}
			e := baseEnv(t, lms, store.SQLite)
			e["WEBHOOK_RECEIVER_DATABASE_URL"] = "sqlite:" + tt.path
			out, _, err := runCmd(t, e, "", append([]string{"check"}, tt.args...)...)
			if tt.want == "" {
				if err != nil || !strings.Contains(out, "\nok   database     sqlite file "+tt.path+" does not exist yet") {
					t.Errorf("check = %v; want an ok database line:\n%s", err, out)
				}
			} else {
				want := "\nFAIL database     sqlite:" + tt.path + " (WEBHOOK_RECEIVER_DATABASE_URL): "
				if err == nil || !strings.Contains(out, want) || !strings.Contains(out, tt.want+"\n") {
					t.Errorf("check = %v; want a line starting %q and ending %q:\n%s", err, want[1:], tt.want, out)
				}
			}
			if entries, _ := os.ReadDir(tmp); len(entries) != 1 {
				t.Errorf("check left %v in %s", entries, tmp)
			}
			if _, err := os.Stat(tt.path); tt.path != tmp && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				t.Errorf("check left %s: %v", tt.path, err)
			}
		})
	}
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
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

// TestCheckFailLinesNameTheURL makes each check fail: every FAIL line names
// the URL it probed, once, and never with its password.
func TestCheckFailLinesNameTheURL(t *testing.T) {
	lms := edxtest.New(t)
	closed := freeAddr(t) // nothing listens there any more
	tests := []struct {
		name  string
		setup func(e env)
		want  []string
	}{
		{"LMS unreachable", func(e env) { e["WEBHOOK_RECEIVER_LMS_BASE_URL"] = "http://operator:s3cret-pw@" + closed + "/" }, []string{
			"\nFAIL lms token    POST http://operator:xxxxx@" + closed + "/oauth2/access_token: token: dial tcp " + closed + ": connect: connection refused\n",
			"\nFAIL bulk enroll  POST http://operator:xxxxx@" + closed + "/api/bulk_enroll/v1/bulk_enroll: LMS unreachable: probe bulk enroll: dial tcp ",
		}},
		{"bad credentials", func(e env) { e["WEBHOOK_RECEIVER_OAUTH2_SECRET"] = "s3cret-pw" }, []string{
			"\nFAIL lms token    POST " + lms.URL + "/oauth2/access_token: token: LMS answered 401 Unauthorized: bad client credentials",
		}},
		{"view disabled", func(e env) { lms.SetBulkEnrollEnabled(false) }, []string{
			"\nFAIL bulk enroll  POST " + lms.URL + "/api/bulk_enroll/v1/bulk_enroll: view not found (HTTP 404)",
		}},
		{"database unreachable", func(e env) { e["WEBHOOK_RECEIVER_DATABASE_URL"] = "postgres://wr:s3cret-pw@" + closed + "/wr" }, []string{
			"\nFAIL database     postgres://wr:xxxxx@" + closed + "/wr (WEBHOOK_RECEIVER_DATABASE_URL): ",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := baseEnv(t, lms, store.SQLite)
			tt.setup(e)
			t.Cleanup(func() { lms.SetBulkEnrollEnabled(true) })
			out, _, err := runCmd(t, e, "", "check")
			if err == nil {
				t.Errorf("check passed:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "s3cret-pw") || strings.Contains(out, `Post "`) {
				t.Errorf("output holds the password, or names a URL twice:\n%s", out)
			}
		})
	}
}
