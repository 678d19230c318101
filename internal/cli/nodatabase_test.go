package cli_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// operatorCommands read or act on stored orders; none may create a database.
var operatorCommands = [][]string{
	{"orders", "list"},
	{"orders", "show", "4711"},
	{"orders", "retry", "4711"},
	{"orders", "resolve", "812", "--note", "by hand"},
	{"deliveries", "list"},
	{"deliveries", "replay", "3"},
	{"privacy", "export", "--email", "a@example.com"},
	{"privacy", "redact", "--email", "a@example.com"},
	{"privacy", "requests"},
	{"privacy", "answer", "1"},
	{"purge", "--older-than", "90d"},
}

const noDatabaseHere = "no database here — wrong --config or --database-url? "

// TestOperatorCommandsCreateNoDatabase runs every operator command on a
// database that is not there: a missing SQLite file (named by each source,
// or the default), an empty one, and a PostgreSQL database without our
// tables. Each says there is no database here and where its URL came
// from, and none creates a file or a table.
func TestOperatorCommandsCreateNoDatabase(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "r.db")
		file := writeTemp(t, "database_url: sqlite:"+path+"\n")
		sources := []struct {
			name string
			env  env
			args []string
			want string
		}{
			{"environment", env{"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + path}, nil,
				"sqlite:" + path + " (from WEBHOOK_RECEIVER_DATABASE_URL): sqlite file " + path + " does not exist"},
			{"flag", env{}, []string{"--database-url", "sqlite:" + path},
				"sqlite:" + path + " (from --database-url): sqlite file " + path + " does not exist"},
			{"file", env{}, []string{"--config", file},
				"sqlite:" + path + " (from --config " + file + ": database_url): sqlite file " + path + " does not exist"},
		}
		for _, src := range sources {
			for _, cmd := range operatorCommands {
				_, _, err := runCmd(t, src.env, "", append(cmd, src.args...)...)
				if err == nil || err.Error() != noDatabaseHere+src.want {
					t.Errorf("%s, %v = %v\nwant %s", src.name, cmd, err, noDatabaseHere+src.want)
				}
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("left %v in %s", entries, dir)
		}
	})

	t.Run("default", func(t *testing.T) {
		dir := t.TempDir()
		t.Chdir(dir)
		for _, cmd := range operatorCommands {
			_, _, err := runCmd(t, env{}, "", cmd...)
			want := noDatabaseHere + "sqlite:webhook-receiver.db (the default: no --database-url, WEBHOOK_RECEIVER_DATABASE_URL or database_url in a --config file): sqlite file " +
				filepath.Join(dir, "webhook-receiver.db") + " does not exist"
			if err == nil || err.Error() != want {
				t.Errorf("%v = %v\nwant %s", cmd, err, want)
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("left %v in %s", entries, dir)
		}
	})

	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		url := storetest.URL(t, d)
		if d == store.SQLite {
			path, _ := store.SQLitePath(url)
			if err := os.WriteFile(path, nil, 0o600); err != nil { // an empty SQLite database
				t.Fatal(err)
			}
			defer func() {
				if st, err := os.Stat(path); err != nil || st.Size() != 0 {
					t.Errorf("the empty file was written to (%v)", err)
				}
			}()
		}
		e := env{"WEBHOOK_RECEIVER_DATABASE_URL": url}
		want := noDatabaseHere + url + " (from WEBHOOK_RECEIVER_DATABASE_URL) has no webhook-receiver tables" +
			" (a new database of the service's? run 'webhook-receiver migrate', or start serve, first)"
		for _, cmd := range operatorCommands {
			if _, _, err := runCmd(t, e, "", cmd...); err == nil || err.Error() != want {
				t.Errorf("%v = %v\nwant %s", cmd, err, want)
			}
		}
		out, _, _ := runCmd(t, e, "", "check")
		if !strings.Contains(out, "\nwarn database     "+want+"\n") {
			t.Errorf("check does not warn %q:\n%s", want, out)
		}
		if d == store.Postgres {
			assertNoDatabase(t, url)
		}
	})
}

// TestSendTestPrintsItsFlags runs send-test with a configuration file whose
// path needs quoting, and a database URL flag: the command it prints to
// show the order carries both, quoted for the shell, and shows the order
// when run as printed.
func TestSendTestPrintsItsFlags(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to read the printed command")
	}
	lms := edxtest.New(t)
	dir := filepath.Join(t.TempDir(), "it's here")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	db := "sqlite:" + filepath.Join(dir, "r.db")
	file := filepath.Join(dir, "config $HOME.yaml")
	if err := os.WriteFile(file, []byte(`database_url: "`+db+`"
lms: {base_url: "`+lms.URL+`", oauth2_key: test-client, oauth2_secret: test-secret}
shopify: [{shop_domain: first.myshopify.com, secrets: [shopify-webhook-secret]}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	s := start(t, env{"WEBHOOK_RECEIVER_LISTEN": addr}, addr, "serve", "--config", file)

	for _, args := range [][]string{{"--config", file}, {"--config", file, "--database-url", db}} {
		out := mustRun(t, env{}, append([]string{"send-test", "--shopify", "--url", s.url}, args...)...)
		_, show, ok := strings.Cut(out, "stored: see it with: ")
		if !ok {
			t.Fatalf("send-test printed no command:\n%s", out)
		}
		show = strings.TrimSpace(show)
		argv, err := exec.Command(sh, "-c", `for a in `+show+`; do printf '%s\0' "$a"; done`).Output()
		if err != nil {
			t.Fatalf("sh cannot read %s: %v", show, err)
		}
		words := strings.Split(strings.TrimSuffix(string(argv), "\x00"), "\x00")
		want := append([]string{"webhook-receiver", "orders", "show", words[3]}, args...)
		if strings.Join(words, "|") != strings.Join(want, "|") {
			t.Errorf("printed %s\nthe shell reads %q; want %q", show, words, want)
		}
		if out := mustRun(t, env{}, words[1:]...); !strings.Contains(out, "first.myshopify.com") {
			t.Errorf("%s:\n%s", show, out)
		}
	}
}
