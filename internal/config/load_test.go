package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func mapenv(m map[string]string) func(string) string {
	return func(name string) string { return m[name] }
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, env map[string]string, file string) (Config, []string) {
	t.Helper()
	c, warnings, err := Load(mapenv(env), Flags{File: file})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c, warnings
}

// diff compares two configurations, except for where their settings came
// from (see TestSources).
func diff(t *testing.T, got, want Config) {
	t.Helper()
	got.from, want.from = nil, nil
	if !reflect.DeepEqual(got, want) {
		// Secrets print redacted, so compare them by value too.
		t.Errorf("config differs\n got: %+v\nwant: %+v\n got secrets: %q\nwant secrets: %q",
			got, want, secretValues(got), secretValues(want))
	}
}

func secretValues(c Config) []string {
	out := []string{c.LMS.OAuth2Secret.Value()}
	for _, s := range c.Shopify {
		for _, x := range s.Secrets {
			out = append(out, s.Domain+"="+x.Value())
		}
	}
	for _, s := range c.WooCommerce {
		for _, x := range s.Secrets {
			out = append(out, s.Source+"="+x.Value())
		}
	}
	return out
}

func TestLoadDefaults(t *testing.T) {
	c, warnings := mustLoad(t, nil, "")
	diff(t, c, Default())
	want := []string{
		"no Shopify shop or WooCommerce site is configured: every webhook will be rejected with 403",
		"no LMS is configured (WEBHOOK_RECEIVER_LMS_BASE_URL): enrollments will wait",
	}
	if !reflect.DeepEqual(warnings, want) {
		t.Errorf("warnings = %q, want %q", warnings, want)
	}
	d := Default()
	if d.Listen != ":8000" || d.DatabaseURL != "sqlite:webhook-receiver.db" || d.RetryDelay != 3*time.Minute ||
		d.MaxAttempts != 25 || d.MaxBodyBytes != 5<<20 || d.Workers != 4 || d.LogFormat != "text" ||
		d.LogLevel != "info" || d.LMS.RateLimit != 2 || d.LMS.Timeout != 30*time.Second ||
		!d.LMS.AutoEnroll || !d.LMS.SendEnrollmentEmail || d.LMS.BaseURL != "" || d.TrustedProxies != nil {
		t.Errorf("Default() = %+v", d)
	}
}

