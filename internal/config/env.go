package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// env applies the environment on top of the configuration: every row of
// the settings table, a new name winning over its legacy (Django) alias,
// then the one shop and one site the environment can give.
func (l *loader) env() {
	for i := range settings {
		s := &settings[i]
		if _, _, inList := s.listKey(); inList || s.kind == nil {
			continue
		}
		v, name, ok := l.lookup(s)
		if !ok || name == "" {
			continue
		}
		if err := s.kind.parse(l.c, v); err != nil {
			l.fail("%s: %w", name, err)
			continue
		}
		l.c.from.keys[s.key] = name
	}
	for _, lst := range lists {
		l.envEntry(lst)
	}
}

// value returns a variable's trimmed value; empty means unset.
func (l *loader) value(name string) string {
	return strings.TrimSpace(l.getenv(name))
}

// lookup returns the value of the first of the setting's variables that
// is set, and that variable's name, or "", "". A secret may instead be
// given as NAME_FILE, the path of a file holding it. ok is false when a
// problem was recorded (which never quotes the value); the value then must
// not be used.
func (l *loader) lookup(s *setting) (value, name string, ok bool) {
	if s.kind.secret() {
		value, name, ok = l.secret(s.names()...)
	} else {
		ok = true
		for _, n := range s.names() {
			if v := l.value(n); v != "" {
				value, name = v, n
				break
			}
		}
	}
	if name != "" && name != s.env {
		l.readLegacy(name)
		if s.legacyValue != nil && ok {
			value = s.legacyValue(value)
		}
	}
	return value, name, ok
}

// secret is lookup for secrets, which are not trimmed.
func (l *loader) secret(names ...string) (value, name string, ok bool) {
	for _, n := range names {
		v, path := l.getenv(n), l.value(n+"_FILE")
		if strings.TrimSpace(v) == "" {
			v = "" // blank counts as unset; otherwise the value is kept as is
		}
		switch {
		case v != "" && path != "":
			l.fail("%s and %s_FILE are both set: use one", n, n)
			return "", n, false
		case v != "":
			return v, n, true
		case path != "":
			s, err := readSecretFile(path)
			if err != nil {
				l.fail("%s_FILE: %w", n, err)
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

// envEntry merges the one entry of a list that the environment gives: it
// overrides the fields it sets in the entry with the same id, or is
// appended. A new entry needs its id and a secret.
func (l *loader) envEntry(lst *list) {
	type found struct {
		s           *setting
		value, name string
	}
	var set []found
	failed := false
	scratch := lst.items.new()
	for _, s := range lst.fields() {
		v, name, ok := l.lookup(s)
		if !ok {
			failed = true
			continue
		}
		if name == "" {
			continue
		}
		if err := s.kind.parse(scratch, v); err != nil {
			l.fail("%s: %w", name, err)
			continue
		}
		set = append(set, found{s, v, name})
	}
	idRow, secretRow := lst.field(lst.id), lst.field("secrets")
	var id, secret *found
	others := 0
	for i, f := range set {
		switch f.s {
		case idRow:
			id = &set[i]
		case secretRow:
			secret = &set[i]
		default:
			others++
		}
	}
	switch {
	case failed:
		return
	case id == nil && secret != nil:
		l.fail("%s is set but %s is not: name the %s it belongs to", secret.name, idRow.env, lst.noun)
		return
	case id == nil && others > 0:
		l.warn("the %s in the environment are ignored: %s is not set", lst.others, idRow.env)
		return
	case id == nil:
		return
	}
	if i := lst.indexIn(l.c, id.value); i >= 0 {
		entry := lst.items.at(l.c, i)
		for _, f := range set {
			if f.s != idRow { // the entry keeps its own spelling of the id
				f.s.kind.parse(entry, f.value) // parsed without error above
			}
		}
		return
	}
	if secret == nil {
		l.fail("%s is set but %s is not: a %s needs its webhook secret", id.name, secretRow.env, lst.noun)
		return
	}
	entry := lst.items.new()
	for _, f := range set {
		f.s.kind.parse(entry, f.value)
	}
	lst.items.set(l.c, append(l.entryPointers(lst), entry))
	l.entries[lst.key] = append(l.entries[lst.key], entrySource{})
}

// entryPointers returns pointers to the entries of a list.
func (l *loader) entryPointers(lst *list) []any {
	out := make([]any, lst.items.len(l.c))
	for i := range out {
		out[i] = lst.items.at(l.c, i)
	}
	return out
}

// UnknownVariables returns a warning naming the variables among names
// that look like settings, by their prefix (WEBHOOK_RECEIVER_, or the
// Django app's DJANGO_), but are none: a misspelled name is otherwise
// silently ignored. Each is followed by the name it most likely meant.
func UnknownVariables(names []string) []string {
	known := map[string]bool{}
	var candidates []string
	for i := range settings {
		s := &settings[i]
		for _, n := range s.names() {
			known[n] = true
			candidates = append(candidates, n)
			if s.kind != nil && s.kind.secret() {
				known[n+"_FILE"] = true
				candidates = append(candidates, n+"_FILE")
			}
		}
	}
	var unknown []string
	for _, n := range names {
		if !strings.HasPrefix(n, "WEBHOOK_RECEIVER_") && !strings.HasPrefix(n, "DJANGO_") || known[n] {
			continue
		}
		known[n] = true // once
		switch hint, ok := legacyEnvIgnored[n]; {
		case ok:
			n += " (" + hint + ")"
		case suggest(n, candidates) != "":
			n += " (did you mean " + suggest(n, candidates) + "?)"
		}
		unknown = append(unknown, n)
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	return []string{"environment variables that are not settings, ignored: " + strings.Join(unknown, ", ")}
}
