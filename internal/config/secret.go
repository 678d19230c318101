package config

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Secret is a setting that must never be printed: the webhook signing
// secrets, the OAuth2 client secret and the console's password hash. Every
// fmt verb, and the JSON and YAML encoders, print "[redacted]" (or "" when
// it is empty, so a missing secret is visible); Value returns the real
// value.
type Secret string

const redacted = "[redacted]"

// Value returns the secret itself, for the code that signs or verifies.
func (s Secret) Value() string { return string(s) }

// String returns "[redacted]", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is used by %#v.
func (s Secret) GoString() string { return s.String() }

// Format makes every fmt verb (%v, %+v, %s, %q, %x, ...) print the redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprintf(f, "%q", s.String())
		return
	}
	io.WriteString(f, s.String())
}

// MarshalYAML redacts the secret.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON redacts the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// ParseBool accepts true/false, 1/0, yes/no and on/off, in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean %q (use true/false, yes/no, on/off or 1/0)", s)
}
