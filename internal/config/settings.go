package config

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopify"
)

// settings is every setting of the receiver, one row each. The YAML file's
// decoder, the Django app's YAML file, the environment loader (new names,
// legacy names, NAME_FILE for secrets), the defaults (Default), the checks
// (Validate), the redacted dump (Redacted) and the README's configuration
// table all read this table.
//
// To add a setting: add its field to Config (or Shop, Site), add one row
// here, where the README should list it, and run `go generate
// ./internal/config` to rewrite the README's table (a test fails until
// then). The loaders, defaults, checks and docs need nothing else; a row
// with no default needs a sample value in settings_test.go's samples.
// Rules that tie several settings together live in Validate.
//
// A row's key is its path in the YAML file ("lms.timeout": key timeout of
// section lms). "shopify[].secrets" is a field of every entry of the list
// shopify; its get takes a *Shop. The row of a secret also takes
// NAME_FILE in the environment, and (for a single secret) key_file in the
// YAML file.
var settings = []setting{
	{key: "listen", env: "WEBHOOK_RECEIVER_LISTEN", def: ":8000",
		doc: "Address to listen on", flag: "--listen",
		kind: text(func(c *Config) *string { return &c.Listen }, hostPort)},
	{key: "metrics_listen", env: "WEBHOOK_RECEIVER_METRICS_LISTEN",
		showDef: "empty: `/metrics` on the listen address",
		doc: "An address of its own for `/metrics`, for example `127.0.0.1:9100` to keep metrics off a public port: " +
			"the listen address then does not serve them",
		kind: text(func(c *Config) *string { return &c.MetricsListen }, nil)},
	{key: "pprof_listen", env: "WEBHOOK_RECEIVER_PPROF_LISTEN",
		showDef: "empty: off",
		doc: "A loopback address such as `127.0.0.1:6060` that serves Go's profiler (`/debug/pprof/`), to profile the " +
			"service under load (`go run ./cmd/bench --cpuprofile` sets it); never on another interface",
		kind: text(func(c *Config) *string { return &c.PprofListen }, loopbackHostPort)},
	{key: "database_url", env: "WEBHOOK_RECEIVER_DATABASE_URL", legacyEnv: "DJANGO_DATABASE_URL",
		def: "sqlite:webhook-receiver.db", flag: "--database-url", legacyValue: fromDjangoDatabaseURL,
		doc: "Database: `sqlite:relative.db`, `sqlite:/abs.db` or `sqlite:///abs.db`; or PostgreSQL: " +
			"`postgres://user:pass@host:5432/db?sslmode=require` (also `postgresql://`, `pgsql://`). The legacy name " +
			"keeps dj-database-url's meaning: `sqlite:///name.db` relative, `sqlite:////abs/name.db` absolute",
		kind: databaseURL(func(c *Config) *string { return &c.DatabaseURL })},
	{key: "database_max_conns", env: "WEBHOOK_RECEIVER_DATABASE_MAX_CONNS", def: "10",
		doc:  "PostgreSQL connections per process (SQLite always uses one)",
		kind: integer(func(c *Config) *int { return &c.DatabaseMaxConns }, atLeast(1))},
	{env: envFile, doc: "Path of the YAML file below (`--config` names it instead)"},
	{env: envLegacyFile, legacyEnv: envLegacyFile, doc: "Path of the Django app's YAML file"},
	{key: "lms.base_url", env: "WEBHOOK_RECEIVER_LMS_BASE_URL", legacyEnv: "DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL",
		legacyKey: "WEBHOOK_RECEIVER_LMS_BASE_URL", showDef: "none (the Django app assumed `http://localhost:18000`)",
		doc:  "Open edX LMS URL; without it, items wait",
		kind: text(func(c *Config) *string { return &c.LMS.BaseURL }, httpURLOrEmpty)},
	{key: "lms.oauth2_key", env: "WEBHOOK_RECEIVER_OAUTH2_KEY", legacyEnv: "DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_KEY",
		legacyKey: "WEBHOOK_RECEIVER_EDX_OAUTH2_KEY",
		doc:       "OAuth2 client id (a global staff user's application)",
		kind:      text(func(c *Config) *string { return &c.LMS.OAuth2Key }, nil)},
	{key: "lms.oauth2_secret", env: "WEBHOOK_RECEIVER_OAUTH2_SECRET", legacyEnv: "DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET",
		legacyKey: "WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET",
		doc:       "OAuth2 client secret",
		kind:      secret(func(c *Config) *Secret { return &c.LMS.OAuth2Secret }, nil)},
	{key: "lms.sku_prefix", env: "WEBHOOK_RECEIVER_SKU_PREFIX", legacyEnv: "DJANGO_WEBHOOK_RECEIVER_SKU_PREFIX",
		legacyKey: "WEBHOOK_RECEIVER_SKU_PREFIX", showDef: "empty",
		doc:  "Path prefix for SKU lookups",
		kind: text(func(c *Config) *string { return &c.LMS.SKUPrefix }, nil)},
	{key: "lms.auto_enroll", env: "WEBHOOK_RECEIVER_AUTO_ENROLL", legacyEnv: "DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL",
		legacyKey: "WEBHOOK_RECEIVER_AUTO_ENROLL", def: "true",
		doc:  "Sent as `auto_enroll`: learners without an account are enrolled when they register",
		kind: boolean(func(c *Config) *bool { return &c.LMS.AutoEnroll })},
	{key: "lms.send_enrollment_email", env: "WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL",
		legacyEnv: "DJANGO_WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL", legacyKey: "WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL",
		def: "true", doc: "Sent as `email_students`",
		kind: boolean(func(c *Config) *bool { return &c.LMS.SendEnrollmentEmail })},
	{key: "lms.rate_limit", env: "WEBHOOK_RECEIVER_LMS_RATE_LIMIT", def: "2",
		doc:  "Bulk-enroll calls per second per process; `0` = unlimited",
		kind: number(func(c *Config) *float64 { return &c.LMS.RateLimit }, callsPerSecond)},
	{key: "lms.timeout", env: "WEBHOOK_RECEIVER_LMS_TIMEOUT", def: "30s",
		doc:  "Timeout of each LMS request",
		kind: duration(func(c *Config) *time.Duration { return &c.LMS.Timeout }, positive)},
	{key: "lms.batch_size", env: "WEBHOOK_RECEIVER_LMS_BATCH_SIZE", def: "50",
		doc:  "Learners of one course enrolled by one bulk enrollment call (comma-separated identifiers)",
		kind: integer(func(c *Config) *int { return &c.LMS.BatchSize }, atLeast(1))},
	{key: "retry_delay", env: "WEBHOOK_RECEIVER_RETRY_DELAY", def: "3m",
		doc:  "First retry delay; doubles per attempt (±20 % jitter), at most 1h",
		kind: duration(func(c *Config) *time.Duration { return &c.RetryDelay }, positive)},
	{key: "max_attempts", env: "WEBHOOK_RECEIVER_MAX_ATTEMPTS", def: "25",
		doc: "Attempts before an item is marked failed (throttled calls and runs interrupted by a crash do not count; " +
			"a redelivery of the order gives a failed item a fresh budget)",
		kind: integer(func(c *Config) *int { return &c.MaxAttempts }, atLeast(1))},
	{key: "max_body_bytes", env: "WEBHOOK_RECEIVER_MAX_BODY_BYTES", def: "5242880",
		doc:  "Larger webhook bodies get 413",
		kind: integer(func(c *Config) *int64 { return &c.MaxBodyBytes }, positive)},
	{key: "max_inflight_bytes", env: "WEBHOOK_RECEIVER_MAX_INFLIGHT_BYTES", def: "33554432",
		doc: "Webhook body bytes this process reads or holds at once (32 MiB); past it, webhooks get 503 with " +
			"`Retry-After` (shops deliver them again). A quarter of it, or what is left over one largest body if that is " +
			"less, is kept for bodies of 64 KiB or less, so that large bodies cannot crowd out orders. At least " +
			"`WEBHOOK_RECEIVER_MAX_BODY_BYTES`",
		kind: integer(func(c *Config) *int64 { return &c.MaxInflightBytes }, positive)},
	{key: "trusted_proxies", env: "WEBHOOK_RECEIVER_TRUSTED_PROXIES", showDef: "none",
		doc:  "Comma-separated IPs/CIDRs (a YAML list in the file) whose `X-Forwarded-For` is believed for the source IP",
		kind: prefixes(func(c *Config) *[]netip.Prefix { return &c.TrustedProxies })},
	{key: "workers", env: "WEBHOOK_RECEIVER_WORKERS", def: "4",
		doc: "Concurrent enrollment jobs in this process; `0` = none (the periodic jobs still run: retention, the " +
			"shops' health check and reconciliation)",
		kind: integer(func(c *Config) *int { return &c.Workers }, atLeast(0))},
	{key: "rescue_after", env: "WEBHOOK_RECEIVER_RESCUE_AFTER", showDef: "job timeout + 30s (2m30s)",
		doc: "How long a job may look running before another process takes its process for dead and runs it again; " +
			"must exceed the job timeout, 4 × `WEBHOOK_RECEIVER_LMS_TIMEOUT`",
		kind: duration(func(c *Config) *time.Duration { return &c.RescueAfter }, nil)},
	{key: "retention", env: "WEBHOOK_RECEIVER_RETENTION", showDef: "empty: bodies kept",
		doc: "Age (`90d`, or a Go duration such as `2160h`; at least `1d`) past which a daily job drops the raw bodies, " +
			"parsed orders and headers of deliveries of finished orders and of rejected deliveries, and the delivery " +
			"keys; orders, items, statuses and attempts stay (`webhook-receiver purge` does it by hand)",
		kind: retention(func(c *Config) *time.Duration { return &c.Retention })},
	{key: "registration_wait", env: "WEBHOOK_RECEIVER_REGISTRATION_WAIT", def: "30d",
		doc: "How long an item of a course sold in a mode (`courses`) waits for its learner to register (an hourly " +
			"check sets the mode once the account exists) before it fails; days (`30d`) or a Go duration",
		kind: age(func(c *Config) *time.Duration { return &c.RegistrationWait })},
	{key: "public_url", env: "WEBHOOK_RECEIVER_PUBLIC_URL", showDef: "none",
		doc: "The receiver's public `https://` address as the shops reach it (`https://webhooks.lms.example.com`): " +
			"where the health check expects the shops' webhooks to deliver, the default of `shops subscribe --url`, " +
			"and required by `repair`",
		kind: text(func(c *Config) *string { return &c.PublicURL }, receiverURLOrEmpty)},
	{key: "shop_check_every", env: "WEBHOOK_RECEIVER_SHOP_CHECK_EVERY", def: "15m",
		doc: "How often `serve` and `worker` check the webhook subscriptions of the shops and sites with API access (a periodic job, " +
			"one replica at a time); `0` = never",
		kind: duration(func(c *Config) *time.Duration { return &c.ShopCheckEvery }, notNegative)},
	{key: "reconcile_every", env: "WEBHOOK_RECEIVER_RECONCILE_EVERY", def: "15m",
		doc: "How often `serve` and `worker` reconcile the orders of the shops and sites with API access against their APIs (a " +
			"periodic job, one replica at a time); `0` = never",
		kind: duration(func(c *Config) *time.Duration { return &c.ReconcileEvery }, notNegative)},
	{key: "reconcile_lookback", env: "WEBHOOK_RECEIVER_RECONCILE_LOOKBACK", def: "72h",
		doc: "How far back the periodic reconciliation (and the one before a repair) reads the orders created or " +
			"updated; it overlaps the runs before, on purpose (Shopify serves 60 days at most)",
		kind: duration(func(c *Config) *time.Duration { return &c.ReconcileLookback }, positive)},
	{key: "log_format", env: "WEBHOOK_RECEIVER_LOG_FORMAT", def: "text",
		doc:  "`text` or `json`",
		kind: text(func(c *Config) *string { return &c.LogFormat }, oneOf("text or json", "text", "json"))},
	{key: "log_level", env: "WEBHOOK_RECEIVER_LOG_LEVEL", def: "info",
		doc: "`debug`, `info`, `warn`, `error`",
		kind: text(func(c *Config) *string { return &c.LogLevel },
			oneOf("debug, info, warn or error", "debug", "info", "warn", "error"))},
	{key: "admin.password_hash", env: "WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH", showDef: "none: console off",
		doc: "bcrypt hash of the operator console's password (`webhook-receiver hash-password` prints one); " +
			"setting it turns `/admin/` on",
		kind: secret(func(c *Config) *Secret { return &c.Admin.PasswordHash }, bcryptHash)},
	{key: "admin.user", env: "WEBHOOK_RECEIVER_ADMIN_USER", def: "admin",
		doc:  "The console's username",
		kind: text(func(c *Config) *string { return &c.Admin.User }, nil)},

	{key: "shopify[].shop_domain", env: "WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN",
		legacyEnv: "DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN", legacyKey: "shop_domain",
		doc:  "One Shopify shop (`x.myshopify.com`)",
		kind: text(func(s *Shop) *string { return &s.Domain }, bareDomain)},
	{key: "shopify[].secrets", env: "WEBHOOK_RECEIVER_SHOPIFY_SECRET",
		legacyEnv: "DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY", legacyKey: "api_key",
		doc:  "Its webhook signing secret, taken whole; the YAML file takes a list, for rotation",
		kind: secrets(func(s *Shop) *[]Secret { return &s.Secrets })},
	{key: "shopify[].require_payment", env: "WEBHOOK_RECEIVER_SHOPIFY_REQUIRE_PAYMENT", def: "false",
		doc: "Enroll an order once it is paid: an `orders/create` whose `financial_status` is not one of `paid_statuses` is " +
			"stored as awaiting payment (answered 200), and enrolled by `orders/paid`",
		kind: boolean(func(s *Shop) *bool { return &s.RequirePayment })},
	{key: "shopify[].paid_statuses", env: "WEBHOOK_RECEIVER_SHOPIFY_PAID_STATUSES", showDef: "`paid`",
		doc: "With `require_payment`: the financial statuses that count as paid, comma-separated (a YAML list in the file), " +
			"of `pending`, `authorized`, `partially_paid`, `paid`, `partially_refunded`, `refunded`, `voided`, `expired`",
		kind: financialStatuses(func(s *Shop) *[]string { return &s.PaidStatuses })},
	{key: "shopify[].unenroll_on_refund", env: "WEBHOOK_RECEIVER_SHOPIFY_UNENROLL_ON_REFUND", def: "false",
		doc: "Unenroll the learners of refunded lines (`refunds/create`, seats against the line's quantity) and of " +
			"cancelled orders (`orders/cancelled`); otherwise refunds and cancellations are recorded and learners stay",
		kind: boolean(func(s *Shop) *bool { return &s.UnenrollOnRefund })},
	{key: "shopify[].api_token", env: "WEBHOOK_RECEIVER_SHOPIFY_API_TOKEN", showDef: "none: no API access",
		doc: "Admin API access token of a custom app (`X-Shopify-Access-Token`), scopes `read_orders` and " +
			"`write_webhooks`-level access; lets `webhook-receiver shops` manage the shop's webhook subscriptions",
		kind: secret(func(s *Shop) *Secret { return &s.APIToken }, nil)},
	{key: "shopify[].client_id", env: "WEBHOOK_RECEIVER_SHOPIFY_CLIENT_ID", showDef: "none",
		doc: "Instead of `api_token`: the client id of an app from Shopify's Dev Dashboard, installed on the shop; " +
			"its tokens come from the client-credentials grant, renewed before they expire",
		kind: text(func(s *Shop) *string { return &s.ClientID }, nil)},
	{key: "shopify[].client_secret", env: "WEBHOOK_RECEIVER_SHOPIFY_CLIENT_SECRET", showDef: "none",
		doc:  "Its client secret",
		kind: secret(func(s *Shop) *Secret { return &s.ClientSecret }, nil)},
	{key: "shopify[].api_version", env: "WEBHOOK_RECEIVER_SHOPIFY_API_VERSION",
		showDef: "`" + shopify.DefaultAPIVersion + "`",
		doc:     "The dated Admin API version (`YYYY-MM`) the API is called with",
		kind:    text(func(s *Shop) *string { return &s.APIVersion }, apiVersion)},
	{key: "shopify[].repair", env: "WEBHOOK_RECEIVER_SHOPIFY_REPAIR", def: "false",
		doc: "When the health check finds one of the shop's subscriptions missing or pointing elsewhere, reconcile " +
			"the shop's orders and then recreate it at `WEBHOOK_RECEIVER_PUBLIC_URL` (needs that and API access)",
		kind: boolean(func(s *Shop) *bool { return &s.Repair })},
	{key: "woocommerce[].source", env: "WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE",
		legacyEnv: "DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SOURCE", legacyKey: "source",
		doc:  "One WooCommerce site URL (with or without trailing slash)",
		kind: text(func(s *Site) *string { return &s.Source }, httpURL)},
	{key: "woocommerce[].secrets", env: "WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET",
		legacyEnv: "DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SECRET", legacyKey: "secret",
		doc:  "Its webhook secret, taken whole: WooCommerce's generated secrets may hold commas and spaces; the YAML file takes a list",
		kind: secrets(func(s *Site) *[]Secret { return &s.Secrets })},
	{key: "woocommerce[].require_payment", env: "WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT",
		legacyEnv: "DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_REQUIRE_PAYMENT", legacyKey: "require_payment",
		def: "false", doc: "Enroll paid orders only (402 for unpaid)",
		kind: boolean(func(s *Site) *bool { return &s.RequirePayment })},
	{key: "woocommerce[].accept_unpaid", env: "WEBHOOK_RECEIVER_WOOCOMMERCE_ACCEPT_UNPAID",
		def: "false", doc: "With `require_payment`: answer 200 and wait for payment instead of 402",
		kind: boolean(func(s *Site) *bool { return &s.AcceptUnpaid })},
	{key: "woocommerce[].unenroll_on_refund", env: "WEBHOOK_RECEIVER_WOOCOMMERCE_UNENROLL_ON_REFUND", def: "false",
		doc: "Unenroll the learners of an order whose status becomes `refunded` or `cancelled`; otherwise it is recorded " +
			"and learners stay. A partial refund is recorded only: the webhook does not say which lines",
		kind: boolean(func(s *Site) *bool { return &s.UnenrollOnRefund })},
	{key: "woocommerce[].consumer_key", env: "WEBHOOK_RECEIVER_WOOCOMMERCE_CONSUMER_KEY", showDef: "none: no API access",
		doc: "REST API consumer key (WooCommerce → Settings → Advanced → REST API, Read/Write); sent over HTTPS only, so " +
			"the site's `source` must be `https://`; lets `webhook-receiver shops` manage the site's webhooks",
		kind: secret(func(s *Site) *Secret { return &s.ConsumerKey }, nil)},
	{key: "woocommerce[].consumer_secret", env: "WEBHOOK_RECEIVER_WOOCOMMERCE_CONSUMER_SECRET", showDef: "none",
		doc:  "Its consumer secret",
		kind: secret(func(s *Site) *Secret { return &s.ConsumerSecret }, nil)},
	{key: "woocommerce[].repair", env: "WEBHOOK_RECEIVER_WOOCOMMERCE_REPAIR", def: "false",
		doc: "When the health check finds one of the site's webhooks disabled, paused, missing or pointing elsewhere, " +
			"reconcile the site's orders and then re-enable or recreate it at `WEBHOOK_RECEIVER_PUBLIC_URL` (needs that " +
			"and API access)",
		kind: boolean(func(s *Site) *bool { return &s.Repair })},
	{key: "courses[].sku", showDef: "none",
		doc: "A course sold in an enrollment mode, by the SKU of its line items (or by `course_id` " +
			"alone, for items whose SKU is the course id)",
		kind: text(func(c *Course) *string { return &c.SKU }, nil)},
	{key: "courses[].course_id",
		doc:  "Its course id (`course-v1:...`), which also saves looking the SKU up",
		kind: text(func(c *Course) *string { return &c.CourseID }, courseID)},
	{key: "courses[].mode",
		doc: "The enrollment mode its buyers get (`verified`, `professional`, ...), through the " +
			"Enrollment API; a learner without an account is enrolled on registration and given the mode by the " +
			"hourly check (`WEBHOOK_RECEIVER_REGISTRATION_WAIT`)",
		kind: text(func(c *Course) *string { return &c.Mode }, notBlank)},
}

