package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"
)

// pprofSetting is the service's setting that serves net/http/pprof on an
// address of its own; the benchmark sets it only with --cpuprofile.
const pprofSetting = "WEBHOOK_RECEIVER_PPROF_LISTEN"

// profileFile names the CPU profile of one backend at one concurrency.
func profileFile(base, backend string, concurrency int) string {
	return base + "." + backend + ".c" + strconv.Itoa(concurrency)
}

// startProfile asks the service at pprofURL for a CPU profile of the next
// d, rounded up to whole seconds, and writes it to path. The returned
// function waits for it.
func startProfile(ctx context.Context, client *http.Client, pprofURL, path string, d time.Duration) (wait func() error) {
	done := make(chan error, 1)
	go func() { done <- fetchProfile(ctx, client, pprofURL, path, d) }()
	return func() error { return <-done }
}

func fetchProfile(ctx context.Context, client *http.Client, pprofURL, path string, d time.Duration) error {
	seconds := int(math.Ceil(d.Seconds()))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pprofURL+"/debug/pprof/profile?seconds="+strconv.Itoa(seconds), nil)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	// The client's timeout bounds a webhook, not a profile.
	c := *client
	c.Timeout = d + time.Minute
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("CPU profile: %s answered %d: %s", pprofURL, resp.StatusCode, body)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("CPU profile: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("CPU profile: %w", err)
	}
	return nil
}
