package config

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// kind is how the value of one setting is parsed, checked and shown. Its
// methods take the struct that holds the setting: a *Config, or a *Shop or
// *Site for a field of a list's entry.
type kind interface {
	// parse sets the value from an environment variable or a default.
	parse(dst any, s string) error
	// decode sets the value from a YAML value; legacy is true in the
	// Django app's file.
	decode(dst any, n *yaml.Node, legacy bool) error
	// check says why the value is not allowed, or returns nil.
	check(src any) error
	// show formats the value for Redacted, secrets redacted.
	show(src any) string
	// secret tells whether the value must never be shown; its variables
	// also take NAME_FILE, the path of a file holding the value.
	secret() bool
	// fileKey tells whether the YAML file also takes key_file.
	fileKey() bool
	// empty tells whether the value is the zero value or an empty list.
	empty(src any) bool
}

// field is a kind for a value of type T in a struct S.
type field[S, T any] struct {
	get      func(*S) *T
	fromText func(string) (T, error)
	fromYAML func(n *yaml.Node, legacy bool) (T, error)
	valid    func(T) error  // nil: any value
	format   func(T) string // nil: fmt.Sprint
	isSecret bool
	hasFile  bool
}

func (f field[S, T]) parse(dst any, s string) error {
	v, err := f.fromText(s)
	if err == nil {
		*f.get(dst.(*S)) = v
	}
	return err
}

func (f field[S, T]) decode(dst any, n *yaml.Node, legacy bool) error {
	v, err := f.fromYAML(n, legacy)
	if err == nil {
		*f.get(dst.(*S)) = v
	}
	return err
}

func (f field[S, T]) check(src any) error {
	if f.valid == nil {
		return nil
	}
	return f.valid(*f.get(src.(*S)))
}

func (f field[S, T]) show(src any) string {
	v := *f.get(src.(*S))
	if f.format != nil {
		return f.format(v)
	}
	return fmt.Sprint(v)
}

func (f field[S, T]) empty(src any) bool {
	v := reflect.ValueOf(*f.get(src.(*S)))
	return v.IsZero() || v.Kind() == reflect.Slice && v.Len() == 0
}

func (f field[S, T]) secret() bool  { return f.isSecret }
func (f field[S, T]) fileKey() bool { return f.hasFile }

// The kinds of settings.

func text[S any](get func(*S) *string, valid func(string) error) kind {
	return field[S, string]{get: get, fromText: same, fromYAML: yamlValue[string], valid: valid}
}

// databaseURL is a string whose password is masked when shown.
func databaseURL[S any](get func(*S) *string) kind {
	return field[S, string]{get: get, fromText: same, fromYAML: yamlValue[string], valid: notBlank, format: RedactURL}
}

func boolean[S any](get func(*S) *bool) kind {
	return field[S, bool]{get: get, fromText: ParseBool, fromYAML: func(n *yaml.Node, _ bool) (bool, error) {
		b, err := yamlValue[yamlBool](n, false)
		return bool(b), err
	}}
}

func integer[S any, T int | int64](get func(*S) *T, valid func(T) error) kind {
	return field[S, T]{get: get, valid: valid, fromYAML: yamlValue[T], fromText: func(s string) (T, error) {
		i, err := strconv.ParseInt(s, 10, reflect.TypeFor[T]().Bits())
		if err != nil {
			return 0, fmt.Errorf("invalid integer %q", s)
		}
		return T(i), nil
	}}
}

func number[S any](get func(*S) *float64, valid func(float64) error) kind {
	return field[S, float64]{get: get, valid: valid, fromYAML: yamlValue[float64], fromText: func(s string) (float64, error) {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid number %q", s)
		}
		return f, nil
	}}
}

func duration[S any](get func(*S) *time.Duration, valid func(time.Duration) error) kind {
	return field[S, time.Duration]{get: get, valid: valid, fromText: parseDuration,
		fromYAML: func(n *yaml.Node, _ bool) (time.Duration, error) {
			s, err := yamlValue[string](n, false)
			if err != nil {
				return 0, err
			}
			return parseDuration(s)
		}}
}