// The variables that name the YAML files; Load reads them first.
const (
	envFile       = "WEBHOOK_RECEIVER_CONFIG"
	envLegacyFile = "WEBHOOK_RECEIVER_CFG"
)

// lists are the YAML lists of entries; the fields of their entries are
// the rows whose keys start with "<key>[].".
var lists = []*list{
	{key: "shopify", noun: "shop", id: "shop_domain", others: "Shopify settings",
		idKey: shopKey, items: itemsOf[Shop](func(c *Config) *[]Shop { return &c.Shopify })},
	{key: "woocommerce", noun: "site", id: "source", others: "WooCommerce payment settings",
		idKey: siteKey, items: itemsOf[Site](func(c *Config) *[]Site { return &c.WooCommerce })},
	{key: "courses", noun: "course", id: "sku", others: "course settings",
		idKey: strings.TrimSpace, items: itemsOf[Course](func(c *Config) *[]Course { return &c.Courses })},
}

// legacySettings is the key of the Django app's YAML file under which each
// list has one entry: WEBHOOK_RECEIVER_SETTINGS.shopify.shop_domain.
const legacySettings = "WEBHOOK_RECEIVER_SETTINGS"

// legacyIgnored are the top-level keys of the Django app's YAML file that it
// used and we do not, with what to do instead. They are ignored with a
// warning, as is every other key we do not know.
var legacyIgnored = map[string]string{
	"DATABASES": "set WEBHOOK_RECEIVER_DATABASE_URL instead",
	"LOGGING":   "set WEBHOOK_RECEIVER_LOG_LEVEL and WEBHOOK_RECEIVER_LOG_FORMAT instead",
}

