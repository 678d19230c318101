// Package config reads the receiver's settings: defaults, then the Django
// app's legacy YAML file (WEBHOOK_RECEIVER_CFG), then the new YAML file
// (WEBHOOK_RECEIVER_CONFIG or --config), then the Django app's environment
// variables, then the new ones, then the command-line flags. It keeps
// accepting every setting name of the Django "Open edX Webhook Receiver" so
// the binary is a drop-in replacement.
//
// Every setting is one row of the table in settings.go, which the loaders,
// the defaults, the checks and the README's configuration table all read.
// The environment is passed in as a getenv function; this package never
// reads the process environment itself.
package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Shop is a Shopify shop allowed to send webhooks.
type Shop struct {
	// Domain is the shop's myshopify.com domain, lowercased.
	Domain string
	// Secrets verify the webhook signature; several allow rotation.
	Secrets []Secret
	// RequirePayment enrolls an order once its financial status is one of
	// PaidStatuses; until then it is stored as awaiting payment.
	RequirePayment bool
	// PaidStatuses are the financial statuses that count as paid;
	// empty means enroll.PaidStatuses.
	PaidStatuses []string
	// UnenrollOnRefund unenrolls the learners of refunded lines and of
	// cancelled orders.
	UnenrollOnRefund bool
	// APIToken is the Admin API access token of a custom app
	// (X-Shopify-Access-Token); empty: no API access.
	APIToken Secret
	// ClientID and ClientSecret are an app's from the Dev Dashboard, which
	// gets its tokens by the client-credentials grant; instead of APIToken.
	ClientID     string
	ClientSecret Secret
	// APIVersion is the dated Admin API version the API is called with.
	APIVersion string
	// Repair lets the health check recreate a subscription it finds down,
	// after reconciling the shop's orders (needs PublicURL and API access).
	Repair bool
}

// HasAPI reports whether the shop's Admin API can be called.
func (s Shop) HasAPI() bool { return s.APIToken != "" || (s.ClientID != "" && s.ClientSecret != "") }

// AwaitsPayment reports whether an order of the shop in this financial
// status waits for payment before its learners are enrolled.
func (s Shop) AwaitsPayment(financialStatus string) bool {
	return s.RequirePayment && !enroll.IsPaid(financialStatus, s.PaidStatuses)
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
	// UnenrollOnRefund unenrolls the learners of refunded and cancelled orders.
	UnenrollOnRefund bool
	// ConsumerKey and ConsumerSecret reach the site's REST API (HTTP Basic,
	// over HTTPS only); empty: no API access.
	ConsumerKey    Secret
	ConsumerSecret Secret
	// Repair lets the health check re-enable or recreate a webhook it finds
	// down, after reconciling the site's orders (needs PublicURL and API
	// access).
	Repair bool
}

// HasAPI reports whether the site's REST API can be called.
func (s Site) HasAPI() bool { return s.ConsumerKey != "" && s.ConsumerSecret != "" }

// StoredSource is the site as its orders, deliveries and reconciliations
// are stored: its URL without the trailing slash.
func (s Site) StoredSource() string { return strings.TrimRight(s.Source, "/") }

// AwaitsPayment reports whether an order of the site waits for payment
// before its learners are enrolled.
func (s Site) AwaitsPayment(o enroll.Order) bool { return s.RequirePayment && !o.Paid }

