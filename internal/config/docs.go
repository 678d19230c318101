package config

import (
	"fmt"
	"strings"
)

//go:generate go test -run ^TestREADMESettings$ -update .

// settingsTable renders the settings table as the README's configuration
// reference, in Markdown: one row per environment variable, with its YAML
// key, its legacy names, its default and what it means. A test keeps the
// README's copy equal to it.
func settingsTable() string {
	var b strings.Builder
	b.WriteString("| Variable | YAML key | Legacy name (Django app) | Default | Meaning |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for i := range settings {
		s := &settings[i]
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", variableCell(s), code(s.key), legacyCell(s), defaultCell(s), meaningCell(s))
	}
	return b.String()
}

func code(s string) string {
	if s == "" {
		return ""
	}
	return "`" + s + "`"
}

func variableCell(s *setting) string {
	if s.env == "" {
		return "none: YAML file only"
	}
	if s.flag != "" {
		return code(s.env) + " (flag " + code(s.flag) + ")"
	}
	return code(s.env)
}

func legacyCell(s *setting) string {
	var parts []string
	switch {
	case s.legacyEnv == s.env && s.env != "":
		parts = append(parts, "(same name)")
	case s.legacyEnv != "":
		parts = append(parts, code(s.legacyEnv))
	}
	if s.legacyKey != "" {
		key := s.legacyKey
		if list, _, ok := s.listKey(); ok {
			key = legacySettings + "." + list + "." + key
		}
		parts = append(parts, "file key "+code(key))
	}
	return strings.Join(parts, ", ")
}

func defaultCell(s *setting) string {
	if s.showDef != "" {
		return s.showDef
	}
	return code(s.def)
}

func meaningCell(s *setting) string {
	switch {
	case s.kind == nil || !s.kind.secret():
		return s.doc
	case s.kind.fileKey():
		return s.doc + " (secret; also `" + s.env + "_FILE`, YAML `" + s.key + "_file`: a file holding it)"
	}
	return s.doc + " (secret; also `" + s.env + "_FILE`: a file holding it)"
}
