package config

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Flags are the settings given on the command line. They win over every
// other source; empty means not given.
type Flags struct {
	// File is --config: the new YAML file, instead of WEBHOOK_RECEIVER_CONFIG.
	File        string
	Listen      string // --listen
	DatabaseURL string // --database-url
}

// Load builds the configuration from, lowest precedence first: the
// defaults, the Django app's YAML file (WEBHOOK_RECEIVER_CFG), the new YAML
// file (flags.File, or WEBHOOK_RECEIVER_CONFIG), the Django app's
// environment variables, the new ones, and the other flags. It returns
// warnings for the operator, and every problem found, including those of
// Validate, joined in one error; each names where the faulty value came
// from. The Config is returned even with an error, so that a check command
// can show it next to the problems.
func Load(getenv func(string) string, flags Flags) (Config, []string, error) {
	c := Default()
	c.from = map[string]string{}
	e := &env{getenv: getenv, from: c.from}

	if path := e.value("WEBHOOK_RECEIVER_CFG"); path != "" {
		w, err := applyLegacyFile(&c, "WEBHOOK_RECEIVER_CFG", path)
		e.warnings = append(e.warnings, w...)
		if err != nil {
			return c, e.warnings, err
		}
	}
	file, fileName := strings.TrimSpace(flags.File), "--config"
	if file == "" {
		file, fileName = e.value("WEBHOOK_RECEIVER_CONFIG"), "WEBHOOK_RECEIVER_CONFIG"
	}
	if file != "" {
		if err := applyFile(&c, fileName, file); err != nil {
			return c, e.warnings, err
		}
	}
	applyEnv(&c, e)
	applyFlags(&c, flags)
	normalize(&c)

	errs := e.errs
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, append(e.warnings, c.Warnings()...), errors.Join(errs...)
}

// applyFlags applies the command-line flags on top of c.
func applyFlags(c *Config, f Flags) {
	if v := strings.TrimSpace(f.Listen); v != "" {
		c.Listen = v
		c.from["listen"] = "--listen"
	}
	if v := strings.TrimSpace(f.DatabaseURL); v != "" {
		c.DatabaseURL = v
		c.from["database_url"] = "--database-url"
	}
}

// env reads environment variables, collecting every problem instead of
// stopping at the first, and recording in from which variable set each
// setting.
type env struct {
	getenv   func(string) string
	from     map[string]string
	errs     []error
	warnings []string
}

func (e *env) fail(format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf(format, args...))
}

// value returns a variable's trimmed value; empty means unset.
func (e *env) value(name string) string {
	return strings.TrimSpace(e.getenv(name))
}

// lookup returns the value of the first variable set among names (the new
// name, then its legacy alias) and that variable's name, or "", "".
func (e *env) lookup(names ...string) (value, name string) {
	for _, n := range names {
		if v := e.value(n); v != "" {
			return v, n
		}
	}
	return "", ""
}

// record notes that the variable name set the setting with this YAML key.
// An empty key records nothing (a WooCommerce site's settings, which have
// no key of their own).
func (e *env) record(key, name string) {
	if key != "" {
		e.from[key] = name
	}
}

// secret is lookup for secrets: each name may instead be given as
// NAME_FILE, the path of a file holding the value. ok is false when a
// problem was recorded; the value then must not be used. Values are never
// quoted in errors.
func (e *env) secret(names ...string) (value, name string, ok bool) {
	for _, n := range names {
		v, path := e.getenv(n), e.value(n+"_FILE")
		if strings.TrimSpace(v) == "" {
			v = "" // blank counts as unset; otherwise the value is kept as is
		}
		switch {
		case v != "" && path != "":
			e.fail("%s and %s_FILE are both set: use one", n, n)
			return "", n, false
		case v != "":
			return v, n, true
		case path != "":
			s, err := readSecretFile(path)
			if err != nil {
				e.fail("%s_FILE: %w", n, err)
				return "", n, false
			}
			return s, n, true
		}
	}
	return "", "", true
}

// readSecretFile reads a secret from a file, without its trailing newline.
func readSecretFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(data), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

func (e *env) str(key string, dst *string, names ...string) {
	if v, n := e.lookup(names...); n != "" {
		*dst = v
		e.record(key, n)
	}
}

func (e *env) boolean(key string, dst *bool, names ...string) (set bool) {
	v, n := e.lookup(names...)
	if n == "" {
		return false
	}
	b, err := ParseBool(v)
	if err != nil {
		e.fail("%s: %w", n, err)
		return false
	}
	*dst = b
	e.record(key, n)
	return true
}