// TestLoadEnv checks that every variable, new or legacy, lands in its field.
func TestLoadEnv(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want func(*Config)
	}{
		{"listen", map[string]string{"WEBHOOK_RECEIVER_LISTEN": "127.0.0.1:9000"},
			func(c *Config) { c.Listen = "127.0.0.1:9000" }},
		{"database url", map[string]string{"WEBHOOK_RECEIVER_DATABASE_URL": "postgres://db/x"},
			func(c *Config) { c.DatabaseURL = "postgres://db/x" }},
		{"legacy database url", map[string]string{"DJANGO_DATABASE_URL": "postgres://db/legacy"},
			func(c *Config) { c.DatabaseURL = "postgres://db/legacy" }},
		{"legacy lms", map[string]string{
			"DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL":          "https://lms.example.com",
			"DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_KEY":        "legacy-key",
			"DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET":     "legacy-secret",
			"DJANGO_WEBHOOK_RECEIVER_SKU_PREFIX":            "sku/",
			"DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL":           "false",
			"DJANGO_WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL": "False",
		}, func(c *Config) {
			c.LMS.BaseURL = "https://lms.example.com"
			c.LMS.OAuth2Key = "legacy-key"
			c.LMS.OAuth2Secret = "legacy-secret"
			c.LMS.SKUPrefix = "sku/"
			c.LMS.AutoEnroll = false
			c.LMS.SendEnrollmentEmail = false
		}},
		{"new lms", map[string]string{
			"WEBHOOK_RECEIVER_LMS_BASE_URL":          "https://lms.example.com",
			"WEBHOOK_RECEIVER_OAUTH2_KEY":            "key",
			"WEBHOOK_RECEIVER_OAUTH2_SECRET":         "secret",
			"WEBHOOK_RECEIVER_SKU_PREFIX":            "p/",
			"WEBHOOK_RECEIVER_AUTO_ENROLL":           "no",
			"WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL": "0",
			"WEBHOOK_RECEIVER_LMS_RATE_LIMIT":        "0.5",
			"WEBHOOK_RECEIVER_LMS_TIMEOUT":           "10s",
			"WEBHOOK_RECEIVER_LMS_BATCH_SIZE":        "20",
		}, func(c *Config) {
			c.LMS = LMS{BaseURL: "https://lms.example.com", OAuth2Key: "key", OAuth2Secret: "secret",
				SKUPrefix: "p/", RateLimit: 0.5, Timeout: 10 * time.Second, BatchSize: 20}
		}},
		{"legacy shop and site", map[string]string{
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN":         "Example.myshopify.com",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY":             "foobar",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SOURCE":          "https://example.com",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SECRET":          "wcsecret",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_REQUIRE_PAYMENT": "true",
		}, func(c *Config) {
			c.Shopify = []Shop{{Domain: "example.myshopify.com", Secrets: []Secret{"foobar"}}}
			c.WooCommerce = []Site{{Source: "https://example.com", Secrets: []Secret{"wcsecret"}, RequirePayment: true}}
		}},
		// WooCommerce generates secrets with commas and spaces: they are
		// taken whole, never split (rotation is the YAML file's list).
		{"new shop and site, secrets taken whole", map[string]string{
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":         " a.myshopify.com ",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET":              "current, previous",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":          "https://shop.example.com/",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET":          " one,two, ",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT": "on",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_ACCEPT_UNPAID":   "yes",
		}, func(c *Config) {
			c.Shopify = []Shop{{Domain: "a.myshopify.com", Secrets: []Secret{"current, previous"}}}
			c.WooCommerce = []Site{{Source: "https://shop.example.com/", Secrets: []Secret{" one,two, "},
				RequirePayment: true, AcceptUnpaid: true}}
		}},
		{"runtime", map[string]string{
			"WEBHOOK_RECEIVER_RETRY_DELAY":     "1m30s",
			"WEBHOOK_RECEIVER_MAX_ATTEMPTS":    "3",
			"WEBHOOK_RECEIVER_MAX_BODY_BYTES":  "1024",
			"WEBHOOK_RECEIVER_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1,::1,192.168.1.7/24",
			"WEBHOOK_RECEIVER_WORKERS":         "0",
			"WEBHOOK_RECEIVER_LOG_FORMAT":      "JSON",
			"WEBHOOK_RECEIVER_LOG_LEVEL":       "debug",
		}, func(c *Config) {
			c.RetryDelay = 90 * time.Second
			c.MaxAttempts = 3
			c.MaxBodyBytes = 1024
			c.TrustedProxies = []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
				netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("192.168.1.0/24"),
			}
			c.Workers = 0
			c.LogFormat = "json"
			c.LogLevel = "debug"
		}},
		{"empty values are unset", map[string]string{
			"WEBHOOK_RECEIVER_LISTEN": "", "WEBHOOK_RECEIVER_MAX_ATTEMPTS": "", "WEBHOOK_RECEIVER_AUTO_ENROLL": " ",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET": "",
		}, func(*Config) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := mustLoad(t, tt.env, "")
			want := Default()
			tt.want(&want)
			diff(t, got, want)
		})
	}
}

func TestLoadNewNameWins(t *testing.T) {
	tests := []struct {
		newName, legacyName string
		get                 func(Config) string
	}{
		{"WEBHOOK_RECEIVER_DATABASE_URL", "DJANGO_DATABASE_URL", func(c Config) string { return c.DatabaseURL }},
		{"WEBHOOK_RECEIVER_LMS_BASE_URL", "DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL", func(c Config) string { return c.LMS.BaseURL }},
		{"WEBHOOK_RECEIVER_OAUTH2_KEY", "DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_KEY", func(c Config) string { return c.LMS.OAuth2Key }},
		{"WEBHOOK_RECEIVER_OAUTH2_SECRET", "DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET", func(c Config) string { return c.LMS.OAuth2Secret.Value() }},
		{"WEBHOOK_RECEIVER_SKU_PREFIX", "DJANGO_WEBHOOK_RECEIVER_SKU_PREFIX", func(c Config) string { return c.LMS.SKUPrefix }},
		{"WEBHOOK_RECEIVER_AUTO_ENROLL", "DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL", func(c Config) string { return fmt.Sprint(c.LMS.AutoEnroll) }},
		{"WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL", "DJANGO_WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL", func(c Config) string { return fmt.Sprint(c.LMS.SendEnrollmentEmail) }},
	}
	for _, tt := range tests {
		t.Run(tt.newName, func(t *testing.T) {
			newValue, legacyValue := "https://new.example.com", "https://legacy.example.com"
			if strings.Contains(tt.newName, "ENROLL") {
				newValue, legacyValue = "true", "false"
			}
			c, _ := mustLoad(t, map[string]string{tt.newName: newValue, tt.legacyName: legacyValue}, "")
			if got := tt.get(c); got != newValue {
				t.Errorf("got %q, want the new name's %q", got, newValue)
			}
		})
	}

	t.Run("shop", func(t *testing.T) {
		c, _ := mustLoad(t, map[string]string{
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":                 "new.myshopify.com",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN": "legacy.myshopify.com",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET":                      "new",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY":     "legacy",
		}, "")
		want := []Shop{{Domain: "new.myshopify.com", Secrets: []Secret{"new"}}}
		if !reflect.DeepEqual(c.Shopify, want) {
			t.Errorf("Shopify = %v %q", c.Shopify, secretValues(c))
		}
	})
}

