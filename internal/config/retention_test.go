package config

import (
	"strings"
	"testing"
	"time"
)

func TestRetention(t *testing.T) {
	tests := []struct {
		value   string
		want    time.Duration
		wantErr string
	}{
		{"", 0, ""},
		{"90d", 90 * 24 * time.Hour, ""},
		{"1d", 24 * time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"2160h", 90 * 24 * time.Hour, ""},
		{"23h", 0, "at least 1d"},
		{"0d", 0, ""}, // zero is off, as empty is
		{"-1d", 0, "invalid age"},
		{"1.5d", 0, "invalid age"},
		{"ninety days", 0, "invalid age"},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, _, err := Load(mapenv(map[string]string{"WEBHOOK_RECEIVER_RETENTION": tt.value}), Flags{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "WEBHOOK_RECEIVER_RETENTION") {
					t.Fatalf("error %v, want one naming the setting and saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.Retention != tt.want {
				t.Fatalf("retention %v, %v; want %v", c.Retention, err, tt.want)
			}
		})
	}
	if got := formatRetention(90 * 24 * time.Hour); got != "90d" {
		t.Errorf("format 90 days: %q", got)
	}
	if got := formatRetention(36 * time.Hour); got != "36h0m0s" {
		t.Errorf("format 36h: %q", got)
	}
}