func (e *env) integer(key string, dst *int, name string) {
	if v := e.value(name); v != "" {
		i, err := strconv.Atoi(v)
		if err != nil {
			e.fail("%s: invalid integer %q", name, v)
			return
		}
		*dst = i
		e.record(key, name)
	}
}

func (e *env) int64(key string, dst *int64, name string) {
	if v := e.value(name); v != "" {
		i, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			e.fail("%s: invalid integer %q", name, v)
			return
		}
		*dst = i
		e.record(key, name)
	}
}

func (e *env) float(key string, dst *float64, name string) {
	if v := e.value(name); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			e.fail("%s: invalid number %q", name, v)
			return
		}
		*dst = f
		e.record(key, name)
	}
}

func (e *env) duration(key string, dst *time.Duration, name string) {
	if v := e.value(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.fail("%s: invalid duration %q (use a Go duration such as 30s or 3m)", name, v)
			return
		}
		*dst = d
		e.record(key, name)
	}
}

// applyEnv applies the environment on top of c; a new name wins over its
// legacy (Django) alias.
func applyEnv(c *Config, e *env) {
	e.str("listen", &c.Listen, "WEBHOOK_RECEIVER_LISTEN")
	if v, n := e.lookup("WEBHOOK_RECEIVER_DATABASE_URL", "DJANGO_DATABASE_URL"); n != "" {
		if n == "DJANGO_DATABASE_URL" {
			v = fromDjangoDatabaseURL(v)
		}
		c.DatabaseURL = v
		e.record("database_url", n)
	}
	e.str("lms.base_url", &c.LMS.BaseURL, "WEBHOOK_RECEIVER_LMS_BASE_URL", "DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL")
	e.str("lms.oauth2_key", &c.LMS.OAuth2Key, "WEBHOOK_RECEIVER_OAUTH2_KEY", "DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_KEY")
	if v, n, ok := e.secret("WEBHOOK_RECEIVER_OAUTH2_SECRET", "DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET"); ok && n != "" {
		c.LMS.OAuth2Secret = Secret(v)
		e.record("lms.oauth2_secret", n)
	}
	e.str("lms.sku_prefix", &c.LMS.SKUPrefix, "WEBHOOK_RECEIVER_SKU_PREFIX", "DJANGO_WEBHOOK_RECEIVER_SKU_PREFIX")
	e.boolean("lms.auto_enroll", &c.LMS.AutoEnroll, "WEBHOOK_RECEIVER_AUTO_ENROLL", "DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL")
	e.boolean("lms.send_enrollment_email", &c.LMS.SendEnrollmentEmail,
		"WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL", "DJANGO_WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL")
	e.float("lms.rate_limit", &c.LMS.RateLimit, "WEBHOOK_RECEIVER_LMS_RATE_LIMIT")
	e.duration("lms.timeout", &c.LMS.Timeout, "WEBHOOK_RECEIVER_LMS_TIMEOUT")
	e.integer("lms.batch_size", &c.LMS.BatchSize, "WEBHOOK_RECEIVER_LMS_BATCH_SIZE")
	e.duration("retry_delay", &c.RetryDelay, "WEBHOOK_RECEIVER_RETRY_DELAY")
	e.integer("max_attempts", &c.MaxAttempts, "WEBHOOK_RECEIVER_MAX_ATTEMPTS")
	e.int64("max_body_bytes", &c.MaxBodyBytes, "WEBHOOK_RECEIVER_MAX_BODY_BYTES")
	e.integer("workers", &c.Workers, "WEBHOOK_RECEIVER_WORKERS")
	e.integer("database_max_conns", &c.DatabaseMaxConns, "WEBHOOK_RECEIVER_DATABASE_MAX_CONNS")
	e.duration("rescue_after", &c.RescueAfter, "WEBHOOK_RECEIVER_RESCUE_AFTER")
	e.str("log_format", &c.LogFormat, "WEBHOOK_RECEIVER_LOG_FORMAT")
	e.str("log_level", &c.LogLevel, "WEBHOOK_RECEIVER_LOG_LEVEL")
	e.str("metrics_listen", &c.MetricsListen, "WEBHOOK_RECEIVER_METRICS_LISTEN")
	e.str("admin.user", &c.Admin.User, "WEBHOOK_RECEIVER_ADMIN_USER")
	if v, n, ok := e.secret("WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH"); ok && n != "" {
		c.Admin.PasswordHash = Secret(v)
		e.record("admin.password_hash", n)
	}
	if v := e.value("WEBHOOK_RECEIVER_TRUSTED_PROXIES"); v != "" {
		prefixes, err := parsePrefixes(v)
		if err != nil {
			e.fail("WEBHOOK_RECEIVER_TRUSTED_PROXIES: %w", err)
		} else {
			c.TrustedProxies = prefixes
			e.record("trusted_proxies", "WEBHOOK_RECEIVER_TRUSTED_PROXIES")
		}
	}
	applyEnvShop(c, e)
	applyEnvSite(c, e)
}

