package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestLoadPrecedence checks defaults < YAML file < environment < flags for
// the settings that flags can set, and that the file named by --config
// replaces WEBHOOK_RECEIVER_CONFIG.
func TestLoadPrecedence(t *testing.T) {
	file := "listen: 127.0.0.1:1001\ndatabase_url: sqlite:/yaml.db\n"
	other := "listen: 127.0.0.1:1002\ndatabase_url: sqlite:/other.db\n"
	tests := []struct {
		name       string
		env        map[string]string // "$FILE" and "$OTHER" are replaced by the files' paths
		flags      Flags
		wantListen string
		wantDB     string
		wantSource string // DatabaseURLSource
	}{
		{"defaults", nil, Flags{}, ":8000", "sqlite:webhook-receiver.db", "WEBHOOK_RECEIVER_DATABASE_URL"},
		{"yaml", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "$FILE"}, Flags{},
			"127.0.0.1:1001", "sqlite:/yaml.db", "WEBHOOK_RECEIVER_CONFIG $FILE: database_url"},
		{"--config replaces WEBHOOK_RECEIVER_CONFIG", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "$OTHER"}, Flags{File: "$FILE"},
			"127.0.0.1:1001", "sqlite:/yaml.db", "--config $FILE: database_url"},
		{"env over yaml", map[string]string{
			"WEBHOOK_RECEIVER_CONFIG": "$FILE", "WEBHOOK_RECEIVER_LISTEN": "127.0.0.1:2001", "WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:/env.db",
		}, Flags{}, "127.0.0.1:2001", "sqlite:/env.db", "WEBHOOK_RECEIVER_DATABASE_URL"},
		{"legacy env over yaml", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "$FILE", "DJANGO_DATABASE_URL": "sqlite:///django.db"},
			Flags{}, "127.0.0.1:1001", "sqlite:django.db", "DJANGO_DATABASE_URL"},
		{"flags over env and yaml", map[string]string{
			"WEBHOOK_RECEIVER_CONFIG": "$FILE", "WEBHOOK_RECEIVER_LISTEN": "127.0.0.1:2001", "DJANGO_DATABASE_URL": "sqlite:///django.db",
		}, Flags{Listen: "127.0.0.1:3001", DatabaseURL: "sqlite:/flag.db"}, "127.0.0.1:3001", "sqlite:/flag.db", "--database-url"},
		{"a flag over a bad env value", map[string]string{"WEBHOOK_RECEIVER_LISTEN": "not-an-address"},
			Flags{Listen: "127.0.0.1:3001"}, "127.0.0.1:3001", "sqlite:webhook-receiver.db", "WEBHOOK_RECEIVER_DATABASE_URL"},
		{"a flag over a bad yaml value", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "$BAD"},
			Flags{Listen: "127.0.0.1:3001"}, "127.0.0.1:3001", "sqlite:webhook-receiver.db", "WEBHOOK_RECEIVER_DATABASE_URL"},
		{"one flag leaves the other setting alone", map[string]string{"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:/env.db"},
			Flags{Listen: "127.0.0.1:3001"}, "127.0.0.1:3001", "sqlite:/env.db", "WEBHOOK_RECEIVER_DATABASE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			paths := strings.NewReplacer(
				"$FILE", writeFile(t, "file.yaml", file),
				"$OTHER", writeFile(t, "other.yaml", other),
				"$BAD", writeFile(t, "bad.yaml", "listen: 8000\n"),
			)
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = paths.Replace(v)
			}
			tt.flags.File = paths.Replace(tt.flags.File)
			c, _, err := Load(mapenv(env), tt.flags)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.Listen != tt.wantListen || c.DatabaseURL != tt.wantDB {
				t.Errorf("listen %q, database %q; want %q, %q", c.Listen, c.DatabaseURL, tt.wantListen, tt.wantDB)
			}
			if got, want := c.DatabaseURLSource(), paths.Replace(tt.wantSource); got != want {
				t.Errorf("DatabaseURLSource() = %q; want %q", got, want)
			}
		})
	}
}

