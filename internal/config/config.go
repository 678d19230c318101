// Package config reads the receiver's settings: defaults, then the Django
// app's legacy YAML file (WEBHOOK_RECEIVER_CFG), then the new YAML file
// (WEBHOOK_RECEIVER_CONFIG or --config), then the Django app's environment
// variables, then the new ones, then the command-line flags. It keeps
// accepting every setting name of the Django "Open edX Webhook Receiver" so
// the binary is a drop-in replacement.
//
// The environment is passed in as a getenv function; this package never
// reads the process environment itself.
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Shop is a Shopify shop allowed to send webhooks.
type Shop struct {
	// Domain is the shop's myshopify.com domain, lowercased.
	Domain string
	// Secrets verify the webhook signature; several allow rotation.
	Secrets []Secret
}

// Site is a WooCommerce site allowed to send webhooks.
type Site struct {
	// Source is the site URL sent in the X-WC-Webhook-Source header.
	Source  string
	Secrets []Secret
	// RequirePayment enrolls only paid orders.
	RequirePayment bool
	// AcceptUnpaid answers 200 instead of 402 to an unpaid order (when
	// RequirePayment is set) and records it as awaiting payment.
	AcceptUnpaid bool
}

// LMS is the Open edX instance that learners are enrolled in.
type LMS struct {
	// BaseURL is empty when no LMS is configured. (The Django app defaulted
	// to http://localhost:18000; we prefer an explicit warning.)
	BaseURL      string
	OAuth2Key    string
	OAuth2Secret Secret
	// SKUPrefix is put before a SKU that is not a course id to look the
	// course up by redirect: BaseURL/SKUPrefix+SKU.
	SKUPrefix           string
	AutoEnroll          bool
	SendEnrollmentEmail bool
	// RateLimit is bulk-enroll calls per second per process; 0 is unlimited.
	RateLimit float64
	// Timeout bounds each LMS request.
	Timeout time.Duration
	// BatchSize caps the learners of one course enrolled by one call.
	BatchSize int
}

// Config is every setting of the receiver.
type Config struct {
	Listen      string
	DatabaseURL string
	// DatabaseMaxConns caps the PostgreSQL connection pool of this process
	// (SQLite always uses one connection).
	DatabaseMaxConns int
	LMS              LMS
	Shopify          []Shop
	WooCommerce      []Site
	// RetryDelay is the base delay between enrollment attempts.
	RetryDelay  time.Duration
	MaxAttempts int
	// MaxBodyBytes caps the size of a webhook body.
	MaxBodyBytes int64
	// TrustedProxies may set X-Forwarded-For; single IPs are /32 or /128.
	TrustedProxies []netip.Prefix
	// Workers is the number of concurrent enrollment jobs in this process;
	// 0 runs HTTP only.
	Workers int
	// RescueAfter is how long a job may look running before another
	// process takes it to be lost and runs it again; 0 picks the job
	// timeout (4 × LMS timeout) plus 30 s.
	RescueAfter time.Duration
	LogFormat   string
	LogLevel    string
	// MetricsListen serves /metrics on its own address too; /metrics is
	// always served on Listen.
	MetricsListen string
	// Admin is the web console; off while PasswordHash is empty.
	Admin Admin

	// from names, by YAML key, where each setting that Load did not leave
	// at its default came from, so that errors name what the operator
	// wrote: "--listen", "DJANGO_DATABASE_URL",
	// "WEBHOOK_RECEIVER_CONFIG /etc/x.yaml: max_attempts". Never a value.
	from map[string]string
}

// source names where the setting with this YAML key came from; name (its
// environment variable) when Load did not set it.
func (c Config) source(key, name string) string {
	if s, ok := c.from[key]; ok {
		return s
	}
	return name
}

// DatabaseURLSource names the flag, variable or YAML key that gave
// DatabaseURL, for errors about it.
func (c Config) DatabaseURLSource() string {
	return c.source("database_url", "WEBHOOK_RECEIVER_DATABASE_URL")
}

// ListenSource names the flag, variable or YAML key that gave Listen, for
// errors about it.
func (c Config) ListenSource() string {
	return c.source("listen", "WEBHOOK_RECEIVER_LISTEN")
}

// MetricsListenSource names the variable or YAML key that gave
// MetricsListen, for errors about it.
func (c Config) MetricsListenSource() string {
	return c.source("metrics_listen", "WEBHOOK_RECEIVER_METRICS_LISTEN")
}

// Admin is the operator console at /admin/.
type Admin struct {
	User string
	// PasswordHash is a bcrypt hash (webhook-receiver hash-password).
	PasswordHash Secret
}

// Enabled reports whether the console is configured.
func (a Admin) Enabled() bool { return a.PasswordHash != "" }

// Default returns the settings used when nothing is configured.
func Default() Config {
	return Config{
		Listen:           ":8000",
		DatabaseURL:      "sqlite:webhook-receiver.db",
		DatabaseMaxConns: 10,
		LMS: LMS{
			AutoEnroll:          true,
			SendEnrollmentEmail: true,
			RateLimit:           2,
			BatchSize:           50,
			Timeout:             30 * time.Second,
		},
		RetryDelay:   3 * time.Minute,
		MaxAttempts:  25,
		MaxBodyBytes: 5 << 20,
		Workers:      4,
		LogFormat:    "text",
		LogLevel:     "info",
		Admin:        Admin{User: "admin"},
	}
}

