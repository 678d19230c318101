package config

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// legacyFile applies the Django app's YAML file (WEBHOOK_RECEIVER_CFG),
// whose top-level keys are Django setting names: the rows of the settings
// table with a legacyKey, and under WEBHOOK_RECEIVER_SETTINGS one entry of
// each list. Settings that only Django used are ignored with a warning
// that names the key, never its value. name is the variable that named the
// file; errors and warnings start with it and the path.
func (l *loader) legacyFile(name, path string) {
	where := name + " " + path
	data, err := os.ReadFile(path)
	if err != nil {
		l.fail("%s: %w", name, err)
		return
	}
	l.readLegacy(name)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.fail("%s: %w", where, syntaxError(err))
		return
	}
	if len(doc.Content) == 0 {
		return // empty file
	}
	top, err := mapping(doc.Content[0])
	if err != nil {
		l.fail("%s: %w", where, err)
		return
	}
	for _, kv := range top {
		if kv.key == legacySettings {
			l.legacyLists(where, kv.value)
			continue
		}
		s := legacySetting(kv.key)
		if s == nil {
			l.warn("%s: ignoring %s: webhook-receiver does not use it%s", where, kv.key, legacyHint(kv.key))
			continue
		}
		// Unlike the new file, null is a value here, as it was for Django
		// (a null WEBHOOK_RECEIVER_AUTO_ENROLL was false).
		if err := s.kind.decode(l.c, kv.value, true); err != nil {
			l.fail("%s: %s: %w", where, kv.key, err)
			continue
		}
		l.c.from.keys[s.key] = where + ": " + kv.key
	}
}

// legacyLists reads WEBHOOK_RECEIVER_SETTINGS: one entry of each list (one
// Shopify shop, one WooCommerce site).
func (l *loader) legacyLists(where string, n *yaml.Node) {
	sections, err := mapping(n)
	if err != nil {
		l.fail("%s: %s: %w", where, legacySettings, err)
		return
	}
	for _, section := range sections {
		at := legacySettings + "." + section.key
		lst := listByKey(section.key)
		if lst == nil || lst.yamlOnly() {
			l.warn("%s: ignoring unknown key %s%s", where, at, didYouMean(section.key, listKeys()))
			continue
		}
		fields, err := mapping(section.value)
		if err != nil {
			l.fail("%s: %s: %w", where, at, err)
			continue
		}
		entry := lst.items.new()
		for _, f := range fields {
			s := lst.legacyField(f.key)
			if s == nil {
				if !legacyAccepted[at+"."+f.key] {
					l.warn("%s: ignoring unknown key %s.%s%s", where, at, f.key, didYouMean(f.key, legacyFieldKeys(lst)))
				}
				continue
			}
			if err := s.kind.decode(entry, f.value, true); err != nil {
				l.fail("%s: %s.%s: %w", where, at, f.key, err)
			}
		}
		if lst.idOf(entry) != "" || !lst.field("secrets").kind.empty(entry) {
			l.merge(lst, []any{entry}, []entrySource{{at: where + ": " + at, legacy: true}})
		}
	}
}

// legacySetting returns the row with this top-level key of the Django
// app's file, or nil.
func legacySetting(key string) *setting {
	for i := range settings {
		s := &settings[i]
		if _, _, inList := s.listKey(); s.legacyKey == key && !inList && s.kind != nil {
			return s
		}
	}
	return nil
}

// legacyHint says what to do instead of a key of the Django app's file
// that we do not use.
func legacyHint(key string) string {
	if hint, ok := legacyIgnored[key]; ok {
		return " (" + hint + ")"
	}
	var keys []string
	for i := range settings {
		if _, _, inList := settings[i].listKey(); !inList && settings[i].legacyKey != "" {
			keys = append(keys, settings[i].legacyKey)
		}
	}
	return didYouMean(key, append(keys, legacySettings))
}

func listKeys() []string {
	var out []string
	for _, l := range lists {
		if !l.yamlOnly() {
			out = append(out, l.key)
		}
	}
	return out
}

func legacyFieldKeys(lst *list) []string {
	var out []string
	for _, s := range lst.fields() {
		if s.legacyKey != "" {
			out = append(out, s.legacyKey)
		}
	}
	return out
}

// didYouMean names the candidate closest to a misspelled key, if one is
// close enough to be what was meant.
func didYouMean(key string, candidates []string) string {
	if s := suggest(key, candidates); s != "" {
		return fmt.Sprintf(" (did you mean %s?)", s)
	}
	return ""
}