// RefusesUnpaid reports whether an order of the site is refused (402)
// rather than stored: it awaits payment, the site does not accept unpaid
// orders, and it is neither refunded nor cancelled (which is recorded,
// paid or not).
func (s Site) RefusesUnpaid(o enroll.Order) bool {
	return s.AwaitsPayment(o) && !s.AcceptUnpaid && !o.Cancelled && !o.Refunded
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
	// Courses are the courses sold in an enrollment mode other than the
	// default (YAML only).
	Courses []Course
	// RegistrationWait is how long an item of a course sold in a mode waits
	// for its learner to register before it fails.
	RegistrationWait time.Duration
	// RetryDelay is the base delay between enrollment attempts.
	RetryDelay  time.Duration
	MaxAttempts int
	// MaxBodyBytes caps the size of a webhook body.
	MaxBodyBytes int64
	// MaxInflightBytes caps the webhook body bytes held in memory at once;
	// past it, webhooks are answered 503 with Retry-After.
	MaxInflightBytes int64
	// TrustedProxies may set X-Forwarded-For; single IPs are /32 or /128.
	TrustedProxies []netip.Prefix
	// Workers is the number of concurrent enrollment jobs in this process;
	// 0 runs HTTP only.
	Workers int
	// RescueAfter is how long a job may look running before another
	// process takes it to be lost and runs it again; 0 picks the job
	// timeout (4 × LMS timeout) plus 30 s.
	RescueAfter time.Duration
	// Retention, when not 0, is the age past which a daily job drops the
	// raw bodies and headers of finished orders' and rejected deliveries.
	Retention time.Duration
	LogFormat string
	LogLevel  string
	// MetricsListen, when set, serves /metrics on an address of its own,
	// and only there: Listen then does not serve it.
	MetricsListen string
	// PprofListen, when set, serves net/http/pprof on this loopback
	// address, to profile the service under load; empty turns it off.
	PprofListen string
	// Admin is the web console; off while PasswordHash is empty.
	Admin Admin
	// PublicURL is the receiver's public https:// base URL as the shops
	// reach it (ParseReceiverURL); empty when not configured.
	PublicURL string
	// ShopCheckEvery and ReconcileEvery are the intervals of the periodic
	// health check and reconciliation of the shops with API access; 0 is
	// off. ReconcileLookback is how far back a reconciliation reads.
	ShopCheckEvery    time.Duration
	ReconcileEvery    time.Duration
	ReconcileLookback time.Duration

	// from records where Load found each setting.
	from *origin
}

// origin records where Load found the settings of a Config.
type origin struct {
	// keys names, by YAML key, where each setting that Load did not leave
	// at its default came from, so that errors name what the operator
	// wrote: "--listen", "DJANGO_DATABASE_URL",
	// "WEBHOOK_RECEIVER_CONFIG /etc/x.yaml: max_attempts". Never a value.
	// The fields of a list's entries have keys such as "shopify[0].secrets".
	keys map[string]string
	// legacy are the Django app's names that Load read.
	legacy []string
}

// Source names the flag, variable, or YAML file and key that gave the
// setting with this YAML key ("lms.timeout", "shopify[0].secrets"), for
// errors about it: when Load did not set it, its environment variable (or
// the key itself, for the fields of a list's entries).
func (c Config) Source(key string) string {
	if c.from != nil {
		if s, ok := c.from.keys[key]; ok {
			return s
		}
	}
	if s := lookup(key); s != nil && s.env != "" {
		return s.env
	}
	return key
}

// DatabaseURLSource names the flag, variable or YAML key that gave
// DatabaseURL, for errors about it.
func (c Config) DatabaseURLSource() string { return c.Source("database_url") }

// LegacyNames lists the Django app's names that Load read: its environment
// variables that set a setting, and WEBHOOK_RECEIVER_CFG when its file was
// read, so that an operator sees at start which old names are still in use.
func (c Config) LegacyNames() []string {
	if c.from == nil {
		return nil
	}
	return slices.Clone(c.from.legacy)
}

// ListenSource names the flag, variable or YAML key that gave Listen, for
// errors about it.
func (c Config) ListenSource() string { return c.Source("listen") }

// MetricsListenSource names the variable or YAML key that gave
// MetricsListen, for errors about it.
func (c Config) MetricsListenSource() string { return c.Source("metrics_listen") }

// Admin is the operator console at /admin/.
type Admin struct {
	User string
	// PasswordHash is a bcrypt hash (webhook-receiver hash-password).
	PasswordHash Secret
}

