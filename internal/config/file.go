package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"
)

// fileConfig is the new YAML file (WEBHOOK_RECEIVER_CONFIG). Pointers tell
// a key that is absent from one set to its zero value. keyDecoder fills it
// by the yaml tags: a struct field is a section, a slice of structs a list
// of entries, anything else one setting.
type fileConfig struct {
	Listen           *string    `yaml:"listen"`
	DatabaseURL      *string    `yaml:"database_url"`
	LMS              fileLMS    `yaml:"lms"`
	Shopify          []fileShop `yaml:"shopify"`
	WooCommerce      []fileSite `yaml:"woocommerce"`
	RetryDelay       *string    `yaml:"retry_delay"`
	MaxAttempts      *int       `yaml:"max_attempts"`
	MaxBodyBytes     *int64     `yaml:"max_body_bytes"`
	TrustedProxies   *[]string  `yaml:"trusted_proxies"`
	Workers          *int       `yaml:"workers"`
	DatabaseMaxConns *int       `yaml:"database_max_conns"`
	RescueAfter      *string    `yaml:"rescue_after"`
	LogFormat        *string    `yaml:"log_format"`
	LogLevel         *string    `yaml:"log_level"`
	MetricsListen    *string    `yaml:"metrics_listen"`
	Admin            fileAdmin  `yaml:"admin"`
}

type fileAdmin struct {
	User             *string `yaml:"user"`
	PasswordHash     *Secret `yaml:"password_hash"`
	PasswordHashFile *string `yaml:"password_hash_file"`
}

type fileLMS struct {
	BaseURL             *string   `yaml:"base_url"`
	OAuth2Key           *string   `yaml:"oauth2_key"`
	OAuth2Secret        *Secret   `yaml:"oauth2_secret"`
	OAuth2SecretFile    *string   `yaml:"oauth2_secret_file"`
	SKUPrefix           *string   `yaml:"sku_prefix"`
	AutoEnroll          *yamlBool `yaml:"auto_enroll"`
	SendEnrollmentEmail *yamlBool `yaml:"send_enrollment_email"`
	RateLimit           *float64  `yaml:"rate_limit"`
	Timeout             *string   `yaml:"timeout"`
	BatchSize           *int      `yaml:"batch_size"`
}

type fileShop struct {
	Domain  string     `yaml:"shop_domain"`
	Secrets secretList `yaml:"secrets"`
}

type fileSite struct {
	Source         string     `yaml:"source"`
	Secrets        secretList `yaml:"secrets"`
	RequirePayment yamlBool   `yaml:"require_payment"`
	AcceptUnpaid   yamlBool   `yaml:"accept_unpaid"`
}

// yamlBool accepts the same spellings as ParseBool.
type yamlBool bool

func (b *yamlBool) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a boolean", n.Line)
	}
	v, err := ParseBool(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = yamlBool(v)
	return nil
}

// secretList is a list of secrets, or one secret as a plain string. It
// decodes by hand so that no decoding error can quote a secret.
type secretList []Secret

func (l *secretList) UnmarshalYAML(n *yaml.Node) error {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		*l = nil
	case n.Kind == yaml.ScalarNode:
		*l = secretList{Secret(n.Value)}
	case n.Kind == yaml.SequenceNode:
		out := make(secretList, 0, len(n.Content))
		for _, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: each secret must be a string", item.Line)
			}
			out = append(out, Secret(item.Value))
		}
		*l = out
	default:
		return fmt.Errorf("line %d: secrets must be a list of strings", n.Line)
	}
	return nil
}

// applyFile applies the new YAML file at path on top of c. name is the
// flag or variable that named the file; errors start with it and the path.
func applyFile(c *Config, name, path string) error {
	file := name + " " + path
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", file, syntaxError(err))
	}
	var f fileConfig
	if len(doc.Content) > 0 {
		d := &keyDecoder{file: file, from: c.from}
		d.mapping(doc.Content[0], "", reflect.ValueOf(&f).Elem())
		if len(d.errs) > 0 {
			return errors.Join(d.errs...)
		}
	}
	if err := applyFileConfig(c, f); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if f.Admin.PasswordHashFile != nil {
		c.from["admin.password_hash"] = c.from["admin.password_hash_file"]
	}
	return nil
}