const newFile = `
listen: "127.0.0.1:8080"
database_url: "sqlite:/var/lib/webhook-receiver/data.db"
lms:
  base_url: "https://lms.example.com"
  oauth2_key: "client-id"
  oauth2_secret: "client-secret"
  sku_prefix: "sku/"
  auto_enroll: yes
  send_enrollment_email: 0
  rate_limit: 5
  timeout: 45s
shopify:
  - shop_domain: "First.myshopify.com"
    secrets: ["current", "previous"]
  - shop_domain: "second.myshopify.com"
    secrets: ["only"]
woocommerce:
  - source: "https://shop.example.com/"
    secrets: ["wc-current"]
    require_payment: true
    accept_unpaid: on
courses:
  - sku: " PY101"
    course_id: course-v1:Org+Py+1
    mode: verified
  - course_id: course-v1:Org+Cert+1
    mode: professional
registration_wait: 7d
retry_delay: 5m
max_attempts: 10
max_body_bytes: 1048576
trusted_proxies: ["10.0.0.0/8", "127.0.0.1"]
workers: 2
log_format: json
log_level: warn
metrics_listen: 127.0.0.1:9100
public_url: https://webhooks.lms.example.com/
shop_check_every: 5m
reconcile_every: 0
reconcile_lookback: 24h
admin:
  user: ops
  password_hash: $2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy
`