// Enabled reports whether the console is configured.
func (a Admin) Enabled() bool { return a.PasswordHash != "" }

// Default returns the settings used when nothing is configured: the
// defaults of the settings table.
func Default() Config {
	var c Config
	for i := range settings {
		s := &settings[i]
		if _, _, inList := s.listKey(); inList || s.def == "" {
			continue
		}
		if err := s.kind.parse(&c, s.def); err != nil {
			panic(fmt.Sprintf("config: the default of %s does not parse: %v", s.key, err)) // a mistake in the table
		}
	}
	return c
}

// ShopRef is a configured Shopify shop or WooCommerce site as the
// operations that treat both alike see it.
type ShopRef struct {
	Platform enroll.Platform
	Name     string // the shop domain or site URL, as configured
	Stored   string // its name as its orders and reconciliations are stored
	HasAPI   bool
	Repair   bool
}

func (s Shop) ref() ShopRef {
	return ShopRef{Platform: enroll.Shopify, Name: s.Domain, Stored: s.Domain, HasAPI: s.HasAPI(), Repair: s.Repair}
}

func (s Site) ref() ShopRef {
	return ShopRef{Platform: enroll.WooCommerce, Name: s.Source, Stored: s.StoredSource(), HasAPI: s.HasAPI(), Repair: s.Repair}
}

// ShopRefs lists the configured Shopify shops, then the WooCommerce sites.
func (c Config) ShopRefs() []ShopRef {
	var out []ShopRef
	for _, s := range c.Shopify {
		out = append(out, s.ref())
	}
	for _, s := range c.WooCommerce {
		out = append(out, s.ref())
	}
	return out
}

// FindShop returns the configured shop or site of platform p named source,
// compared as Shop and Site compare names; p "" looks on both platforms.
func (c Config) FindShop(p enroll.Platform, source string) (ShopRef, bool) {
	if s, ok := c.Shop(source); ok && (p == "" || p == enroll.Shopify) {
		return s.ref(), true
	}
	if s, ok := c.Site(source); ok && (p == "" || p == enroll.WooCommerce) {
		return s.ref(), true
	}
	return ShopRef{}, false
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

// shopKey and siteKey are enroll's one rule for two names of one shop.
func shopKey(domain string) string { return enroll.SourceKey(enroll.Shopify, domain) }

func siteKey(source string) string { return enroll.SourceKey(enroll.WooCommerce, source) }

// ParseReceiverURL checks the receiver's public base URL, under which the
// shops deliver: an absolute https:// URL without user, query or fragment.
// The result has no trailing slash.
func ParseReceiverURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("must be the receiver's public address, an absolute https:// URL such as "+
			"https://webhooks.lms.example.com, got %q", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// HasAPI reports whether some shop or site has API access: the periodic
// health check and reconciliation have something to do.
func (c Config) HasAPI() bool {
	for _, s := range c.Shopify {
		if s.HasAPI() {
			return true
		}
	}
	for _, s := range c.WooCommerce {
		if s.HasAPI() {
			return true
		}
	}
	return false
}

// Warnings describes settings that are valid but probably not what the
// operator wants. (Load adds its own: ignored keys of the Django app's
// file, and the like.)
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

// Redacted returns the settings one per line, by YAML key, with secrets
// shown as [redacted] and the database password masked, for debugging.
func (c Config) Redacted() string {
	var b strings.Builder
	for i := range settings {
		s := &settings[i]
		if _, _, inList := s.listKey(); !inList && s.kind != nil {
			fmt.Fprintf(&b, "%s: %s\n", s.key, s.kind.show(&c))
		}
	}
	for _, lst := range lists {
		for i := range lst.items.len(&c) {
			for _, s := range lst.fields() {
				_, field, _ := s.listKey()
				fmt.Fprintf(&b, "%s[%d].%s: %s\n", lst.key, i, field, s.kind.show(lst.items.at(&c, i)))
			}
		}
	}
	return b.String()
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