// legacyAccepted are keys of the Django app's YAML file that are accepted
// and ignored without a warning.
var legacyAccepted = map[string]bool{
	// The global WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL applies to every shop.
	legacySettings + ".shopify.send_email": true,
}

// legacyEnvIgnored are the Django app's own environment variables (set by
// its Tutor plugin), with what to do instead.
var legacyEnvIgnored = map[string]string{
	"DJANGO_LOG_LEVEL": "set WEBHOOK_RECEIVER_LOG_LEVEL instead",
}

// setting is one row of the table.
type setting struct {
	key         string              // path in the YAML file; "" for the variables that name the files
	env         string              // environment variable
	legacyEnv   string              // the Django app's variable, read when env is not set
	legacyKey   string              // key in the Django app's YAML file: top-level, or in its list's entry
	legacyValue func(string) string // converts a value of legacyEnv to ours
	flag        string              // the command-line flag that sets it, if any
	def         string              // the default, written as in the environment; "" is the zero value
	showDef     string              // the README's default, when def does not say it
	doc         string              // what it means, one line of Markdown
	kind        kind                // how it is parsed, checked and shown; nil for the file variables
}

// names are the variables of the setting, the new one first.
func (s *setting) names() []string {
	if s.legacyEnv == "" || s.legacyEnv == s.env {
		return []string{s.env}
	}
	return []string{s.env, s.legacyEnv}
}