func TestLoadFile(t *testing.T) {
	want := Config{
		Listen:      "127.0.0.1:8080",
		DatabaseURL: "sqlite:/var/lib/webhook-receiver/data.db", DatabaseMaxConns: 10,
		LMS: LMS{BaseURL: "https://lms.example.com", OAuth2Key: "client-id", OAuth2Secret: "client-secret",
			SKUPrefix: "sku/", AutoEnroll: true, SendEnrollmentEmail: false, RateLimit: 5, Timeout: 45 * time.Second, BatchSize: 50},
		Shopify: []Shop{
			{Domain: "first.myshopify.com", Secrets: []Secret{"current", "previous"}},
			{Domain: "second.myshopify.com", Secrets: []Secret{"only"}},
		},
		WooCommerce: []Site{{Source: "https://shop.example.com/", Secrets: []Secret{"wc-current"},
			RequirePayment: true, AcceptUnpaid: true}},
		Courses: []Course{{SKU: "PY101", CourseID: "course-v1:Org+Py+1", Mode: "verified"},
			{CourseID: "course-v1:Org+Cert+1", Mode: "professional"}},
		RegistrationWait: 7 * 24 * time.Hour,
		RetryDelay:       5 * time.Minute,
		MaxAttempts:      10,
		MaxBodyBytes:     1 << 20,
		MaxInflightBytes: 32 << 20,
		TrustedProxies:   []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")},
		Workers:          2,
		LogFormat:        "json",
		LogLevel:         "warn",
		MetricsListen:    "127.0.0.1:9100",
		Admin:            Admin{User: "ops", PasswordHash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		PublicURL:        "https://webhooks.lms.example.com/",
		ShopCheckEvery:   5 * time.Minute, ReconcileLookback: 24 * time.Hour,
	}
	path := writeFile(t, "config.yaml", newFile)

	t.Run("argument", func(t *testing.T) {
		got, warnings := mustLoad(t, nil, path)
		diff(t, got, want)
		if len(warnings) != 0 {
			t.Errorf("warnings = %q", warnings)
		}
	})
	t.Run("WEBHOOK_RECEIVER_CONFIG", func(t *testing.T) {
		got, _ := mustLoad(t, map[string]string{"WEBHOOK_RECEIVER_CONFIG": path}, "")
		diff(t, got, want)
	})
	t.Run("argument wins over WEBHOOK_RECEIVER_CONFIG", func(t *testing.T) {
		other := writeFile(t, "other.yaml", "listen: ':1'\n")
		got, _ := mustLoad(t, map[string]string{"WEBHOOK_RECEIVER_CONFIG": other}, path)
		diff(t, got, want)
	})
	t.Run("env wins over file", func(t *testing.T) {
		got, _ := mustLoad(t, map[string]string{
			"WEBHOOK_RECEIVER_MAX_ATTEMPTS":                 "7",
			"DJANGO_WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL": "true",
		}, path)
		w := want
		w.MaxAttempts = 7
		w.LMS.SendEnrollmentEmail = true
		diff(t, got, w)
	})
	t.Run("empty file", func(t *testing.T) {
		got, _ := mustLoad(t, nil, writeFile(t, "empty.yaml", ""))
		diff(t, got, Default())
	})
	t.Run("partial file keeps defaults", func(t *testing.T) {
		got, _ := mustLoad(t, nil, writeFile(t, "partial.yaml", "workers: 0\nlms:\n  rate_limit: 0\n"))
		w := Default()
		w.Workers = 0
		w.LMS.RateLimit = 0
		diff(t, got, w)
	})
	t.Run("oauth2_secret_file", func(t *testing.T) {
		secret := writeFile(t, "secret", "from-file\n")
		got, _ := mustLoad(t, nil, writeFile(t, "c.yaml", "lms:\n  oauth2_secret_file: "+secret+"\n"))
		if got.LMS.OAuth2Secret.Value() != "from-file" {
			t.Errorf("OAuth2Secret = %q", got.LMS.OAuth2Secret.Value())
		}
	})
}

const legacyFile = `
DEBUG: false
SECRET_KEY: "django-Zebra-42"
ALLOWED_HOSTS: ["webhooks.example.com"]
DATABASES:
  default:
    ENGINE: django.db.backends.mysql
    PASSWORD: "mysql-Zebra-42"
WEBHOOK_RECEIVER_LMS_BASE_URL: "https://lms.example.com"
WEBHOOK_RECEIVER_EDX_OAUTH2_KEY: "legacy-key"
WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET: "legacy-secret"
WEBHOOK_RECEIVER_SKU_PREFIX: "sku/"
WEBHOOK_RECEIVER_AUTO_ENROLL: false
WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL: "no"
WEBHOOK_RECEIVER_SETTINGS:
  shopify:
    shop_domain: "legacy.myshopify.com"
    api_key: "shop-secret"
    send_email: false
  woocommerce:
    source: "https://shop.example.com"
    secret: "wc-secret"
    require_payment: true
    colour: blue
`

func TestLoadLegacyFile(t *testing.T) {
	path := writeFile(t, "legacy.yaml", legacyFile)
	got, warnings := mustLoad(t, map[string]string{"WEBHOOK_RECEIVER_CFG": path}, "")

	want := Default()
	want.LMS.BaseURL = "https://lms.example.com"
	want.LMS.OAuth2Key = "legacy-key"
	want.LMS.OAuth2Secret = "legacy-secret"
	want.LMS.SKUPrefix = "sku/"
	want.LMS.AutoEnroll = false
	want.LMS.SendEnrollmentEmail = false
	want.Shopify = []Shop{{Domain: "legacy.myshopify.com", Secrets: []Secret{"shop-secret"}}}
	want.WooCommerce = []Site{{Source: "https://shop.example.com", Secrets: []Secret{"wc-secret"}, RequirePayment: true}}
	diff(t, got, want)

	all := strings.Join(warnings, "\n")
	for _, key := range []string{"ignoring DEBUG", "ignoring SECRET_KEY", "ignoring ALLOWED_HOSTS", "ignoring DATABASES",
		"ignoring unknown key WEBHOOK_RECEIVER_SETTINGS.woocommerce.colour"} {
		if !strings.Contains(all, key) {
			t.Errorf("no warning about %s in:\n%s", key, all)
		}
	}
	if strings.Contains(all, "send_email") {
		t.Errorf("send_email is a known key, but warned about:\n%s", all)
	}
	if strings.Contains(all, "Zebra-42") || strings.Contains(all, "blue") {
		t.Errorf("warnings show a value:\n%s", all)
	}

	t.Run("new file and env win", func(t *testing.T) {
		newPath := writeFile(t, "new.yaml", `
lms:
  oauth2_key: new-key
shopify:
  - shop_domain: LEGACY.myshopify.com
    secrets: [new-shop-secret]
  - shop_domain: other.myshopify.com
    secrets: [other]
`)
		got, _ := mustLoad(t, map[string]string{
			"WEBHOOK_RECEIVER_CFG":                path,
			"WEBHOOK_RECEIVER_CONFIG":             newPath,
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET": "env-wc-secret",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE": "https://SHOP.example.com/",
			"WEBHOOK_RECEIVER_SKU_PREFIX":         "env/",
		}, "")
		w := want
		w.LMS.OAuth2Key = "new-key"
		w.LMS.SKUPrefix = "env/"
		w.Shopify = []Shop{
			{Domain: "legacy.myshopify.com", Secrets: []Secret{"new-shop-secret"}},
			{Domain: "other.myshopify.com", Secrets: []Secret{"other"}},
		}
		w.WooCommerce = []Site{{Source: "https://shop.example.com", Secrets: []Secret{"env-wc-secret"}, RequirePayment: true}}
		diff(t, got, w)
	})
}

func TestLoadEnvShopMerge(t *testing.T) {
	file := `
shopify:
  - shop_domain: first.myshopify.com
    secrets: [first-secret]
  - shop_domain: second.myshopify.com
    secrets: [second-secret]
woocommerce:
  - source: https://shop.example.com/
    secrets: [wc-secret]
    require_payment: yes
`
	fileShops := []Shop{
		{Domain: "first.myshopify.com", Secrets: []Secret{"first-secret"}},
		{Domain: "second.myshopify.com", Secrets: []Secret{"second-secret"}},
	}
	fileSites := []Site{{Source: "https://shop.example.com/", Secrets: []Secret{"wc-secret"}, RequirePayment: true}}
	tests := []struct {
		name      string
		env       map[string]string
		wantShops []Shop
		wantSites []Site
	}{
		{"no env", nil, fileShops, fileSites},
		{"override a shop's secrets", map[string]string{
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN": "Second.MyShopify.com",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET":      "rotated,second-secret",
		}, []Shop{fileShops[0], {Domain: "second.myshopify.com", Secrets: []Secret{"rotated,second-secret"}}}, fileSites},
		{"domain only keeps the file's secrets", map[string]string{
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN": "first.myshopify.com",
		}, fileShops, fileSites},
		{"append a shop", map[string]string{
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN": "third.myshopify.com",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY":     "third-secret",
		}, append(fileShops[:2:2], Shop{Domain: "third.myshopify.com", Secrets: []Secret{"third-secret"}}), fileSites},
		{"override a site's payment setting only", map[string]string{
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":          "https://shop.example.com",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT": "false",
		}, fileShops, []Site{{Source: "https://shop.example.com/", Secrets: []Secret{"wc-secret"}}}},
		{"append a site", map[string]string{
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":        "https://other.example.com",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET":        "other",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_ACCEPT_UNPAID": "1",
		}, fileShops, append(fileSites[:1:1], Site{Source: "https://other.example.com", Secrets: []Secret{"other"}, AcceptUnpaid: true})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"WEBHOOK_RECEIVER_CONFIG": writeFile(t, "c.yaml", file)}
			for k, v := range tt.env {
				env[k] = v
			}
			got, _ := mustLoad(t, env, "")
			want := Default()
			want.Shopify, want.WooCommerce = tt.wantShops, tt.wantSites
			diff(t, got, want)
		})
	}
}