// applyFileConfig applies the decoded file on top of c.
func applyFileConfig(c *Config, f fileConfig) error {
	set(&c.Listen, f.Listen)
	set(&c.DatabaseURL, f.DatabaseURL)
	set(&c.LMS.BaseURL, f.LMS.BaseURL)
	set(&c.LMS.OAuth2Key, f.LMS.OAuth2Key)
	if err := applyFileSecret(c, f.LMS); err != nil {
		return err
	}
	set(&c.LMS.SKUPrefix, f.LMS.SKUPrefix)
	setBool(&c.LMS.AutoEnroll, f.LMS.AutoEnroll)
	setBool(&c.LMS.SendEnrollmentEmail, f.LMS.SendEnrollmentEmail)
	set(&c.LMS.RateLimit, f.LMS.RateLimit)
	set(&c.LMS.BatchSize, f.LMS.BatchSize)
	err := errors.Join(
		setDuration(&c.LMS.Timeout, f.LMS.Timeout, "lms.timeout"),
		setDuration(&c.RetryDelay, f.RetryDelay, "retry_delay"),
		setDuration(&c.RescueAfter, f.RescueAfter, "rescue_after"),
	)
	if err != nil {
		return err
	}
	set(&c.MaxAttempts, f.MaxAttempts)
	set(&c.MaxBodyBytes, f.MaxBodyBytes)
	set(&c.Workers, f.Workers)
	set(&c.DatabaseMaxConns, f.DatabaseMaxConns)
	set(&c.LogFormat, f.LogFormat)
	set(&c.LogLevel, f.LogLevel)
	set(&c.MetricsListen, f.MetricsListen)
	set(&c.Admin.User, f.Admin.User)
	set(&c.Admin.PasswordHash, f.Admin.PasswordHash)
	if f.Admin.PasswordHashFile != nil {
		h, err := readSecretFile(*f.Admin.PasswordHashFile)
		if err != nil {
			return fmt.Errorf("admin.password_hash_file: %w", err)
		}
		c.Admin.PasswordHash = Secret(h)
	}
	if f.TrustedProxies != nil {
		c.TrustedProxies = nil
		for i, s := range *f.TrustedProxies {
			p, err := parsePrefix(s)
			if err != nil {
				return fmt.Errorf("trusted_proxies[%d]: %w", i, err)
			}
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}

	var shops []Shop
	for _, s := range f.Shopify {
		shops = append(shops, Shop{Domain: s.Domain, Secrets: s.Secrets})
	}
	c.Shopify = mergeShops(c.Shopify, shops)
	var sites []Site
	for _, s := range f.WooCommerce {
		sites = append(sites, Site{
			Source:         s.Source,
			Secrets:        s.Secrets,
			RequirePayment: bool(s.RequirePayment),
			AcceptUnpaid:   bool(s.AcceptUnpaid),
		})
	}
	c.WooCommerce = mergeSites(c.WooCommerce, sites)
	return nil
}

// applyFileSecret applies lms.oauth2_secret or lms.oauth2_secret_file.
func applyFileSecret(c *Config, f fileLMS) error {
	switch {
	case f.OAuth2Secret != nil && f.OAuth2SecretFile != nil:
		return fmt.Errorf("lms.oauth2_secret and lms.oauth2_secret_file are both set: use one")
	case f.OAuth2Secret != nil:
		c.LMS.OAuth2Secret = *f.OAuth2Secret
	case f.OAuth2SecretFile != nil:
		s, err := readSecretFile(*f.OAuth2SecretFile)
		if err != nil {
			return fmt.Errorf("lms.oauth2_secret_file: %w", err)
		}
		c.LMS.OAuth2Secret = Secret(s)
	}
	return nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// setDuration parses durations here rather than in the decoder, so that
// the error names the key.
func setDuration(dst *time.Duration, v *string, name string) error {
	if v == nil {
		return nil
	}
	d, err := time.ParseDuration(*v)
	if err != nil {
		return fmt.Errorf("%s: invalid duration %q (use a Go duration such as 30s or 3m)", name, *v)
	}
	*dst = d
	return nil
}

func setBool(dst *bool, v *yamlBool) {
	if v != nil {
		*dst = bool(*v)
	}
}

// mergeShops puts the new file's shops first (so their indexes match the
// file), followed by the legacy file's shop unless a new entry has its domain.
func mergeShops(older, newer []Shop) []Shop {
	out := newer
	for _, o := range older {
		if shopIndex(newer, o.Domain) < 0 {
			out = append(out, o)
		}
	}
	return out
}

// mergeSites is mergeShops for WooCommerce sites.
func mergeSites(older, newer []Site) []Site {
	out := newer
	for _, o := range older {
		if siteIndex(newer, o.Source) < 0 {
			out = append(out, o)
		}
	}
	return out
}

// applyLegacyFile applies the Django app's YAML file, whose top-level keys
// are Django setting names. Settings that only Django used are ignored with
// a warning that names the key, never its value. name is the variable that
// named the file; errors and warnings start with it and the path.
func applyLegacyFile(c *Config, name, path string) ([]string, error) {
	file := name + " " + path
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, syntaxError(err))
	}
	if len(doc.Content) == 0 {
		return nil, nil // empty file
	}
	top, err := mapping(doc.Content[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}

	var warnings []string
	var errs []error
	// decode decodes the value of a top-level key into the setting with
	// this key in the new file.
	decode := func(kv keyValue, setting string, dst any) bool {
		if err := decodeLegacy(kv.value, dst); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", file, kv.key, err))
			return false
		}
		c.from[setting] = file + ": " + kv.key
		return true
	}
	for _, kv := range top {
		var b yamlBool
		switch kv.key {
		case "WEBHOOK_RECEIVER_LMS_BASE_URL":
			decode(kv, "lms.base_url", &c.LMS.BaseURL)
		case "WEBHOOK_RECEIVER_EDX_OAUTH2_KEY":
			decode(kv, "lms.oauth2_key", &c.LMS.OAuth2Key)
		case "WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET":
			if kv.value.Kind != yaml.ScalarNode {
				errs = append(errs, fmt.Errorf("%s: %s: line %d: expected a string", file, kv.key, kv.value.Line))
				continue
			}
			c.LMS.OAuth2Secret = Secret(kv.value.Value)
			c.from["lms.oauth2_secret"] = file + ": " + kv.key
		case "WEBHOOK_RECEIVER_SKU_PREFIX":
			decode(kv, "lms.sku_prefix", &c.LMS.SKUPrefix)
		case "WEBHOOK_RECEIVER_AUTO_ENROLL":
			if decode(kv, "lms.auto_enroll", &b) {
				c.LMS.AutoEnroll = bool(b)
			}
		case "WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL":
			if decode(kv, "lms.send_enrollment_email", &b) {
				c.LMS.SendEnrollmentEmail = bool(b)
			}
		case "WEBHOOK_RECEIVER_SETTINGS":
			w, err := applyLegacySettings(c, kv.value)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", file, err))
			}
			for _, s := range w {
				warnings = append(warnings, fmt.Sprintf("%s: %s", file, s))
			}
		default:
			warnings = append(warnings, fmt.Sprintf("%s: ignoring %s: webhook-receiver does not use it%s",
				file, kv.key, legacyHint(kv.key)))
		}
	}
	return warnings, errors.Join(errs...)
}