// TestErrorsNameTheSource checks that an error names where the faulty
// value came from: a flag, an environment variable, or a file and its key.
func TestErrorsNameTheSource(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string // "$FILE" is replaced by the path of file
		file  string
		flags Flags
		want  string // "$FILE" is replaced by the path of file
	}{
		{"bad --listen over a good env value", map[string]string{"WEBHOOK_RECEIVER_LISTEN": "127.0.0.1:2001"}, "",
			Flags{Listen: "8000"}, `--listen: must be host:port or :port, got "8000"`},
		{"env", map[string]string{"WEBHOOK_RECEIVER_LISTEN": "8000"}, "", Flags{},
			`WEBHOOK_RECEIVER_LISTEN: must be host:port or :port, got "8000"`},
		{"legacy env", map[string]string{"DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL": "lms.example.com"}, "", Flags{},
			`DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL: must be an absolute http or https URL, got "lms.example.com"`},
		{"yaml range", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "$FILE"}, "max_attempts: 0\n", Flags{},
			`WEBHOOK_RECEIVER_CONFIG $FILE: max_attempts: must be at least 1, got "0"`},
		{"yaml named by --config", nil, "lms:\n  batch_size: 0\n", Flags{File: "$FILE"},
			`--config $FILE: lms.batch_size: must be at least 1, got "0"`},
		{"env over a good yaml value", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "$FILE", "WEBHOOK_RECEIVER_WORKERS": "-1"},
			"workers: 2\n", Flags{}, `WEBHOOK_RECEIVER_WORKERS: must be 0 or more, got "-1"`},
		{"env that does not parse leaves the file's value", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "$FILE", "WEBHOOK_RECEIVER_MAX_ATTEMPTS": "many"},
			"max_attempts: 0\n", Flags{}, `WEBHOOK_RECEIVER_CONFIG $FILE: max_attempts: must be at least 1, got "0"`},
		{"yaml shop", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "$FILE"}, "shopify:\n  - shop_domain: a.myshopify.com\n", Flags{},
			`WEBHOOK_RECEIVER_CONFIG $FILE: shopify[0].secrets: at least one non-empty secret is required for shop "a.myshopify.com"`},
		{"legacy file", map[string]string{"WEBHOOK_RECEIVER_CFG": "$FILE"}, "WEBHOOK_RECEIVER_LMS_BASE_URL: lms.example.com\n", Flags{},
			`WEBHOOK_RECEIVER_CFG $FILE: WEBHOOK_RECEIVER_LMS_BASE_URL: must be an absolute http or https URL, got "lms.example.com"`},
		{"rescue after names the LMS timeout", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "$FILE"}, "rescue_after: 1m\n", Flags{},
			`WEBHOOK_RECEIVER_CONFIG $FILE: rescue_after: must be longer than a job may run (4 × WEBHOOK_RECEIVER_LMS_TIMEOUT = 2m0s), got "1m0s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tt.file)
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = strings.ReplaceAll(v, "$FILE", path)
			}
			tt.flags.File = strings.ReplaceAll(tt.flags.File, "$FILE", path)
			_, _, err := Load(mapenv(env), tt.flags)
			want := strings.ReplaceAll(tt.want, "$FILE", path)
			if err == nil || !hasLine(err.Error(), want) {
				t.Errorf("error:\n%v\nwant a line:\n%s", err, want)
			}
		})
	}
}

// TestYAMLErrorsNameTheKey checks the errors of decoding both YAML files:
// each names the variable that named the file, the file and the key.
func TestYAMLErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name   string
		legacy bool // the file is WEBHOOK_RECEIVER_CFG, not WEBHOOK_RECEIVER_CONFIG
		file   string
		want   []string // lines of the error, after "<variable> <path>: "
	}{
		{"boolean", false, "lms:\n  auto_enroll: maybe\n",
			[]string{`lms.auto_enroll: line 2: invalid boolean "maybe" (use true/false, yes/no, on/off or 1/0)`}},
		{"integer", false, "max_attempts: many\n", []string{`max_attempts: line 1: invalid integer "many"`}},
		{"integer of the wrong kind", false, "database_max_conns: [1]\n", []string{`database_max_conns: line 1: expected an integer`}},
		{"number", false, "lms:\n  rate_limit: fast\n", []string{`lms.rate_limit: line 2: invalid number "fast"`}},
		{"string", false, "listen: [a, b]\n", []string{`listen: line 1: expected a string`}},
		{"list", false, "trusted_proxies: 10.0.0.0/8\n", []string{`trusted_proxies: line 1: expected a list of strings`}},
		{"duration", false, "rescue_after: 10\n",
			[]string{`rescue_after: invalid duration "10" (use a Go duration such as 30s or 3m)`}},
		{"section", false, "lms: 5\n", []string{`lms: line 1: expected a mapping`}},
		{"entries", false, "shopify: {a: b}\n", []string{`shopify: line 1: expected a list`}},
		{"unknown key", false, "lms:\n  base_url: https://lms.example.com\n  foo: 1\n", []string{`line 3: unknown key "foo" in lms`}},
		{"unknown top-level key", false, "port: 80\n", []string{`line 1: unknown key "port"`}},
		{"unknown key of an entry", false, "shopify:\n  - shop_domain: a.myshopify.com\n    secret: x\n",
			[]string{`line 3: unknown key "secret" in shopify[0]`}},
		{"key set twice", false, "workers: 1\nworkers: 2\n", []string{`workers: line 2: set again (first set on line 1)`}},
		{"every problem at once", false, "workers: x\nlog_format: [json]\nlms:\n  timeout: {a: 1}\n  colour: blue\n", []string{
			`workers: line 1: invalid integer "x"`, `log_format: line 2: expected a string`,
			`lms.timeout: line 4: expected a string`, `line 5: unknown key "colour" in lms`,
		}},
		{"not a mapping", false, "- a\n- b\n", []string{`line 1: expected a mapping`}},
		{"legacy boolean", true, "WEBHOOK_RECEIVER_AUTO_ENROLL: maybe\n",
			[]string{`WEBHOOK_RECEIVER_AUTO_ENROLL: line 1: invalid boolean "maybe" (use true/false, yes/no, on/off or 1/0)`}},
		{"legacy string", true, "WEBHOOK_RECEIVER_LMS_BASE_URL: [x]\n", []string{`WEBHOOK_RECEIVER_LMS_BASE_URL: line 1: expected a string`}},
		{"legacy secret", true, "WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET: {a: b}\n",
			[]string{`WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET: line 1: expected a string`}},
		{"legacy settings", true, "WEBHOOK_RECEIVER_SETTINGS: 5\n", []string{`WEBHOOK_RECEIVER_SETTINGS: line 1: expected a mapping`}},
		{"legacy shop", true, "WEBHOOK_RECEIVER_SETTINGS:\n  shopify:\n    shop_domain: [x]\n",
			[]string{`WEBHOOK_RECEIVER_SETTINGS.shopify.shop_domain: line 3: expected a string`}},
		{"legacy site", true, "WEBHOOK_RECEIVER_SETTINGS:\n  woocommerce:\n    require_payment: maybe\n",
			[]string{`WEBHOOK_RECEIVER_SETTINGS.woocommerce.require_payment: line 3: invalid boolean "maybe" (use true/false, yes/no, on/off or 1/0)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tt.file)
			name := "WEBHOOK_RECEIVER_CONFIG"
			if tt.legacy {
				name = "WEBHOOK_RECEIVER_CFG"
			}
			_, _, err := Load(mapenv(map[string]string{name: path}), Flags{})
			if err == nil {
				t.Fatalf("Load succeeded, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if want := name + " " + path + ": " + w; !hasLine(err.Error(), want) {
					t.Errorf("error:\n%v\nwant a line:\n%s", err, want)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) {
				t.Errorf("%d errors; want %d:\n%v", n, len(tt.want), err)
			}
		})
	}

	t.Run("merge keys", func(t *testing.T) {
		path := writeFile(t, "c.yaml", `
defaults: &defaults
  secrets: [shared]
shopify:
  - <<: *defaults
    shop_domain: a.myshopify.com
  - shop_domain: b.myshopify.com
    secrets: [own]
    <<: *defaults
`)
		_, _, err := Load(mapenv(nil), Flags{File: path})
		if want := "--config " + path + `: line 2: unknown key "defaults"`; err == nil || err.Error() != want {
			t.Fatalf("error = %v; want %s", err, want)
		}
		// With the anchor on a key we know, the merges apply and a
		// mapping's own keys win.
		path = writeFile(t, "c.yaml", `
shopify:
  - &defaults
    shop_domain: a.myshopify.com
    secrets: [shared]
  - <<: *defaults
    shop_domain: b.myshopify.com
  - shop_domain: c.myshopify.com
    secrets: [own]
    <<: *defaults
`)
		c, _ := mustLoad(t, nil, path)
		want := []Shop{
			{Domain: "a.myshopify.com", Secrets: []Secret{"shared"}},
			{Domain: "b.myshopify.com", Secrets: []Secret{"shared"}},
			{Domain: "c.myshopify.com", Secrets: []Secret{"own"}},
		}
		if !reflect.DeepEqual(c.Shopify, want) {
			t.Errorf("Shopify = %v %q", c.Shopify, secretValues(c))
		}
	})

	t.Run("syntax", func(t *testing.T) {
		path := writeFile(t, "c.yaml", "lms: [\n")
		_, _, err := Load(mapenv(nil), Flags{File: path})
		if err == nil || !strings.HasPrefix(err.Error(), "--config "+path+": ") || strings.Contains(err.Error(), ": yaml: ") {
			t.Errorf("error = %v; want it to start with --config and the path", err)
		}
	})
}

