package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// samples are values for the settings without a default, for
// TestEveryNameOfEverySetting.
var samples = map[string]string{
	"metrics_listen":      "127.0.0.1:9100",
	"pprof_listen":        "127.0.0.1:6060",
	"lms.base_url":        "https://lms.example.com",
	"lms.oauth2_key":      "client-id",
	"lms.oauth2_secret":   "client secret",
	"lms.sku_prefix":      "sku/",
	"trusted_proxies":     "10.0.0.0/8",
	"rescue_after":        "10m",
	"retention":           "90d",
	"public_url":          "https://webhooks.lms.example.com",
	"admin.password_hash": "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
}

// TestEveryNameOfEverySetting sets each setting of the table, to a value
// other than its default, through each of its names: its variable, its
// YAML key, its legacy variable and its key in the Django app's file. Each
// gives the same configuration, and names itself as the setting's source.
func TestEveryNameOfEverySetting(t *testing.T) {
	for i := range settings {
		s := &settings[i]
		if _, _, inList := s.listKey(); inList || s.kind == nil {
			continue // the lists' fields: TestLoadEnv, TestLoadFile, TestLoadLegacyFile
		}
		t.Run(s.key, func(t *testing.T) {
			value := other(t, s)
			want := Default()
			if err := s.kind.parse(&want, value); err != nil {
				t.Fatalf("sample %q: %v", value, err)
			}
			load := func(name string, env map[string]string, wantFrom string) {
				t.Helper()
				c, _, err := Load(mapenv(env), Flags{})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				diff(t, c, want)
				if got := c.Source(s.key); got != wantFrom {
					t.Errorf("%s: Source(%q) = %q; want %q", name, s.key, got, wantFrom)
				}
			}
			load(s.env, map[string]string{s.env: value}, s.env)

			path := writeFile(t, "c.yaml", yamlOf(s.key, value, s.key == "trusted_proxies"))
			load("YAML", map[string]string{envFile: path}, envFile+" "+path+": "+s.key)

			if s.legacyEnv != "" {
				v := value
				if s.key == "database_url" {
					v = "postgres://db/x" // dj-database-url's SQLite URLs differ from ours
					want.DatabaseURL = v
				}
				load(s.legacyEnv, map[string]string{s.legacyEnv: v}, s.legacyEnv)
			}
			if s.legacyKey != "" {
				path := writeFile(t, "legacy.yaml", s.legacyKey+": "+quote(value)+"\n")
				load("legacy file", map[string]string{envLegacyFile: path}, envLegacyFile+" "+path+": "+s.legacyKey)
			}
		})
	}
}

// other returns a value of the setting other than its default.
func other(t *testing.T, s *setting) string {
	if v, ok := samples[s.key]; ok {
		return v
	}
	switch s.def {
	case "":
		t.Fatalf("add a sample value for %s to samples", s.key)
	case "true":
		return "false"
	case "false":
		return "true"
	case "text":
		return "json"
	case "info":
		return "debug"
	}
	if strings.HasPrefix(s.def, ":") {
		return "127.0.0.1" + s.def
	}
	if strings.HasPrefix(s.def, "sqlite:") {
		return "sqlite:/var/lib/other.db"
	}
	if strings.HasSuffix(s.def, "s") || strings.HasSuffix(s.def, "m") {
		return "2" + s.def
	}
	if s.def == "admin" {
		return "ops"
	}
	return "1" + s.def
}

// yamlOf writes one setting as a YAML document: "lms.timeout" is key
// timeout of section lms.
func yamlOf(key, value string, list bool) string {
	if list {
		value = "[" + value + "]"
	} else {
		value = quote(value)
	}
	section, key, ok := strings.Cut(key, ".")
	if !ok {
		return section + ": " + value + "\n"
	}
	return section + ":\n  " + key + ": " + value + "\n"
}

// quote quotes a string that YAML would not read as plain text.
func quote(v string) string {
	if strings.ContainsAny(v, ":#$ ") {
		return fmt.Sprintf("%q", v)
	}
	return v
}