// Shop returns the shop with this domain, ignoring case.
func (c Config) Shop(domain string) (Shop, bool) {
	if i := shopIndex(c.Shopify, domain); i >= 0 {
		return c.Shopify[i], true
	}
	return Shop{}, false
}

// Site returns the site with this source URL, with or without a trailing
// slash and ignoring the case of the scheme and host.
func (c Config) Site(source string) (Site, bool) {
	if i := siteIndex(c.WooCommerce, source); i >= 0 {
		return c.WooCommerce[i], true
	}
	return Site{}, false
}

func shopIndex(shops []Shop, domain string) int {
	key := shopKey(domain)
	for i, s := range shops {
		if shopKey(s.Domain) == key {
			return i
		}
	}
	return -1
}

func siteIndex(sites []Site, source string) int {
	key := siteKey(source)
	for i, s := range sites {
		if siteKey(s.Source) == key {
			return i
		}
	}
	return -1
}

func shopKey(domain string) string {
	return strings.ToLower(strings.TrimSpace(domain))
}

// siteKey is the form in which two site URLs compare equal.
func siteKey(source string) string {
	source = strings.TrimSpace(source)
	u, err := url.Parse(source)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return strings.TrimSuffix(source, "/")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u.String()
}

// Warnings describes settings that are valid but probably not what the
// operator wants.
func (c Config) Warnings() []string {
	var w []string
	if len(c.Shopify) == 0 && len(c.WooCommerce) == 0 {
		w = append(w, "no Shopify shop or WooCommerce site is configured: every webhook will be rejected with 403")
	}
	if c.LMS.BaseURL == "" {
		w = append(w, "no LMS is configured (WEBHOOK_RECEIVER_LMS_BASE_URL): enrollments will wait")
	} else if c.LMS.OAuth2Key == "" || c.LMS.OAuth2Secret == "" {
		w = append(w, "WEBHOOK_RECEIVER_OAUTH2_KEY or WEBHOOK_RECEIVER_OAUTH2_SECRET is not set: the LMS will refuse enrollments")
	}
	if c.Workers == 0 {
		w = append(w, "WEBHOOK_RECEIVER_WORKERS is 0: this process receives webhooks but enrolls nobody")
	}
	for i, s := range c.WooCommerce {
		if s.AcceptUnpaid && !s.RequirePayment {
			w = append(w, fmt.Sprintf("woocommerce[%d].accept_unpaid has no effect without require_payment", i))
		}
	}
	return w
}

// Redacted returns the settings one per line, with secrets shown as
// [redacted] and the database password masked, for debugging.
func (c Config) Redacted() string {
	var b strings.Builder
	line := func(name string, value any) { fmt.Fprintf(&b, "%s: %v\n", name, value) }
	line("listen", c.Listen)
	line("database_url", RedactURL(c.DatabaseURL))
	line("lms.base_url", c.LMS.BaseURL)
	line("lms.oauth2_key", c.LMS.OAuth2Key)
	line("lms.oauth2_secret", c.LMS.OAuth2Secret.String())
	line("lms.sku_prefix", c.LMS.SKUPrefix)
	line("lms.auto_enroll", c.LMS.AutoEnroll)
	line("lms.send_enrollment_email", c.LMS.SendEnrollmentEmail)
	line("lms.rate_limit", c.LMS.RateLimit)
	line("lms.timeout", c.LMS.Timeout)
	for i, s := range c.Shopify {
		line(fmt.Sprintf("shopify[%d].shop_domain", i), s.Domain)
		line(fmt.Sprintf("shopify[%d].secrets", i), redactList(s.Secrets))
	}
	for i, s := range c.WooCommerce {
		line(fmt.Sprintf("woocommerce[%d].source", i), s.Source)
		line(fmt.Sprintf("woocommerce[%d].secrets", i), redactList(s.Secrets))
		line(fmt.Sprintf("woocommerce[%d].require_payment", i), s.RequirePayment)
		line(fmt.Sprintf("woocommerce[%d].accept_unpaid", i), s.AcceptUnpaid)
	}
	line("retry_delay", c.RetryDelay)
	line("max_attempts", c.MaxAttempts)
	line("max_body_bytes", c.MaxBodyBytes)
	line("trusted_proxies", c.TrustedProxies)
	line("workers", c.Workers)
	line("log_format", c.LogFormat)
	line("log_level", c.LogLevel)
	return b.String()
}

// redactList shows how many secrets there are without showing them.
func redactList(secrets []Secret) string {
	parts := make([]string, len(secrets))
	for i, s := range secrets {
		parts[i] = s.String()
		if s == "" {
			parts[i] = `""`
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// RedactURL masks the passwords of a database URL, in its user info
// (postgres://user:password@host/db) and in its query (?password=...), for
// logs and output.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if strings.ContainsAny(s, "@?") {
			return redacted // unparseable and may hold a password
		}
		return s
	}
	q := u.Query()
	for key := range q {
		if strings.Contains(strings.ToLower(key), "password") {
			q.Set(key, "xxxxx")
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// JobTimeout bounds one enrollment attempt: a few LMS calls (token, SKU
// lookup, enrollment), each bounded by the LMS timeout.
func (c Config) JobTimeout() time.Duration { return 4 * c.LMS.Timeout }

// RescueDelay is how long a job may look running before it is run again.
func (c Config) RescueDelay() time.Duration {
	if c.RescueAfter > 0 {
		return c.RescueAfter
	}
	return c.JobTimeout() + 30*time.Second
}