// listKey splits "shopify[].secrets" into "shopify" and "secrets"; ok is
// false for a setting of the Config itself.
func (s *setting) listKey() (list, field string, ok bool) {
	return strings.Cut(s.key, "[].")
}

// lookup returns the row with this YAML key.
func lookup(key string) *setting {
	for i := range settings {
		if settings[i].key == key && key != "" {
			return &settings[i]
		}
	}
	return nil
}

// The checks Validate applies. Each says what the value must be and, for
// a value that is not a secret, what it was.

func hostPort(s string) error {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return fmt.Errorf("must be host:port or :port, got %q", s)
	}
	return nil
}

// loopbackHostPort is empty, or host:port with host 127.0.0.1, ::1 or localhost.
func loopbackHostPort(s string) error {
	if s == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil || (host != "localhost" && !isLoopbackIP(host)) {
		return fmt.Errorf("must be a loopback host:port such as 127.0.0.1:6060, got %q", s)
	}
	return nil
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func httpURLOrEmpty(s string) error {
	if s == "" {
		return nil
	}
	return httpURL(s)
}

func httpURL(s string) error {
	if !isHTTPURL(s) {
		return fmt.Errorf("must be an absolute http or https URL, got %q", s)
	}
	return nil
}

func bareDomain(s string) error {
	switch key := shopKey(s); {
	case key == "":
		return fmt.Errorf("must not be empty")
	case strings.ContainsAny(key, "/: "):
		return fmt.Errorf("must be a bare domain such as example.myshopify.com, got %q", s)
	}
	return nil
}

// apiVersion accepts a dated Shopify API version, YYYY-MM, or "unstable";
// empty is shopify.DefaultAPIVersion.
func apiVersion(s string) error {
	if s == "" || s == "unstable" {
		return nil
	}
	if t, err := time.Parse("2006-01", s); err != nil || t.Format("2006-01") != s {
		return fmt.Errorf("must be a dated API version such as %s, got %q", shopify.DefaultAPIVersion, s)
	}
	return nil
}

// receiverURLOrEmpty is ParseReceiverURL's rule, or empty.
func receiverURLOrEmpty(s string) error {
	if s == "" {
		return nil
	}
	_, err := ParseReceiverURL(s)
	return err
}

func notNegative(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("must be 0 (off) or positive, got %q", d)
	}
	return nil
}