// applyEnvShop merges the single shop of the environment into the list: it
// overrides the entry with the same domain, or is appended.
func applyEnvShop(c *Config, e *env) {
	const domainName, secretName = "WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN", "WEBHOOK_RECEIVER_SHOPIFY_SECRET"
	domain, domainVar := e.lookup(domainName, "DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN")
	secret, secretVar, ok := e.secret(secretName, "DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY")
	if !ok {
		return
	}
	if domain == "" {
		if secretVar != "" {
			e.fail("%s is set but %s is not: name the shop it belongs to", secretVar, domainName)
		}
		return
	}
	if i := shopIndex(c.Shopify, domain); i >= 0 {
		if secretVar != "" {
			c.Shopify[i].Secrets = []Secret{Secret(secret)}
		}
		return
	}
	if secretVar == "" {
		e.fail("%s is set but %s is not: a shop needs its webhook secret", domainVar, secretName)
		return
	}
	c.Shopify = append(c.Shopify, Shop{Domain: domain, Secrets: []Secret{Secret(secret)}})
}

// applyEnvSite merges the single WooCommerce site of the environment into
// the list: it overrides the fields it sets in the entry with the same
// source, or is appended.
func applyEnvSite(c *Config, e *env) {
	const sourceName, secretName = "WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE", "WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET"
	source, sourceVar := e.lookup(sourceName, "DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SOURCE")
	secret, secretVar, ok := e.secret(secretName, "DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SECRET")
	var site Site
	requireSet := e.boolean("", &site.RequirePayment, "WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT", "DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_REQUIRE_PAYMENT")
	acceptSet := e.boolean("", &site.AcceptUnpaid, "WEBHOOK_RECEIVER_WOOCOMMERCE_ACCEPT_UNPAID")
	if !ok {
		return
	}
	if source == "" {
		if secretVar != "" {
			e.fail("%s is set but %s is not: name the site it belongs to", secretVar, sourceName)
		}
		if requireSet || acceptSet {
			e.warnings = append(e.warnings, fmt.Sprintf(
				"the WooCommerce payment settings in the environment are ignored: %s is not set", sourceName))
		}
		return
	}
	if i := siteIndex(c.WooCommerce, source); i >= 0 {
		if secretVar != "" {
			c.WooCommerce[i].Secrets = []Secret{Secret(secret)}
		}
		if requireSet {
			c.WooCommerce[i].RequirePayment = site.RequirePayment
		}
		if acceptSet {
			c.WooCommerce[i].AcceptUnpaid = site.AcceptUnpaid
		}
		return
	}
	if secretVar == "" {
		e.fail("%s is set but %s is not: a site needs its webhook secret", sourceVar, secretName)
		return
	}
	site.Source = source
	site.Secrets = []Secret{Secret(secret)}
	c.WooCommerce = append(c.WooCommerce, site)
}

// parsePrefixes parses a comma-separated list of IPs and CIDR prefixes.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := parsePrefix(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// parsePrefix parses a CIDR prefix, or a single IP as a /32 or /128.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid IP or CIDR %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("invalid IP or CIDR %q", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// normalize puts names in the form the rest of the program compares.
func normalize(c *Config) {
	for i := range c.Shopify {
		c.Shopify[i].Domain = shopKey(c.Shopify[i].Domain)
	}
	for i := range c.WooCommerce {
		c.WooCommerce[i].Source = strings.TrimSpace(c.WooCommerce[i].Source)
	}
	c.LogFormat = strings.ToLower(strings.TrimSpace(c.LogFormat))
	c.LogLevel = strings.ToLower(strings.TrimSpace(c.LogLevel))
}

// fromDjangoDatabaseURL reads a SQLite URL as dj-database-url does, where
// sqlite:///name.db is relative and sqlite:////abs/name.db absolute, and
// returns it in our form (sqlite:name.db, sqlite:/abs/name.db). Other URLs
// are returned unchanged.
func fromDjangoDatabaseURL(v string) string {
	if rest, ok := strings.CutPrefix(v, "sqlite:///"); ok && !strings.HasPrefix(rest, "/") && rest != "" {
		return "sqlite:" + rest
	}
	return v
}
