package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
// from. The Config and the warnings are returned even with an error, so
// that a command can show them next to the problems.
func Load(getenv func(string) string, flags Flags) (Config, []string, error) {
	c := Default()
	c.from = &origin{keys: map[string]string{}}
	l := &loader{c: &c, getenv: getenv, entries: map[string][]entrySource{}}

	if path := l.value(envLegacyFile); path != "" {
		l.legacyFile(envLegacyFile, path)
		if len(l.errs) > 0 {
			return l.result()
		}
	}
	file, fileName := strings.TrimSpace(flags.File), "--config"
	if file == "" {
		file, fileName = l.value(envFile), envFile
	}
	if file != "" {
		l.file(fileName, file)
		if len(l.errs) > 0 {
			return l.result()
		}
	}
	l.env()
	applyFlags(&c, flags)
	normalize(&c)
	l.nameEntries()
	if err := c.Validate(); err != nil {
		l.errs = append(l.errs, err)
	}
	l.warnings = append(l.warnings, c.Warnings()...)
	return l.result()
}

// loader builds a Config from its sources, collecting every problem
// rather than stopping at the first.
type loader struct {
	c      *Config
	getenv func(string) string
	// entries says where each entry of each list (by list key) came from,
	// in the order of the list in c.
	entries  map[string][]entrySource
	warnings []string
	errs     []error
}

// entrySource says where an entry of a list came from, so that errors
// about its fields name the file and key the operator wrote.
type entrySource struct {
	at     string // "WEBHOOK_RECEIVER_CONFIG /etc/x.yaml: shopify[1]"; "" for the environment
	legacy bool   // the Django app's file: fields are named by their legacy keys
}

func (l *loader) result() (Config, []string, error) {
	return *l.c, l.warnings, errors.Join(l.errs...)
}

func (l *loader) fail(format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf(format, args...))
}

func (l *loader) warn(format string, args ...any) {
	l.warnings = append(l.warnings, fmt.Sprintf(format, args...))
}

// readLegacy records that one of the Django app's names was read.
func (l *loader) readLegacy(name string) {
	if !slices.Contains(l.c.from.legacy, name) {
		l.c.from.legacy = append(l.c.from.legacy, name)
	}
}

// merge puts newer entries first (so that their indexes match the file
// they come from), followed by the list's current entries whose id none of
// them has.
func (l *loader) merge(lst *list, newer []any, newerFrom []entrySource) {
	out, from := newer, newerFrom
	for i := range lst.items.len(l.c) {
		old := lst.items.at(l.c, i)
		if lst.index(newer, lst.idOf(old)) < 0 {
			out = append(out, old)
			from = append(from, l.entries[lst.key][i])
		}
	}
	lst.items.set(l.c, out)
	l.entries[lst.key] = from
}

// nameEntries records, for each field of each entry that came from a
// file, the file and key that set it ("shopify[0].secrets" →
// "WEBHOOK_RECEIVER_CFG /x.yaml: WEBHOOK_RECEIVER_SETTINGS.shopify.api_key").
func (l *loader) nameEntries() {
	for _, lst := range lists {
		for i, src := range l.entries[lst.key] {
			if src.at == "" {
				continue
			}
			for _, s := range lst.fields() {
				_, field, _ := s.listKey()
				name := src.at + "." + field
				if src.legacy {
					name = src.at + "." + s.legacyKey
					if s.legacyKey == "" {
						name = src.at
					}
				}
				l.c.from.keys[fmt.Sprintf("%s[%d].%s", lst.key, i, field)] = name
			}
		}
	}
}

// applyFlags applies the command-line flags on top of c.
func applyFlags(c *Config, f Flags) {
	if v := strings.TrimSpace(f.Listen); v != "" {
		c.Listen = v
		c.from.keys["listen"] = "--listen"
	}
	if v := strings.TrimSpace(f.DatabaseURL); v != "" {
		c.DatabaseURL = v
		c.from.keys["database_url"] = "--database-url"
	}
}

// normalize puts names in the form the rest of the program compares.
func normalize(c *Config) {
	for i := range c.Shopify {
		c.Shopify[i].Domain = shopKey(c.Shopify[i].Domain)
	}
	for i := range c.WooCommerce {
		c.WooCommerce[i].Source = strings.TrimSpace(c.WooCommerce[i].Source)
	}
	for i := range c.Courses {
		co := &c.Courses[i]
		co.SKU, co.CourseID, co.Mode = strings.TrimSpace(co.SKU), strings.TrimSpace(co.CourseID), strings.TrimSpace(co.Mode)
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
