package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Validate reports every invalid setting at once, each naming where the
// setting came from (a flag, an environment variable, or a YAML file and
// key) when Load set it, and else its environment variable, or its YAML
// path for the fields of a list's entries. Each setting is checked by its
// row of the settings table; the rules that tie settings together follow.
// Secret values never appear in the errors.
func (c Config) Validate() error {
	var errs []error
	bad := func(name string, err error) {
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	for i := range settings {
		s := &settings[i]
		if _, _, inList := s.listKey(); inList || s.kind == nil {
			continue
		}
		if err := s.kind.check(&c); err != nil {
			bad(c.Source(s.key), err)
		}
	}
	if c.RescueAfter < 0 || (c.RescueAfter > 0 && c.RescueAfter <= c.JobTimeout()) {
		bad(c.Source("rescue_after"), fmt.Errorf("must be longer than a job may run (4 × WEBHOOK_RECEIVER_LMS_TIMEOUT = %s), got %q",
			c.JobTimeout(), c.RescueAfter))
	}
	if c.MaxBodyBytes > 0 && c.MaxInflightBytes > 0 && c.MaxInflightBytes < c.MaxBodyBytes {
		bad(c.Source("max_inflight_bytes"), fmt.Errorf("must be at least WEBHOOK_RECEIVER_MAX_BODY_BYTES (%d), got \"%d\"",
			c.MaxBodyBytes, c.MaxInflightBytes))
	}
	if c.Admin.Enabled() && strings.TrimSpace(c.Admin.User) == "" {
		bad(c.Source("admin.user"), errors.New("must not be empty"))
	}
	for _, lst := range lists {
		errs = append(errs, c.validateList(lst)...)
	}
	errs = append(errs, c.validateCourses()...)
	errs = append(errs, c.validateAPIAccess()...)
	errs = append(errs, c.validateRepair()...)
	return errors.Join(errs...)
}

// validateList checks each entry of a list: its fields, that it has a
// secret, and that no other entry has its id.
func (c Config) validateList(lst *list) []error {
	var errs []error
	seen := map[string]int{}
	for i := range lst.items.len(&c) {
		e := lst.items.at(&c, i)
		entry := fmt.Sprintf("%s[%d]", lst.key, i)
		name := func(field string) string { return c.Source(entry + "." + field) }
		id := lst.idOf(e)
		for _, s := range lst.fields() {
			_, field, _ := s.listKey()
			switch err := s.kind.check(e); {
			case errors.Is(err, errNoSecret):
				errs = append(errs, fmt.Errorf("%s: %w for %s %q", name(field), err, lst.noun, id))
			case err != nil:
				errs = append(errs, fmt.Errorf("%s: %w", name(field), err))
			}
		}
		if key := lst.idKey(id); key != "" {
			if j, ok := seen[key]; ok {
				errs = append(errs, fmt.Errorf("%s: %q is already configured as %s[%d]", name(lst.id), id, lst.key, j))
			} else {
				seen[key] = i
			}
		}
	}
	return errs
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return (scheme == "http" || scheme == "https") && u.Host != ""
}

// validateAPIAccess checks the shops' API credentials: a token or a client
// id and secret, not both; and the sites' consumer key and secret, both or
// none, only for an https:// site, as they travel in every request.
func (c Config) validateAPIAccess() []error {
	var errs []error
	for i, s := range c.Shopify {
		entry := fmt.Sprintf("shopify[%d].", i)
		if err := c.validatePair(entry, "client id", "client_id", s.ClientID, "client secret", "client_secret", string(s.ClientSecret), "shop", s.Domain); err != nil {
			errs = append(errs, err)
		} else if s.ClientID != "" && s.APIToken != "" {
			errs = append(errs, fmt.Errorf("%s and %s are both set for shop %q: use one (a custom app's token, or a "+
				"Dev Dashboard app's client credentials)", c.Source(entry+"api_token"), c.Source(entry+"client_id"), s.Domain))
		}
	}
	for i, s := range c.WooCommerce {
		entry := fmt.Sprintf("woocommerce[%d].", i)
		if err := c.validatePair(entry, "consumer key", "consumer_key", string(s.ConsumerKey), "consumer secret", "consumer_secret", string(s.ConsumerSecret), "site", s.Source); err != nil {
			errs = append(errs, err)
		}
		if (s.ConsumerKey != "" || s.ConsumerSecret != "") && isHTTPURL(s.Source) &&
			!strings.EqualFold(urlScheme(s.Source), "https") {
			errs = append(errs, fmt.Errorf("%s: refused for site %q: its source is plain http://, and the consumer key "+
				"and secret are sent only over HTTPS (make the source https://)", c.Source(entry+"consumer_key"), s.Source))
		}
	}
	return errs
}

// validatePair refuses one of two settings that go together (an id and its
// secret) set without the other, naming both as the operator set them.
func (c Config) validatePair(entry, idNoun, idKey, id, secretNoun, secretKey, secret, noun, name string) error {
	switch {
	case id != "" && secret == "":
		return fmt.Errorf("%s: a %s needs its %s (%s) for %s %q", c.Source(entry+idKey), idNoun, secretNoun, c.Source(entry+secretKey), noun, name)
	case id == "" && secret != "":
		return fmt.Errorf("%s: a %s needs its %s (%s) for %s %q", c.Source(entry+secretKey), secretNoun, idNoun, c.Source(entry+idKey), noun, name)
	}
	return nil
}

func urlScheme(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Scheme
}

// validateRepair refuses repair on a shop or site the health check could
// not repair: without API access, or without the public URL to point its
// webhooks at.
func (c Config) validateRepair() []error {
	var errs []error
	refuse := func(key, noun, name string, hasAPI bool, access string) {
		if !hasAPI {
			errs = append(errs, fmt.Errorf("%s: refused for %s %q: repair needs API access (%s)", c.Source(key), noun, name, access))
		}
		if c.PublicURL == "" {
			errs = append(errs, fmt.Errorf("%s: refused for %s %q: repair needs %s, the receiver's public https:// address "+
				"to point the webhooks at", c.Source(key), noun, name, c.Source("public_url")))
		}
	}
	for i, s := range c.Shopify {
		if s.Repair {
			refuse(fmt.Sprintf("shopify[%d].repair", i), "shop", s.Domain, s.HasAPI(), "api_token, or client_id and client_secret")
		}
	}
	for i, s := range c.WooCommerce {
		if s.Repair {
			refuse(fmt.Sprintf("woocommerce[%d].repair", i), "site", s.Source, s.HasAPI(), "consumer_key and consumer_secret")
		}
	}
	return errs
}
