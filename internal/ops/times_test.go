package ops

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in    string
		until bool
		want  time.Time
		bad   bool
	}{
		{in: ""},
		{in: "24h", want: now.Add(-24 * time.Hour)},
		{in: "7d", want: time.Date(2026, 11, 18, 12, 0, 0, 0, time.UTC)},
		{in: "2026-11-23", want: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)},
		{in: "2026-11-23", until: true, want: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)},
		{in: "2026-11-23T09:30", until: true, want: time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)},
		{in: "2026-11-23T09:30:00+01:00", want: time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC)},
		{in: "999999999999d", bad: true},
		{in: "-3d", bad: true},
		{in: "-1h", bad: true},
		{in: "yesterday", bad: true},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, now, tt.until)
		if (err != nil) != tt.bad || !got.Equal(tt.want) {
			t.Errorf("ParseTime(%q, until=%v) = %v, %v; want %v (error: %v)", tt.in, tt.until, got, err, tt.want, tt.bad)
		}
	}
}
