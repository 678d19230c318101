package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MinRetention is the shortest retention of raw bodies: a day. Delivery
// keys, which a purge deletes with the bodies, must outlive the shops'
// redeliveries (Shopify's stop after 4 hours).
const MinRetention = 24 * time.Hour

// ParseRetention reads an age as WEBHOOK_RECEIVER_RETENTION and
// `purge --older-than` take it: a number of days (90d) or a Go duration
// (2160h).
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 36500 {
			return 0, fmt.Errorf("invalid age %q (use days such as 90d, or a Go duration such as 36h)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid age %q (use days such as 90d, or a Go duration such as 36h)", s)
	}
	return d, nil
}

// retention is an age in days or a Go duration: 0 (empty) is off, any
// other value at least MinRetention.
func retention[S any](get func(*S) *time.Duration) kind {
	parse := func(s string) (time.Duration, error) {
		if strings.TrimSpace(s) == "" {
			return 0, nil
		}
		return ParseRetention(s)
	}
	return field[S, time.Duration]{get: get, valid: validRetention, fromText: parse, format: formatRetention,
		fromYAML: func(n *yaml.Node, _ bool) (time.Duration, error) {
			s, err := yamlValue[string](n, false)
			if err != nil {
				return 0, err
			}
			return parse(s)
		}}
}

func validRetention(d time.Duration) error {
	if d != 0 && d < MinRetention {
		return fmt.Errorf("must be empty (off) or at least 1d (24h), got %q", d)
	}
	return nil
}

// formatRetention shows a retention in days when it is whole days.
func formatRetention(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}