func atLeast[T int | int64](least T) func(T) error {
	return func(v T) error {
		if v >= least {
			return nil
		}
		if least == 0 {
			return fmt.Errorf("must be 0 or more, got \"%d\"", v)
		}
		return fmt.Errorf("must be at least %d, got \"%d\"", least, v)
	}
}

func positive[T int64 | time.Duration](v T) error {
	if v > 0 {
		return nil
	}
	if d, ok := any(v).(time.Duration); ok {
		return fmt.Errorf("must be positive, got %q", d)
	}
	return fmt.Errorf("must be positive, got \"%d\"", v)
}

func callsPerSecond(r float64) error {
	if r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		return fmt.Errorf("must be a number of calls per second, 0 or more, got \"%v\"", r)
	}
	return nil
}

func oneOf(say string, allowed ...string) func(string) error {
	return func(s string) error {
		for _, a := range allowed {
			if s == a {
				return nil
			}
		}
		return fmt.Errorf("must be %s, got %q", say, s)
	}
}

// shopifyFinancialStatuses are the values of Shopify's financial_status.
var shopifyFinancialStatuses = []string{"pending", "authorized", "partially_paid", "paid", "partially_refunded",
	"refunded", "voided", "expired"}

func financialStatus(s string) error {
	if !slices.Contains(shopifyFinancialStatuses, strings.ToLower(strings.TrimSpace(s))) {
		return fmt.Errorf("must be a Shopify financial status (%s), got %q", strings.Join(shopifyFinancialStatuses, ", "), s)
	}
	return nil
}

func validFinancialStatuses(statuses []string) error {
	for _, s := range statuses {
		if err := financialStatus(s); err != nil {
			return fmt.Errorf("each %w", err)
		}
	}
	return nil
}

func bcryptHash(s Secret) error {
	if s == "" {
		return nil
	}
	if _, err := bcrypt.Cost([]byte(s)); err != nil {
		return fmt.Errorf("must be a bcrypt hash (webhook-receiver hash-password prints one)")
	}
	return nil
}