// prefixes is a list of IPs and CIDR prefixes: comma-separated in the
// environment, a YAML list in the file.
func prefixes[S any](get func(*S) *[]netip.Prefix) kind {
	return field[S, []netip.Prefix]{get: get, fromText: parsePrefixes, valid: validPrefixes,
		fromYAML: func(n *yaml.Node, _ bool) ([]netip.Prefix, error) {
			list, err := yamlValue[[]string](n, false)
			if err != nil {
				return nil, err
			}
			var out []netip.Prefix
			for i, s := range list {
				p, err := parsePrefix(s)
				if err != nil {
					return nil, &itemError{index: i, err: err}
				}
				out = append(out, p)
			}
			return out, nil
		}}
}

// financialStatuses is a list of Shopify financial statuses:
// comma-separated in the environment, a YAML list in the file; shown as
// they count, the default when empty.
func financialStatuses[S any](get func(*S) *[]string) kind {
	return field[S, []string]{get: get, valid: validFinancialStatuses,
		fromText: func(s string) ([]string, error) {
			var out []string
			for part := range strings.SplitSeq(s, ",") {
				if part = strings.TrimSpace(part); part != "" {
					out = append(out, part)
				}
			}
			return out, validFinancialStatuses(out)
		},
		fromYAML: func(n *yaml.Node, _ bool) ([]string, error) {
			list, err := yamlValue[[]string](n, false)
			if err != nil {
				return nil, err
			}
			for i, s := range list {
				if err := financialStatus(s); err != nil {
					return nil, &itemError{index: i, err: err}
				}
			}
			return list, nil
		},
		format: func(statuses []string) string {
			if len(statuses) == 0 {
				statuses = enroll.PaidStatuses()
			}
			return strings.Join(statuses, ",")
		}}
}

// secret is one secret; the YAML file also takes key_file.
func secret[S any](get func(*S) *Secret, valid func(Secret) error) kind {
	return field[S, Secret]{get: get, valid: valid, isSecret: true, hasFile: true,
		fromText: func(s string) (Secret, error) { return Secret(s), nil },
		fromYAML: yamlValue[Secret], format: Secret.String}
}

// secrets are the secrets of a shop or site: in the environment and the
// Django app's file one, taken whole; in the YAML file a list, or one.
func secrets[S any](get func(*S) *[]Secret) kind {
	return field[S, []Secret]{get: get, isSecret: true, format: redactList, valid: oneSecret,
		fromText: func(s string) ([]Secret, error) { return []Secret{Secret(s)}, nil },
		fromYAML: func(n *yaml.Node, legacy bool) ([]Secret, error) {
			if legacy {
				return legacySecret(n)
			}
			var l secretList
			err := n.Decode(&l)
			return l, err
		}}
}

// errNoSecret is the check of a list of secrets; Validate names the entry.
var errNoSecret = errors.New("at least one non-empty secret is required")

func oneSecret(secrets []Secret) error {
	for _, s := range secrets {
		if s != "" {
			return nil
		}
	}
	return errNoSecret
}

func same(s string) (string, error) { return s, nil }

func notBlank(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("must not be empty")
	}
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use a Go duration such as 30s or 3m)", s)
	}
	return d, nil
}

func validPrefixes(ps []netip.Prefix) error {
	for i, p := range ps {
		if !p.IsValid() {
			return &itemError{index: i, err: fmt.Errorf("invalid prefix")}
		}
	}
	return nil
}

// itemError is a problem with one item of a list setting; it is reported
// under the item's path, trusted_proxies[1].
type itemError struct {
	index int
	err   error
}

func (e *itemError) Error() string { return fmt.Sprintf("[%d]: %v", e.index, e.err) }
func (e *itemError) Unwrap() error { return e.err }

// yamlValue decodes a YAML value, with an error that says what it should
// have been.
func yamlValue[T any](n *yaml.Node, _ bool) (T, error) {
	var v T
	if err := n.Decode(&v); err != nil {
		return v, decodeError(n, reflect.TypeFor[T](), err)
	}
	return v, nil
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

// legacySecret reads the Django app's single secret without ever quoting
// it in an error.
func legacySecret(n *yaml.Node) ([]Secret, error) {
	if n.Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("line %d: expected a string", n.Line)
	}
	if n.Tag == "!!null" || n.Value == "" {
		return nil, nil
	}
	return []Secret{Secret(n.Value)}, nil
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
