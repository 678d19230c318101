package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Validate reports every invalid setting at once, each naming where the
// setting came from (a flag, an environment variable, or a YAML file and
// key) when Load set it, and else its environment variable, or its YAML
// path for things only YAML can say. Secret values never appear in the
// errors.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}

	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad(c.source("listen", "WEBHOOK_RECEIVER_LISTEN"), "must be host:port or :port, got %q", c.Listen)
	}
	if strings.TrimSpace(c.DatabaseURL) == "" {
		bad(c.source("database_url", "WEBHOOK_RECEIVER_DATABASE_URL"), "must not be empty")
	}
	if c.LMS.BaseURL != "" && !isHTTPURL(c.LMS.BaseURL) {
		bad(c.source("lms.base_url", "WEBHOOK_RECEIVER_LMS_BASE_URL"), "must be an absolute http or https URL, got %q", c.LMS.BaseURL)
	}
	if r := c.LMS.RateLimit; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
		bad(c.source("lms.rate_limit", "WEBHOOK_RECEIVER_LMS_RATE_LIMIT"), "must be a number of calls per second, 0 or more, got \"%v\"", r)
	}
	if c.LMS.BatchSize < 1 {
		bad(c.source("lms.batch_size", "WEBHOOK_RECEIVER_LMS_BATCH_SIZE"), "must be at least 1, got \"%d\"", c.LMS.BatchSize)
	}
	if c.LMS.Timeout <= 0 {
		bad(c.source("lms.timeout", "WEBHOOK_RECEIVER_LMS_TIMEOUT"), "must be positive, got %q", c.LMS.Timeout)
	}
	if c.RetryDelay <= 0 {
		bad(c.source("retry_delay", "WEBHOOK_RECEIVER_RETRY_DELAY"), "must be positive, got %q", c.RetryDelay)
	}
	if c.MaxAttempts < 1 {
		bad(c.source("max_attempts", "WEBHOOK_RECEIVER_MAX_ATTEMPTS"), "must be at least 1, got \"%d\"", c.MaxAttempts)
	}
	if c.MaxBodyBytes <= 0 {
		bad(c.source("max_body_bytes", "WEBHOOK_RECEIVER_MAX_BODY_BYTES"), "must be positive, got \"%d\"", c.MaxBodyBytes)
	}
	for i, p := range c.TrustedProxies {
		if !p.IsValid() {
			bad(fmt.Sprintf("trusted_proxies[%d]", i), "invalid prefix")
		}
	}
	if c.Workers < 0 {
		bad(c.source("workers", "WEBHOOK_RECEIVER_WORKERS"), "must be 0 or more, got \"%d\"", c.Workers)
	}
	if c.DatabaseMaxConns < 1 {
		bad(c.source("database_max_conns", "WEBHOOK_RECEIVER_DATABASE_MAX_CONNS"), "must be at least 1, got \"%d\"", c.DatabaseMaxConns)
	}
	if c.RescueAfter < 0 || (c.RescueAfter > 0 && c.RescueAfter <= c.JobTimeout()) {
		bad(c.source("rescue_after", "WEBHOOK_RECEIVER_RESCUE_AFTER"), "must be longer than a job may run (4 × WEBHOOK_RECEIVER_LMS_TIMEOUT = %s), got %q",
			c.JobTimeout(), c.RescueAfter)
	}
	if c.Admin.Enabled() {
		if _, err := bcrypt.Cost([]byte(c.Admin.PasswordHash)); err != nil {
			bad(c.source("admin.password_hash", "WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH"), "must be a bcrypt hash (webhook-receiver hash-password prints one)")
		}
		if strings.TrimSpace(c.Admin.User) == "" {
			bad(c.source("admin.user", "WEBHOOK_RECEIVER_ADMIN_USER"), "must not be empty")
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad(c.source("log_format", "WEBHOOK_RECEIVER_LOG_FORMAT"), "must be text or json, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad(c.source("log_level", "WEBHOOK_RECEIVER_LOG_LEVEL"), "must be debug, info, warn or error, got %q", c.LogLevel)
	}

	seenShops := map[string]int{}
	for i, s := range c.Shopify {
		entry := fmt.Sprintf("shopify[%d]", i)
		name := c.source(entry, entry)
		key := shopKey(s.Domain)
		switch {
		case key == "":
			bad(name+".shop_domain", "must not be empty")
		case strings.ContainsAny(key, "/: "):
			bad(name+".shop_domain", "must be a bare domain such as example.myshopify.com, got %q", s.Domain)
		}
		if j, ok := seenShops[key]; ok && key != "" {
			bad(name+".shop_domain", "%q is already configured as shopify[%d]", s.Domain, j)
		} else {
			seenShops[key] = i
		}
		if !hasSecret(s.Secrets) {
			bad(name+".secrets", "at least one non-empty secret is required for shop %q", s.Domain)
		}
	}

	seenSites := map[string]int{}
	for i, s := range c.WooCommerce {
		entry := fmt.Sprintf("woocommerce[%d]", i)
		name := c.source(entry, entry)
		key := siteKey(s.Source)
		if !isHTTPURL(s.Source) {
			bad(name+".source", "must be an absolute http or https URL, got %q", s.Source)
		}
		if j, ok := seenSites[key]; ok && key != "" {
			bad(name+".source", "%q is already configured as woocommerce[%d]", s.Source, j)
		} else {
			seenSites[key] = i
		}
		if !hasSecret(s.Secrets) {
			bad(name+".secrets", "at least one non-empty secret is required for site %q", s.Source)
		}
	}
	return errors.Join(errs...)
}

func hasSecret(secrets []Secret) bool {
	for _, s := range secrets {
		if s != "" {
			return true
		}
	}
	return false
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return (scheme == "http" || scheme == "https") && u.Host != ""
}
