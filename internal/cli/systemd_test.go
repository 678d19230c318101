package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The systemd unit waits longer than serve's own shutdown budget before it
// kills the process: in-flight requests and enrollments get all of it.
func TestSystemdUnitWaitsForTheShutdown(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "systemd", "webhook-receiver.service")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stop string
	for _, line := range strings.Split(string(src), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "TimeoutStopSec="); ok {
			stop = strings.TrimSpace(v)
		}
	}
	d, err := time.ParseDuration(stop)
	if err != nil {
		t.Fatalf("%s: TimeoutStopSec=%q: want a duration such as 30s: %v", path, stop, err)
	}
	if d <= shutdownTimeout {
		t.Errorf("%s: TimeoutStopSec=%s, want more than serve's shutdown budget of %s", path, d, shutdownTimeout)
	}
}