func TestLoadSecretFiles(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	oauth := file("oauth", "oauth-from-file\n")
	shop := file("shop", "a,b\r\n")
	wc := file("wc", "wc-from-file")
	empty := file("empty", "\n")

	tests := []struct {
		name    string
		env     map[string]string
		want    []string // secretValues of the result
		wantErr []string
	}{
		{"new names", map[string]string{
			"WEBHOOK_RECEIVER_OAUTH2_SECRET_FILE":      oauth,
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":     "s.myshopify.com",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET_FILE":     shop,
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":      "https://w.example.com",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET_FILE": wc,
		}, []string{"oauth-from-file", "s.myshopify.com=a,b", "https://w.example.com=wc-from-file"}, nil},
		{"legacy names", map[string]string{
			"DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET_FILE":           oauth,
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN":     "s.myshopify.com",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY_FILE":    shop,
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SOURCE":      "https://w.example.com",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SECRET_FILE": wc,
		}, []string{"oauth-from-file", "s.myshopify.com=a,b", "https://w.example.com=wc-from-file"}, nil},
		{"new file wins over legacy value", map[string]string{
			"WEBHOOK_RECEIVER_OAUTH2_SECRET_FILE":       oauth,
			"DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET": "legacy",
		}, []string{"oauth-from-file"}, nil},
		{"both set", map[string]string{
			"WEBHOOK_RECEIVER_OAUTH2_SECRET":      "direct-Zebra-42",
			"WEBHOOK_RECEIVER_OAUTH2_SECRET_FILE": oauth,
		}, nil, []string{"WEBHOOK_RECEIVER_OAUTH2_SECRET and WEBHOOK_RECEIVER_OAUTH2_SECRET_FILE are both set"}},
		{"both set, legacy", map[string]string{
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN":  "s.myshopify.com",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY":      "direct-Zebra-42",
			"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY_FILE": shop,
		}, nil, []string{"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY and DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY_FILE are both set"}},
		{"missing file", map[string]string{
			"WEBHOOK_RECEIVER_OAUTH2_SECRET_FILE": filepath.Join(dir, "nope"),
		}, nil, []string{"WEBHOOK_RECEIVER_OAUTH2_SECRET_FILE: open "}},
		{"empty file", map[string]string{
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":      "https://w.example.com",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET_FILE": empty,
		}, nil, []string{"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET_FILE: " + empty + " is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(mapenv(tt.env), Flags{})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("Load succeeded, want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\nwant it to contain %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "Zebra-42") {
					t.Errorf("error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := secretValues(c)
			if c.LMS.OAuth2Secret == "" {
				got = got[1:]
				tt.want = tt.want[1:]
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("secrets = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadBooleans(t *testing.T) {
	for _, name := range []string{
		"WEBHOOK_RECEIVER_AUTO_ENROLL", "DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL",
	} {
		for _, tt := range []struct {
			value string
			want  bool
		}{
			{"true", true}, {"TRUE", true}, {"1", true}, {"yes", true}, {"Yes", true}, {"on", true},
			{"false", false}, {"False", false}, {"0", false}, {"no", false}, {"NO", false}, {"off", false},
		} {
			t.Run(name+"="+tt.value, func(t *testing.T) {
				c, _ := mustLoad(t, map[string]string{name: tt.value}, "")
				if c.LMS.AutoEnroll != tt.want {
					t.Errorf("AutoEnroll = %v, want %v", c.LMS.AutoEnroll, tt.want)
				}
			})
		}
	}
	for _, name := range []string{
		"WEBHOOK_RECEIVER_AUTO_ENROLL", "DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL",
		"WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL", "DJANGO_WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT", "DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_REQUIRE_PAYMENT",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_ACCEPT_UNPAID",
	} {
		t.Run(name+"=maybe", func(t *testing.T) {
			_, _, err := Load(mapenv(map[string]string{name: "maybe"}), Flags{})
			if err == nil || !strings.Contains(err.Error(), name+`: invalid boolean "maybe"`) {
				t.Errorf("error = %v, want it to name %s and the value", err, name)
			}
		})
	}
	t.Run("yaml", func(t *testing.T) {
		for _, v := range []string{"true", "yes", "on", "1", "True"} {
			c, _ := mustLoad(t, nil, writeFile(t, "c.yaml", "lms:\n  auto_enroll: false\n  send_enrollment_email: "+v+"\n"))
			if !c.LMS.SendEnrollmentEmail || c.LMS.AutoEnroll {
				t.Errorf("%s: LMS = %+v", v, c.LMS)
			}
		}
		_, _, err := Load(mapenv(nil), Flags{File: writeFile(t, "c.yaml", "lms:\n  auto_enroll: maybe\n")})
		if err == nil || !strings.Contains(err.Error(), `line 2: invalid boolean "maybe"`) {
			t.Errorf("error = %v", err)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string // content of the new YAML file, if any
		want []string
	}{
		{"int", map[string]string{"WEBHOOK_RECEIVER_MAX_ATTEMPTS": "many"}, "",
			[]string{`WEBHOOK_RECEIVER_MAX_ATTEMPTS: invalid integer "many"`}},
		{"int range", map[string]string{"WEBHOOK_RECEIVER_MAX_ATTEMPTS": "0"}, "",
			[]string{`WEBHOOK_RECEIVER_MAX_ATTEMPTS: must be at least 1, got "0"`}},
		{"int64", map[string]string{"WEBHOOK_RECEIVER_MAX_BODY_BYTES": "5MB"}, "",
			[]string{`WEBHOOK_RECEIVER_MAX_BODY_BYTES: invalid integer "5MB"`}},
		{"workers", map[string]string{"WEBHOOK_RECEIVER_WORKERS": "-1"}, "",
			[]string{`WEBHOOK_RECEIVER_WORKERS: must be 0 or more, got "-1"`}},
		{"float", map[string]string{"WEBHOOK_RECEIVER_LMS_RATE_LIMIT": "fast"}, "",
			[]string{`WEBHOOK_RECEIVER_LMS_RATE_LIMIT: invalid number "fast"`}},
		{"duration", map[string]string{"WEBHOOK_RECEIVER_LMS_TIMEOUT": "30"}, "",
			[]string{`WEBHOOK_RECEIVER_LMS_TIMEOUT: invalid duration "30"`}},
		{"retry delay", map[string]string{"WEBHOOK_RECEIVER_RETRY_DELAY": "0s"}, "",
			[]string{`WEBHOOK_RECEIVER_RETRY_DELAY: must be positive, got "0s"`}},
		{"proxies", map[string]string{"WEBHOOK_RECEIVER_TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, "",
			[]string{`WEBHOOK_RECEIVER_TRUSTED_PROXIES: invalid IP or CIDR "proxy.local"`}},
		{"lms url", map[string]string{"DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL": "localhost:18000"}, "",
			[]string{`DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL: must be an absolute http or https URL, got "localhost:18000"`}},
		{"log level", map[string]string{"WEBHOOK_RECEIVER_LOG_LEVEL": "verbose"}, "",
			[]string{`WEBHOOK_RECEIVER_LOG_LEVEL: must be debug, info, warn or error, got "verbose"`}},
		{"several at once", map[string]string{"WEBHOOK_RECEIVER_WORKERS": "x", "WEBHOOK_RECEIVER_LOG_FORMAT": "xml"}, "",
			[]string{"WEBHOOK_RECEIVER_WORKERS", "WEBHOOK_RECEIVER_LOG_FORMAT"}},
		{"shop domain without secret", map[string]string{"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN": "a.myshopify.com"}, "",
			[]string{"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN is set but WEBHOOK_RECEIVER_SHOPIFY_SECRET is not"}},
		{"shop secret without domain", map[string]string{"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY": "k-Zebra-42"}, "",
			[]string{"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY is set but WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN is not"}},
		{"site source without secret", map[string]string{"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SOURCE": "https://x.example.com"}, "",
			[]string{"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SOURCE is set but WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET is not"}},
		{"site secret without source", map[string]string{"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET": "k-Zebra-42"}, "",
			[]string{"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET is set but WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE is not"}},
		{"site source not a URL", map[string]string{
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE": "x.example.com", "WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET": "k-Zebra-42",
		}, "", []string{`woocommerce[0].source: must be an absolute http or https URL, got "x.example.com"`}},
		{"unknown yaml key", nil, "lms:\n  base_url: https://lms.example.com\n  oauth_key: x\n",
			[]string{`line 3: unknown key "oauth_key" in lms`}},
		{"unknown yaml top-level key", nil, "port: 80\n", []string{`line 1: unknown key "port"`}},
		{"yaml duration", nil, "retry_delay: 180\n", []string{`retry_delay: invalid duration "180"`}},
		{"yaml lms timeout", nil, "lms:\n  timeout: soon\n", []string{`lms.timeout: invalid duration "soon"`}},
		{"yaml proxies", nil, "trusted_proxies: [10.0.0.0/8, nope]\n", []string{`trusted_proxies[1]: invalid IP or CIDR "nope"`}},
		{"yaml shop without secrets", nil, "shopify:\n  - shop_domain: a.myshopify.com\n  - shop_domain: b.myshopify.com\n    secrets: ['']\n",
			[]string{"shopify[0].secrets: at least one non-empty secret", "shopify[1].secrets: at least one non-empty secret"}},
		{"yaml duplicate shops", nil, "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [x]\n  - shop_domain: A.myshopify.com\n    secrets: [y]\n",
			[]string{`shopify[1].shop_domain: "a.myshopify.com" is already configured as shopify[0]`}},
		{"yaml duplicate sites", nil, "woocommerce:\n  - source: https://a.example.com\n    secrets: [x]\n  - source: https://A.example.com/\n    secrets: [y]\n",
			[]string{`woocommerce[1].source: "https://A.example.com/" is already configured as woocommerce[0]`}},
		{"yaml oauth2 secret twice", nil, "lms:\n  oauth2_secret: x\n  oauth2_secret_file: /nope\n",
			[]string{"lms.oauth2_secret and lms.oauth2_secret_file are both set"}},
		{"missing yaml file", map[string]string{"WEBHOOK_RECEIVER_CONFIG": "/nonexistent/config.yaml"}, "",
			[]string{"WEBHOOK_RECEIVER_CONFIG: open /nonexistent/config.yaml"}},
		{"missing legacy file", map[string]string{"WEBHOOK_RECEIVER_CFG": "/nonexistent/legacy.yaml"}, "",
			[]string{"WEBHOOK_RECEIVER_CFG: open /nonexistent/legacy.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.file != "" {
				file = writeFile(t, "c.yaml", tt.file)
			}
			_, _, err := Load(mapenv(tt.env), Flags{File: file})
			if err == nil {
				t.Fatalf("Load succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error:\n%v\nwant it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "Zebra-42") {
				t.Errorf("error shows a secret:\n%v", err)
			}
		})
	}
}

func TestLoadWarnings(t *testing.T) {
	_, warnings := mustLoad(t, map[string]string{
		"WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT": "true",
	}, "")
	want := "the WooCommerce payment settings in the environment are ignored: WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE is not set"
	if len(warnings) == 0 || warnings[0] != want {
		t.Errorf("warnings = %q, want first %q", warnings, want)
	}
}

// TestSecretsNeverShown loads distinctive secrets through every route and
// checks that no error, warning or printout shows them.
func TestSecretsNeverShown(t *testing.T) {
	const mark = "Zebra-42"
	oauthFile := writeFile(t, "oauth", "oauth-file-"+mark+"\n")
	legacy := writeFile(t, "legacy.yaml", `
SECRET_KEY: django-`+mark+`
WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET: legacy-oauth-`+mark+`
WEBHOOK_RECEIVER_SETTINGS:
  shopify: {shop_domain: legacy.myshopify.com, api_key: legacy-shop-`+mark+`, password: pw-`+mark+`}
`)
	newFile := writeFile(t, "new.yaml", `
lms:
  base_url: https://lms.example.com
  oauth2_key: key
  oauth2_secret_file: `+oauthFile+`
shopify:
  - shop_domain: a.myshopify.com
    secrets: [current-`+mark+`, previous-`+mark+`]
woocommerce:
  - source: https://shop.example.com
    secrets: wc-`+mark+`
    accept_unpaid: true
`)
	env := map[string]string{
		"WEBHOOK_RECEIVER_CFG":                 legacy,
		"WEBHOOK_RECEIVER_CONFIG":              newFile,
		"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN": "b.myshopify.com",
		"WEBHOOK_RECEIVER_SHOPIFY_SECRET":      "env-shop-" + mark,
	}
	c, warnings, err := Load(mapenv(env), Flags{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(c.Shopify) != 3 || c.Shopify[2].Secrets[0].Value() != "env-shop-"+mark {
		t.Fatalf("secrets were not loaded: %q", secretValues(c))
	}
	printed := []any{c, c, c, c} // a slice, so that vet lets %s print a struct
	j, _ := json.Marshal(c)
	y, _ := yaml.Marshal(c)
	shown := map[string]string{
		"warnings": strings.Join(warnings, "\n"),
		"printf":   fmt.Sprintf("%v %+v %s %#v", printed...),
		"Redacted": c.Redacted(),
		"json":     string(j),
		"yaml":     string(y),
	}
	for name, s := range shown {
		if strings.Contains(s, mark) {
			t.Errorf("%s shows a secret:\n%s", name, s)
		}
	}

	// Errors that concern secrets must not quote them either.
	errorCases := []struct {
		name string
		env  map[string]string
		file string
	}{
		{"both set", map[string]string{"WEBHOOK_RECEIVER_OAUTH2_SECRET": "x-" + mark, "WEBHOOK_RECEIVER_OAUTH2_SECRET_FILE": oauthFile}, ""},
		{"secret without domain", map[string]string{"WEBHOOK_RECEIVER_SHOPIFY_SECRET": "x-" + mark}, ""},
		{"yaml secret of the wrong type", nil, "lms:\n  oauth2_secret: [x-" + mark + "]\n"},
		{"yaml secrets of the wrong type", nil, "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [[x-" + mark + "]]\n"},
		{"yaml secrets map", nil, "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: {x-" + mark + ": y}\n"},
		{"legacy secret of the wrong type", map[string]string{"WEBHOOK_RECEIVER_CFG": writeFile(t, "l.yaml",
			"WEBHOOK_RECEIVER_SETTINGS:\n  woocommerce: {source: 'https://x.example.com', secret: [x-"+mark+"]}\n")}, ""},
	}
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.file != "" {
				file = writeFile(t, "c.yaml", tt.file)
			}
			_, warnings, err := Load(mapenv(tt.env), Flags{File: file})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if strings.Contains(err.Error(), mark) || strings.Contains(strings.Join(warnings, "\n"), mark) {
				t.Errorf("error or warnings show a secret:\n%v\n%q", err, warnings)
			}
		})
	}
}

func TestDjangoDatabaseURL(t *testing.T) {
	tests := []struct{ name, value, want string }{
		{"DJANGO_DATABASE_URL", "sqlite:///db.sqlite3", "sqlite:db.sqlite3"},
		{"DJANGO_DATABASE_URL", "sqlite:////var/lib/db.sqlite3", "sqlite:////var/lib/db.sqlite3"},
		{"DJANGO_DATABASE_URL", "postgres://u@h/db", "postgres://u@h/db"},
		{"WEBHOOK_RECEIVER_DATABASE_URL", "sqlite:///abs/path.db", "sqlite:///abs/path.db"},
	}
	for _, tt := range tests {
		cfg, _, err := Load(func(k string) string {
			if k == tt.name {
				return tt.value
			}
			return ""
		}, Flags{})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.DatabaseURL != tt.want {
			t.Errorf("%s=%s: DatabaseURL = %q; want %q", tt.name, tt.value, cfg.DatabaseURL, tt.want)
		}
	}
}