func hasLine(s, line string) bool {
	for l := range strings.SplitSeq(s, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestDatabaseMaxConnsAndRescueAfter covers the two settings of the job
// queue's database use: where they load from and what they accept.
func TestDatabaseMaxConnsAndRescueAfter(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		file      string
		wantConns int
		wantAfter time.Duration // RescueAfter
		wantDelay time.Duration // RescueDelay()
		wantErr   string
	}{
		{name: "defaults", wantConns: 10, wantDelay: 4*30*time.Second + 30*time.Second},
		{name: "env", env: map[string]string{"WEBHOOK_RECEIVER_DATABASE_MAX_CONNS": "3", "WEBHOOK_RECEIVER_RESCUE_AFTER": "10m"},
			wantConns: 3, wantAfter: 10 * time.Minute, wantDelay: 10 * time.Minute},
		{name: "yaml", file: "database_max_conns: 25\nrescue_after: 1h\n",
			wantConns: 25, wantAfter: time.Hour, wantDelay: time.Hour},
		{name: "env over yaml", env: map[string]string{"WEBHOOK_RECEIVER_DATABASE_MAX_CONNS": "2", "WEBHOOK_RECEIVER_RESCUE_AFTER": "3m"},
			file: "database_max_conns: 25\nrescue_after: 1h\n", wantConns: 2, wantAfter: 3 * time.Minute, wantDelay: 3 * time.Minute},
		{name: "rescue after 0 picks the job timeout and 30 s", file: "rescue_after: 0s\nlms:\n  timeout: 10s\n",
			wantConns: 10, wantDelay: 70 * time.Second},
		{name: "rescue after just over the job timeout", env: map[string]string{"WEBHOOK_RECEIVER_LMS_TIMEOUT": "10s", "WEBHOOK_RECEIVER_RESCUE_AFTER": "41s"},
			wantConns: 10, wantAfter: 41 * time.Second, wantDelay: 41 * time.Second},
		{name: "one connection", env: map[string]string{"WEBHOOK_RECEIVER_DATABASE_MAX_CONNS": "1"}, wantConns: 1, wantDelay: 150 * time.Second},

		{name: "env conns 0", env: map[string]string{"WEBHOOK_RECEIVER_DATABASE_MAX_CONNS": "0"},
			wantErr: `WEBHOOK_RECEIVER_DATABASE_MAX_CONNS: must be at least 1, got "0"`},
		{name: "env conns not a number", env: map[string]string{"WEBHOOK_RECEIVER_DATABASE_MAX_CONNS": "ten"},
			wantErr: `WEBHOOK_RECEIVER_DATABASE_MAX_CONNS: invalid integer "ten"`},
		{name: "yaml conns negative", file: "database_max_conns: -5\n",
			wantErr: `WEBHOOK_RECEIVER_CONFIG $FILE: database_max_conns: must be at least 1, got "-5"`},
		{name: "env rescue equal to the job timeout", env: map[string]string{"WEBHOOK_RECEIVER_LMS_TIMEOUT": "10s", "WEBHOOK_RECEIVER_RESCUE_AFTER": "40s"},
			wantErr: `WEBHOOK_RECEIVER_RESCUE_AFTER: must be longer than a job may run (4 × WEBHOOK_RECEIVER_LMS_TIMEOUT = 40s), got "40s"`},
		{name: "env rescue negative", env: map[string]string{"WEBHOOK_RECEIVER_RESCUE_AFTER": "-1m"},
			wantErr: `WEBHOOK_RECEIVER_RESCUE_AFTER: must be longer than a job may run (4 × WEBHOOK_RECEIVER_LMS_TIMEOUT = 2m0s), got "-1m0s"`},
		{name: "env rescue not a duration", env: map[string]string{"WEBHOOK_RECEIVER_RESCUE_AFTER": "600"},
			wantErr: `WEBHOOK_RECEIVER_RESCUE_AFTER: invalid duration "600" (use a Go duration such as 30s or 3m)`},
		{name: "yaml rescue under a longer yaml timeout", file: "rescue_after: 5m\nlms:\n  timeout: 2m\n",
			wantErr: `WEBHOOK_RECEIVER_CONFIG $FILE: rescue_after: must be longer than a job may run (4 × WEBHOOK_RECEIVER_LMS_TIMEOUT = 8m0s), got "5m0s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			path := ""
			if tt.file != "" {
				path = writeFile(t, "c.yaml", tt.file)
				env["WEBHOOK_RECEIVER_CONFIG"] = path
			}
			c, _, err := Load(mapenv(env), Flags{})
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "$FILE", path)
				if err == nil || !hasLine(err.Error(), want) {
					t.Errorf("error:\n%v\nwant a line:\n%s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.DatabaseMaxConns != tt.wantConns || c.RescueAfter != tt.wantAfter || c.RescueDelay() != tt.wantDelay {
				t.Errorf("DatabaseMaxConns %d, RescueAfter %s, RescueDelay() %s; want %d, %s, %s",
					c.DatabaseMaxConns, c.RescueAfter, c.RescueDelay(), tt.wantConns, tt.wantAfter, tt.wantDelay)
			}
		})
	}
}