// legacyHint points from a Django-only setting to its replacement.
func legacyHint(key string) string {
	switch key {
	case "DATABASES":
		return " (set WEBHOOK_RECEIVER_DATABASE_URL instead)"
	case "LOGGING":
		return " (set WEBHOOK_RECEIVER_LOG_LEVEL and WEBHOOK_RECEIVER_LOG_FORMAT instead)"
	}
	return ""
}

// applyLegacySettings reads WEBHOOK_RECEIVER_SETTINGS: one Shopify shop and
// one WooCommerce site. Errors start with the key's path.
func applyLegacySettings(c *Config, n *yaml.Node) ([]string, error) {
	sections, err := mapping(n)
	if err != nil {
		return nil, fmt.Errorf("WEBHOOK_RECEIVER_SETTINGS: %w", err)
	}
	var warnings []string
	for _, section := range sections {
		fields, err := mapping(section.value)
		if err != nil {
			return warnings, fmt.Errorf("WEBHOOK_RECEIVER_SETTINGS.%s: %w", section.key, err)
		}
		switch section.key {
		case "shopify":
			var shop Shop
			for _, f := range fields {
				switch f.key {
				case "shop_domain":
					err = decodeLegacy(f.value, &shop.Domain)
				case "api_key": // the Django app's name for the webhook signing secret
					shop.Secrets, err = legacySecret(f.value)
				case "send_email":
					// Accepted for compatibility and ignored: the global
					// WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL applies.
				default:
					warnings = append(warnings, fmt.Sprintf("ignoring unknown key WEBHOOK_RECEIVER_SETTINGS.shopify.%s", f.key))
				}
				if err != nil {
					return warnings, fmt.Errorf("WEBHOOK_RECEIVER_SETTINGS.shopify.%s: %w", f.key, err)
				}
			}
			if shop.Domain != "" || len(shop.Secrets) > 0 {
				c.Shopify = mergeShops(c.Shopify, []Shop{shop})
			}
		case "woocommerce":
			var site Site
			for _, f := range fields {
				switch f.key {
				case "source":
					err = decodeLegacy(f.value, &site.Source)
				case "secret":
					site.Secrets, err = legacySecret(f.value)
				case "require_payment":
					var b yamlBool
					err = decodeLegacy(f.value, &b)
					site.RequirePayment = bool(b)
				default:
					warnings = append(warnings, fmt.Sprintf("ignoring unknown key WEBHOOK_RECEIVER_SETTINGS.woocommerce.%s", f.key))
				}
				if err != nil {
					return warnings, fmt.Errorf("WEBHOOK_RECEIVER_SETTINGS.woocommerce.%s: %w", f.key, err)
				}
			}
			if site.Source != "" || len(site.Secrets) > 0 {
				c.WooCommerce = mergeSites(c.WooCommerce, []Site{site})
			}
		default:
			warnings = append(warnings, fmt.Sprintf("ignoring unknown key WEBHOOK_RECEIVER_SETTINGS.%s", section.key))
		}
	}
	return warnings, nil
}

// decodeLegacy decodes one value, with an error that says what it should
// have been.
func decodeLegacy(n *yaml.Node, dst any) error {
	if err := n.Decode(dst); err != nil {
		return decodeError(n, reflect.TypeOf(dst), err)
	}
	return nil
}

// legacySecret reads a single secret without ever quoting it in an error.
func legacySecret(n *yaml.Node) ([]Secret, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("line %d: expected a string", n.Line)
	}
	if n.Tag == "!!null" || n.Value == "" {
		return nil, nil
	}
	return []Secret{Secret(n.Value)}, nil
}

type keyValue struct {
	key   string
	value *yaml.Node
}

// mapping returns the pairs of a YAML mapping in file order; null is an
// empty mapping.
func mapping(n *yaml.Node) ([]keyValue, error) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	var out []keyValue
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, keyValue{key: n.Content[i].Value, value: n.Content[i+1]})
	}
	return out, nil
}
