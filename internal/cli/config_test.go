package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// TestListenFlagReplacesABadSetting starts serve with a bad listen address
// in the environment and a good one in --listen: the flag wins before the
// configuration is validated, so the service starts.
func TestListenFlagReplacesABadSetting(t *testing.T) {
	addr := freeAddr(t)
	e := env{
		"WEBHOOK_RECEIVER_LISTEN":       "not-an-address",
		"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "x.db"),
	}
	s := start(t, e, addr, "serve", "--listen", addr)
	if got := s.postShopify(t, "first.myshopify.com", "x", `{"id": 1}`); got != 403 {
		t.Errorf("webhook on the --listen address: %d; want 403 (no shop configured)", got)
	}
}

// TestFlagsWinOverEnvironmentAndFile runs check with the listen address and
// the database set by the YAML file, the environment and the flags, and
// reads which values won from its output.
func TestFlagsWinOverEnvironmentAndFile(t *testing.T) {
	dir := t.TempDir()
	flagDB := "sqlite:" + filepath.Join(dir, "flag.db")
	envDB := "sqlite:" + filepath.Join(dir, "env.db")
	fileDB := "sqlite:" + filepath.Join(dir, "file.db")
	for _, db := range []string{flagDB, envDB, fileDB} {
		mustRun(t, env{}, "migrate", "--database-url", db)
	}
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:1001\ndatabase_url: "+fileDB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		env    env
		args   []string
		want   []string // lines of check's output
		wantDB string   // the database check opened
	}{
		{"file", env{"WEBHOOK_RECEIVER_CONFIG": file}, nil, []string{"ok   config "}, fileDB},
		{"environment over file", env{"WEBHOOK_RECEIVER_CONFIG": file, "WEBHOOK_RECEIVER_DATABASE_URL": envDB}, nil,
			[]string{"ok   config "}, envDB},
		{"flag over environment and file",
			env{"WEBHOOK_RECEIVER_CONFIG": file, "WEBHOOK_RECEIVER_DATABASE_URL": envDB, "DJANGO_DATABASE_URL": "sqlite:///nope.db"},
			[]string{"--database-url", flagDB}, []string{"ok   config "}, flagDB},
		{"good flag over a bad environment value", env{"WEBHOOK_RECEIVER_LISTEN": "not-an-address", "WEBHOOK_RECEIVER_DATABASE_URL": envDB},
			[]string{"--listen", "127.0.0.1:1002"}, []string{"ok   config "}, envDB},
		{"good flag over a bad file value", env{"WEBHOOK_RECEIVER_CONFIG": writeTemp(t, "listen: 8000\n")},
			[]string{"--listen", "127.0.0.1:1002", "--database-url", flagDB}, []string{"ok   config "}, flagDB},
		{"bad flag over a good environment value", env{"WEBHOOK_RECEIVER_LISTEN": "127.0.0.1:1002"},
			[]string{"--listen", "8000"},
			[]string{`FAIL config       configuration: --listen: must be host:port or :port, got "8000"`}, ""},
		{"blank flags are not set", env{"WEBHOOK_RECEIVER_DATABASE_URL": envDB}, []string{"--listen", " ", "--database-url", ""},
			[]string{"ok   config "}, envDB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, _ := runCmd(t, tt.env, "", append([]string{"check"}, tt.args...)...)
			for _, w := range tt.want {
				if !strings.Contains(out, "\n"+w) && !strings.HasPrefix(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.wantDB != "" && !strings.Contains(out, " at "+tt.wantDB+", schema current\n") {
				t.Errorf("check did not open %s:\n%s", tt.wantDB, out)
			}
		})
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigurationErrorsNameTheSource checks that the commands name the
// flag, variable or file and key that gave a bad value.
func TestConfigurationErrorsNameTheSource(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	tests := []struct {
		name string
		env  env
		args []string
		want string // the start of the error; $FILE is the YAML file
	}{
		{"bad --listen", env{"WEBHOOK_RECEIVER_DATABASE_URL": db}, []string{"serve", "--listen", "8000"},
			`configuration: --listen: must be host:port or :port, got "8000"`},
		{"yaml boolean", env{"WEBHOOK_RECEIVER_CONFIG": writeTemp(t, "lms:\n  auto_enroll: maybe\n")}, []string{"serve"},
			`configuration: WEBHOOK_RECEIVER_CONFIG $FILE: lms.auto_enroll: line 2: invalid boolean "maybe"`},
		{"yaml unknown key", env{"WEBHOOK_RECEIVER_CONFIG": writeTemp(t, "lms:\n  foo: 1\n")}, []string{"serve"},
			`configuration: WEBHOOK_RECEIVER_CONFIG $FILE: line 2: unknown key "foo" in lms`},
		{"yaml range", env{}, []string{"serve", "--config", writeTemp(t, "max_attempts: 0\n")},
			`configuration: --config $FILE: max_attempts: must be at least 1, got "0"`},
		{"legacy yaml", env{"WEBHOOK_RECEIVER_CFG": writeTemp(t, "WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL: [yes]\n")}, []string{"serve"},
			`configuration: WEBHOOK_RECEIVER_CFG $FILE: WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL: line 1: expected a boolean`},
		{"database from the environment", env{"WEBHOOK_RECEIVER_DATABASE_URL": "mysql://db"}, []string{"migrate"},
			`WEBHOOK_RECEIVER_DATABASE_URL: database URL: unsupported scheme "mysql"`},
		{"database from the Django environment", env{"DJANGO_DATABASE_URL": "mysql://db"}, []string{"serve"},
			`DJANGO_DATABASE_URL: database URL: unsupported scheme "mysql"`},
		{"database from the flag", env{"WEBHOOK_RECEIVER_DATABASE_URL": db}, []string{"migrate", "--database-url", "mysql://db"},
			`--database-url: database URL: unsupported scheme "mysql"`},
		{"database from the file", env{"WEBHOOK_RECEIVER_CONFIG": writeTemp(t, "database_url: mysql://db\n")}, []string{"migrate"},
			`WEBHOOK_RECEIVER_CONFIG $FILE: database_url: database URL: unsupported scheme "mysql"`},
		{"database from the file named by --config", env{}, []string{"serve", "--config", writeTemp(t, "database_url: mysql://db\n")},
			`--config $FILE: database_url: database URL: unsupported scheme "mysql"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.ReplaceAll(tt.want, "$FILE", fileOf(tt.env, tt.args))
			_, _, err := runCmd(t, tt.env, "", tt.args...)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("%v = %v\nwant an error starting %s", tt.args, err, want)
			}
		})
	}
}

// fileOf returns the YAML file a test names, by --config or in env.
func fileOf(e env, args []string) string {
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			return args[i+1]
		}
	}
	if f := e["WEBHOOK_RECEIVER_CONFIG"]; f != "" {
		return f
	}
	return e["WEBHOOK_RECEIVER_CFG"]
}

// TestCheckNamesTheDatabaseSource checks check's database line for a bad
// database URL from each source.
func TestCheckNamesTheDatabaseSource(t *testing.T) {
	lms := edxtest.New(t)
	badFile := writeTemp(t, "database_url: mysql://db\n")
	tests := []struct {
		name string
		env  env
		args []string
		want string
	}{
		{"environment", env{"WEBHOOK_RECEIVER_DATABASE_URL": "mysql://db"}, nil, "WEBHOOK_RECEIVER_DATABASE_URL"},
		{"Django environment", env{"DJANGO_DATABASE_URL": "mysql://db"}, nil, "DJANGO_DATABASE_URL"},
		{"flag", env{}, []string{"--database-url", "mysql://db"}, "--database-url"},
		{"file", env{"WEBHOOK_RECEIVER_CONFIG": badFile}, nil, "WEBHOOK_RECEIVER_CONFIG " + badFile + ": database_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := baseEnv(t, lms, store.SQLite)
			delete(e, "WEBHOOK_RECEIVER_DATABASE_URL")
			for k, v := range tt.env {
				e[k] = v
			}
			out, _, err := runCmd(t, e, "", append([]string{"check"}, tt.args...)...)
			want := "\nFAIL database     mysql://db (" + tt.want + `): database URL: unsupported scheme "mysql"`
			if err == nil || !strings.Contains(out, want) {
				t.Errorf("check = %v; want a line starting %q:\n%s", err, want[1:], out)
			}
		})
	}
}
