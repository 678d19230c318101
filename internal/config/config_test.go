package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

func TestParseBool(t *testing.T) {
	tests := []struct {
		in      string
		want    bool
		wantErr bool
	}{
		{"true", true, false}, {"TRUE", true, false}, {"True", true, false},
		{"1", true, false}, {"yes", true, false}, {"Yes", true, false}, {"on", true, false}, {"ON", true, false},
		{"false", false, false}, {"False", false, false}, {"0", false, false},
		{"no", false, false}, {"NO", false, false}, {"off", false, false}, {" off ", false, false},
		{"", false, true}, {"maybe", false, true}, {"2", false, true}, {"y", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBool(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseBool(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseBool(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestSecretFormatting(t *testing.T) {
	const value = "s3cr3t-Zebra-42"
	s := Secret(value)
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"String", s.String(), "[redacted]"},
		{"%v", fmt.Sprintf("%v", s), "[redacted]"},
		{"%+v", fmt.Sprintf("%+v", s), "[redacted]"},
		{"%#v", fmt.Sprintf("%#v", s), "[redacted]"},
		{"%s", fmt.Sprintf("%s", s), "[redacted]"},
		{"%q", fmt.Sprintf("%q", s), `"[redacted]"`},
		{"%x", fmt.Sprintf("%x", s), "[redacted]"},
		{"slice", fmt.Sprintf("%v", []Secret{s, ""}), "[[redacted] ]"},
		{"empty", Secret("").String(), ""},
		{"Value", s.Value(), value},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}

	j, err := json.Marshal(struct{ S Secret }{s})
	if err != nil || string(j) != `{"S":"[redacted]"}` {
		t.Errorf("json.Marshal = %s, %v", j, err)
	}
	y, err := yaml.Marshal(struct{ S Secret }{s})
	if err != nil || strings.TrimSpace(string(y)) != `s: '[redacted]'` {
		t.Errorf("yaml.Marshal = %s, %v", y, err)
	}
}

func TestShopLookup(t *testing.T) {
	c := Config{Shopify: []Shop{
		{Domain: "first.myshopify.com", Secrets: []Secret{"a"}},
		{Domain: "second.myshopify.com", Secrets: []Secret{"b"}},
	}}
	tests := []struct {
		domain string
		want   string
		found  bool
	}{
		{"first.myshopify.com", "first.myshopify.com", true},
		{"FIRST.MyShopify.com", "first.myshopify.com", true},
		{" second.myshopify.com ", "second.myshopify.com", true},
		{"third.myshopify.com", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			got, ok := c.Shop(tt.domain)
			if ok != tt.found || got.Domain != tt.want {
				t.Errorf("Shop(%q) = %q, %v; want %q, %v", tt.domain, got.Domain, ok, tt.want, tt.found)
			}
		})
	}
}

func TestFindShop(t *testing.T) {
	c := Config{
		Shopify:     []Shop{{Domain: "first.myshopify.com", APIToken: "t", Repair: true}},
		WooCommerce: []Site{{Source: "https://shop.example.com/"}},
	}
	tests := []struct {
		platform enroll.Platform
		source   string
		want     ShopRef
		found    bool
	}{
		{"", "FIRST.myshopify.com", ShopRef{enroll.Shopify, "first.myshopify.com", "first.myshopify.com", true, true}, true},
		{enroll.Shopify, "first.myshopify.com", ShopRef{enroll.Shopify, "first.myshopify.com", "first.myshopify.com", true, true}, true},
		{enroll.WooCommerce, "first.myshopify.com", ShopRef{}, false},
		{"", "https://shop.example.com", ShopRef{enroll.WooCommerce, "https://shop.example.com/", "https://shop.example.com", false, false}, true},
		{enroll.Shopify, "https://shop.example.com/", ShopRef{}, false},
		{"", "other.myshopify.com", ShopRef{}, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.platform)+" "+tt.source, func(t *testing.T) {
			got, ok := c.FindShop(tt.platform, tt.source)
			if ok != tt.found || got != tt.want {
				t.Errorf("FindShop(%q, %q) = %+v, %v; want %+v, %v", tt.platform, tt.source, got, ok, tt.want, tt.found)
			}
		})
	}
	if refs := c.ShopRefs(); len(refs) != 2 || refs[0].Platform != enroll.Shopify || refs[1].Stored != "https://shop.example.com" {
		t.Errorf("ShopRefs() = %+v, want the shop, then the site", refs)
	}
}

func TestSiteLookup(t *testing.T) {
	c := Config{WooCommerce: []Site{
		{Source: "https://shop.example.com/", Secrets: []Secret{"a"}},
		{Source: "https://other.example.com/store", Secrets: []Secret{"b"}},
	}}
	tests := []struct {
		source string
		want   string
		found  bool
	}{
		{"https://shop.example.com/", "https://shop.example.com/", true},
		{"https://shop.example.com", "https://shop.example.com/", true},
		{"HTTPS://Shop.Example.COM", "https://shop.example.com/", true},
		{"https://other.example.com/store/", "https://other.example.com/store", true},
		{"https://other.example.com/store", "https://other.example.com/store", true},
		{"https://other.example.com/STORE", "", false},
		{"http://shop.example.com/", "", false},
		{"https://shop.example.com/shop", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			got, ok := c.Site(tt.source)
			if ok != tt.found || got.Source != tt.want {
				t.Errorf("Site(%q) = %q, %v; want %q, %v", tt.source, got.Source, ok, tt.want, tt.found)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	valid := func() Config {
		c := Default()
		c.LMS.BaseURL = "https://lms.example.com"
		c.Shopify = []Shop{{Domain: "first.myshopify.com", Secrets: []Secret{"a"}}}
		c.WooCommerce = []Site{{Source: "https://shop.example.com/", Secrets: []Secret{"b"}}}
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // substrings of the error; none means valid
	}{
		{"valid", func(*Config) {}, nil},
		{"defaults", func(c *Config) { *c = Default() }, nil},
		{"listen", func(c *Config) { c.Listen = "8000" }, []string{`WEBHOOK_RECEIVER_LISTEN: must be host:port or :port, got "8000"`}},
		{"pprof listen", func(c *Config) { c.PprofListen = "0.0.0.0:6060" }, []string{`WEBHOOK_RECEIVER_PPROF_LISTEN: must be a loopback host:port such as 127.0.0.1:6060, got "0.0.0.0:6060"`}},
		{"database", func(c *Config) { c.DatabaseURL = "" }, []string{"WEBHOOK_RECEIVER_DATABASE_URL: must not be empty"}},
		{"lms url relative", func(c *Config) { c.LMS.BaseURL = "lms.example.com" }, []string{`WEBHOOK_RECEIVER_LMS_BASE_URL: must be an absolute http or https URL, got "lms.example.com"`}},
		{"lms url scheme", func(c *Config) { c.LMS.BaseURL = "ftp://lms.example.com" }, []string{"WEBHOOK_RECEIVER_LMS_BASE_URL"}},
		{"rate limit", func(c *Config) { c.LMS.RateLimit = -1 }, []string{`WEBHOOK_RECEIVER_LMS_RATE_LIMIT: must be a number of calls per second, 0 or more, got "-1"`}},
		{"timeout", func(c *Config) { c.LMS.Timeout = 0 }, []string{`WEBHOOK_RECEIVER_LMS_TIMEOUT: must be positive, got "0s"`}},
		{"retry delay", func(c *Config) { c.RetryDelay = -time.Second }, []string{`WEBHOOK_RECEIVER_RETRY_DELAY: must be positive, got "-1s"`}},
		{"max attempts", func(c *Config) { c.MaxAttempts = 0 }, []string{`WEBHOOK_RECEIVER_MAX_ATTEMPTS: must be at least 1, got "0"`}},
		{"max body", func(c *Config) { c.MaxBodyBytes = 0 }, []string{`WEBHOOK_RECEIVER_MAX_BODY_BYTES: must be positive, got "0"`}},
		{"max in flight", func(c *Config) { c.MaxInflightBytes = 0 }, []string{`WEBHOOK_RECEIVER_MAX_INFLIGHT_BYTES: must be positive, got "0"`}},
		{"max in flight below one body", func(c *Config) { c.MaxBodyBytes, c.MaxInflightBytes = 1<<20, 1<<19 },
			[]string{`WEBHOOK_RECEIVER_MAX_INFLIGHT_BYTES: must be at least WEBHOOK_RECEIVER_MAX_BODY_BYTES (1048576), got "524288"`}},
		{"workers", func(c *Config) { c.Workers = -1 }, []string{`WEBHOOK_RECEIVER_WORKERS: must be 0 or more, got "-1"`}},
		{"log format", func(c *Config) { c.LogFormat = "xml" }, []string{`WEBHOOK_RECEIVER_LOG_FORMAT: must be text or json, got "xml"`}},
		{"log level", func(c *Config) { c.LogLevel = "trace" }, []string{`WEBHOOK_RECEIVER_LOG_LEVEL: must be debug, info, warn or error, got "trace"`}},
		{"shop without secret", func(c *Config) { c.Shopify[0].Secrets = []Secret{""} }, []string{`shopify[0].secrets: at least one non-empty secret is required for shop "first.myshopify.com"`}},
		{"shop without domain", func(c *Config) { c.Shopify[0].Domain = "" }, []string{"shopify[0].shop_domain: must not be empty"}},
		{"shop with URL", func(c *Config) { c.Shopify[0].Domain = "https://first.myshopify.com" }, []string{"shopify[0].shop_domain: must be a bare domain"}},
		{"duplicate shop", func(c *Config) {
			c.Shopify = append(c.Shopify, Shop{Domain: "FIRST.myshopify.com", Secrets: []Secret{"c"}})
		}, []string{`shopify[1].shop_domain: "FIRST.myshopify.com" is already configured as shopify[0]`}},
		{"site without secret", func(c *Config) { c.WooCommerce[0].Secrets = nil }, []string{"woocommerce[0].secrets: at least one non-empty secret"}},
		{"site not a URL", func(c *Config) { c.WooCommerce[0].Source = "shop.example.com" }, []string{`woocommerce[0].source: must be an absolute http or https URL, got "shop.example.com"`}},
		{"duplicate site", func(c *Config) {
			c.WooCommerce = append(c.WooCommerce, Site{Source: "https://SHOP.example.com", Secrets: []Secret{"c"}})
		}, []string{`woocommerce[1].source: "https://SHOP.example.com" is already configured as woocommerce[0]`}},
		{"every problem at once", func(c *Config) { c.MaxAttempts = 0; c.Workers = -2; c.LogLevel = "loud" }, []string{
			"WEBHOOK_RECEIVER_MAX_ATTEMPTS", "WEBHOOK_RECEIVER_WORKERS", "WEBHOOK_RECEIVER_LOG_LEVEL",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	full := Default()
	full.LMS = LMS{BaseURL: "https://lms.example.com", OAuth2Key: "k", OAuth2Secret: "s", RateLimit: 2, Timeout: time.Second}
	full.Shopify = []Shop{{Domain: "a.myshopify.com", Secrets: []Secret{"x"}}}
	tests := []struct {
		name   string
		change func(*Config)
		want   []string
	}{
		{"none", func(*Config) {}, nil},
		{"defaults", func(c *Config) { *c = Default() }, []string{
			"no Shopify shop or WooCommerce site is configured: every webhook will be rejected with 403",
			"no LMS is configured (WEBHOOK_RECEIVER_LMS_BASE_URL): enrollments will wait",
		}},
		{"no credentials", func(c *Config) { c.LMS.OAuth2Secret = "" }, []string{
			"WEBHOOK_RECEIVER_OAUTH2_KEY or WEBHOOK_RECEIVER_OAUTH2_SECRET is not set: the LMS will refuse enrollments",
		}},
		{"no workers", func(c *Config) { c.Workers = 0 }, []string{
			"WEBHOOK_RECEIVER_WORKERS is 0: this process receives webhooks but enrolls nobody",
		}},
		{"accept unpaid alone", func(c *Config) {
			c.WooCommerce = []Site{{Source: "https://s.example.com", Secrets: []Secret{"y"}, AcceptUnpaid: true}}
		}, []string{"woocommerce[0].accept_unpaid has no effect without require_payment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := full
			tt.change(&c)
			got := c.Warnings()
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Warnings() = %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	c := Default()
	c.DatabaseURL = "postgres://user:db-Passw0rd@db.example.com/receiver"
	c.LMS.OAuth2Secret = "oauth-Zebra-42"
	c.Shopify = []Shop{{Domain: "a.myshopify.com", Secrets: []Secret{"shop-Zebra-42", "old-Zebra-42"}}}
	got := c.Redacted()
	for _, leak := range []string{"db-Passw0rd", "Zebra-42"} {
		if strings.Contains(got, leak) {
			t.Errorf("Redacted() shows %q:\n%s", leak, got)
		}
	}
	for _, want := range []string{
		"listen: :8000\n",
		"database_url: postgres://user:xxxxx@db.example.com/receiver\n",
		"lms.oauth2_secret: [redacted]\n",
		"shopify[0].shop_domain: a.myshopify.com\n",
		"shopify[0].secrets: [[redacted] [redacted]]\n",
		"retry_delay: 3m0s\n",
		"max_body_bytes: 5242880\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Redacted() lacks %q:\n%s", want, got)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sqlite:data.db", "sqlite:data.db"},
		{"postgres://u:S3CRET@h:5432/db?sslmode=require", "postgres://u:xxxxx@h:5432/db?sslmode=require"},
		{"postgres://u@h/db?sslmode=disable&password=S3CRET", "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{"postgres://u@h/db?sslpassword=S3CRET", "postgres://u@h/db?sslpassword=xxxxx"},
		{"postgres://u:S3CRET@h:bad port/db", "[redacted]"},
		{"mysql://u:S3CRET@h:3306/db", "mysql://u:xxxxx@h:3306/db"},
		{"mysql://u:sec%zzret@h/db", "[redacted]"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestAdminSettings(t *testing.T) {
	hash := "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	dir := t.TempDir()
	file := filepath.Join(dir, "hash")
	if err := os.WriteFile(file, []byte(hash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		user    string
		enabled bool
		wantErr string
	}{
		{name: "off by default", user: "admin"},
		{name: "hash", env: map[string]string{"WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH": hash}, user: "admin", enabled: true},
		{name: "hash file and user", env: map[string]string{"WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH_FILE": file, "WEBHOOK_RECEIVER_ADMIN_USER": "ops"},
			user: "ops", enabled: true},
		{name: "not bcrypt", env: map[string]string{"WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH": "hunter2"},
			wantErr: "WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH: must be a bcrypt hash"},
		{name: "blank user is unset", env: map[string]string{"WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH": hash, "WEBHOOK_RECEIVER_ADMIN_USER": " "},
			user: "admin", enabled: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(func(k string) string { return tt.env[k] }, Flags{})
			if err == nil {
				err = c.Validate()
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v; want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("error shows the value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Admin.User != tt.user || c.Admin.Enabled() != tt.enabled {
				t.Errorf("admin = %q enabled %v; want %q %v", c.Admin.User, c.Admin.Enabled(), tt.user, tt.enabled)
			}
		})
	}
}