// TestDefaultsFromTheTable checks Default against the table, so that a
// default is written once.
func TestDefaultsFromTheTable(t *testing.T) {
	d := Default()
	for i := range settings {
		s := &settings[i]
		if _, _, inList := s.listKey(); inList || s.kind == nil {
			continue
		}
		var want Config
		if s.def != "" {
			s.kind.parse(&want, s.def)
		}
		if got, want := s.kind.show(&d), s.kind.show(&want); got != want {
			t.Errorf("Default() %s = %s; the table says %q", s.key, got, s.def)
		}
		if s.env == "" || (s.def == "" && s.showDef == "" && !s.kind.empty(&d)) {
			t.Errorf("%s: a setting needs a variable, and a default the README can show", s.key)
		}
	}
}

// TestLegacyFileTypoNamesFileAndKey loads the Django app's file with a
// misspelled key under WEBHOOK_RECEIVER_SETTINGS: the warning names the
// key it meant, and the error names the file and the Django app's key of
// the setting left empty.
func TestLegacyFileTypoNamesFileAndKey(t *testing.T) {
	path := writeFile(t, "legacy.yaml", `
WEBHOOK_RECEIVER_SETTINGS:
  shopify:
    shop_domain: "shop.myshopify.com"
    api_kye: "shop-Zebra-42"
  woocommerce:
    source: "https://shop.example.com"
    secert: "wc-Zebra-42"
  woocomerce: {}
WEBHOOK_RECEIVER_LMS_BASE_UR: https://lms.example.com
DATABASES: {}
`)
	_, warnings, err := Load(mapenv(map[string]string{envLegacyFile: path}), Flags{})
	file := envLegacyFile + " " + path
	for _, want := range []string{
		file + ": ignoring unknown key WEBHOOK_RECEIVER_SETTINGS.shopify.api_kye (did you mean api_key?)",
		file + ": ignoring unknown key WEBHOOK_RECEIVER_SETTINGS.woocommerce.secert (did you mean secret?)",
		file + ": ignoring unknown key WEBHOOK_RECEIVER_SETTINGS.woocomerce (did you mean woocommerce?)",
		file + ": ignoring WEBHOOK_RECEIVER_LMS_BASE_UR: webhook-receiver does not use it (did you mean WEBHOOK_RECEIVER_LMS_BASE_URL?)",
		file + ": ignoring DATABASES: webhook-receiver does not use it (set WEBHOOK_RECEIVER_DATABASE_URL instead)",
	} {
		if !contains(warnings, want) {
			t.Errorf("no warning %q in:\n%s", want, strings.Join(warnings, "\n"))
		}
	}
	for _, want := range []string{
		file + `: WEBHOOK_RECEIVER_SETTINGS.shopify.api_key: at least one non-empty secret is required for shop "shop.myshopify.com"`,
		file + `: WEBHOOK_RECEIVER_SETTINGS.woocommerce.secret: at least one non-empty secret is required for site "https://shop.example.com"`,
	} {
		if err == nil || !hasLine(err.Error(), want) {
			t.Errorf("error:\n%v\nwant a line:\n%s", err, want)
		}
	}
	if strings.Contains(fmt.Sprint(err, warnings), "Zebra-42") {
		t.Errorf("a secret is shown:\n%v\n%q", err, warnings)
	}

	t.Run("after the new file's entries", func(t *testing.T) {
		// The new file's shops come first: the legacy shop moves to
		// index 1, and is still named by its file and key.
		newFile := writeFile(t, "new.yaml", "shopify:\n  - shop_domain: new.myshopify.com\n    secrets: [x]\n")
		legacy := writeFile(t, "legacy.yaml", "WEBHOOK_RECEIVER_SETTINGS:\n  shopify:\n    shop_domain: https://legacy.myshopify.com\n    api_key: k\n")
		_, _, err := Load(mapenv(map[string]string{envLegacyFile: legacy, envFile: newFile}), Flags{})
		want := envLegacyFile + " " + legacy + `: WEBHOOK_RECEIVER_SETTINGS.shopify.shop_domain: must be a bare domain such as example.myshopify.com, got "https://legacy.myshopify.com"`
		if err == nil || !hasLine(err.Error(), want) {
			t.Errorf("error:\n%v\nwant a line:\n%s", err, want)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSecretFileKeys checks key_file for every single secret of the YAML
// file: it reads the file, and conflicts with the key itself.
func TestSecretFileKeys(t *testing.T) {
	for i := range settings {
		s := &settings[i]
		if _, _, inList := s.listKey(); inList || s.kind == nil || !s.kind.fileKey() {
			continue // the lists' secrets: TestAPICredentials
		}
		t.Run(s.key, func(t *testing.T) {
			value := samples[s.key]
			secretFile := writeFile(t, "secret", value+"\n")
			c, _ := mustLoad(t, nil, writeFile(t, "c.yaml", yamlOf(s.key+"_file", secretFile, false)))
			if got := s.kind.show(&c); got != "[redacted]" {
				t.Errorf("%s_file not read: %s", s.key, got)
			}
			want := Default()
			s.kind.parse(&want, value)
			diff(t, c, want)
			both := writeFile(t, "c.yaml", yamlOf(s.key, "x", false)+strings.SplitN(yamlOf(s.key+"_file", secretFile, false), "\n", 2)[1])
			_, _, err := Load(mapenv(nil), Flags{File: both})
			if want := fmt.Sprintf("%s and %s_file are both set: use one", s.key, s.key); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("error = %v; want %q", err, want)
			}
		})
	}
}

// TestUnknownVariables checks the warning about variables that look like
// settings but are none.
func TestUnknownVariables(t *testing.T) {
	got := UnknownVariables([]string{
		"PATH", "HOME", "WEBHOOK_RECEIVER_LISTEN", "DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL", "WEBHOOK_RECEIVER_CFG",
		"WEBHOOK_RECEIVER_OAUTH2_SECRET_FILE", "DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY_FILE",
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMIAN", "WEBHOOK_RECEIVER_WORKES", "DJANGO_LOG_LEVEL",
		"DJANGO_SECRET_KEY", "WEBHOOK_RECEIVER_SOMETHING_ELSE", "WEBHOOK_RECEIVER_WORKES",
	})
	want := []string{"environment variables that are not settings, ignored: " +
		"DJANGO_LOG_LEVEL (set WEBHOOK_RECEIVER_LOG_LEVEL instead), DJANGO_SECRET_KEY, " +
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMIAN (did you mean DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN?), " +
		"WEBHOOK_RECEIVER_SOMETHING_ELSE, WEBHOOK_RECEIVER_WORKES (did you mean WEBHOOK_RECEIVER_WORKERS?)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UnknownVariables = %q\nwant %q", got, want)
	}
	if got := UnknownVariables([]string{"PATH", "WEBHOOK_RECEIVER_LISTEN"}); got != nil {
		t.Errorf("UnknownVariables = %q; want none", got)
	}
}

// TestLegacyNames checks that Load lists the Django app's names it read.
func TestLegacyNames(t *testing.T) {
	legacy := writeFile(t, "legacy.yaml", "WEBHOOK_RECEIVER_SKU_PREFIX: x\n")
	c, _ := mustLoad(t, map[string]string{
		"WEBHOOK_RECEIVER_CFG":                                "",
		"DJANGO_DATABASE_URL":                                 "sqlite:///x.db",
		"DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL":                "https://lms.example.com",
		"WEBHOOK_RECEIVER_OAUTH2_KEY":                         "new",
		"DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_KEY":              "legacy, unread",
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SOURCE": "https://shop.example.com",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET":                 "s",
	}, "")
	want := []string{"DJANGO_DATABASE_URL", "DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL", "DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SOURCE"}
	if got := c.LegacyNames(); !reflect.DeepEqual(got, want) {
		t.Errorf("LegacyNames() = %q; want %q", got, want)
	}
	c, _ = mustLoad(t, map[string]string{"WEBHOOK_RECEIVER_CFG": legacy}, "")
	if got := c.LegacyNames(); !reflect.DeepEqual(got, []string{"WEBHOOK_RECEIVER_CFG"}) {
		t.Errorf("LegacyNames() = %q; want the file's variable", got)
	}
	if got := Default().LegacyNames(); got != nil {
		t.Errorf("Default().LegacyNames() = %q", got)
	}
}
