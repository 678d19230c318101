package ops

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxAge bounds an age given in days, so that it cannot overflow a time.
const maxAgeDays = 36500

// ParseTime reads a bound of a date range as the console and the CLI take
// it: an age back from now (90m, 24h, 7d), a date (UTC), or a time (RFC 3339,
// or 2006-01-02T15:04 in UTC). A date given as the upper bound (until)
// includes its whole day. "" is the zero time: no bound.
func ParseTime(s string, now time.Time, until bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= maxAgeDays {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if until {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an age (24h, 7d), a date (2026-11-23) or a time (2026-11-23T09:00:00Z)", s)
}
