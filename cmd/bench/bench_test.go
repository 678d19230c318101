package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the benchmark as CI does: it builds the service, loads it
// and the floor with a few hundred signed orders, and fails on any non-200
// answer or missing enrollment.
func TestSmoke(t *testing.T) {
	getenv := func(k string) string {
		if k == "TEST_DATABASE_URL" {
			return "" // smoke runs are SQLite only anyway
		}
		return os.Getenv(k)
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), []string{"bench", "--smoke"}, getenv, &stdout, &stderr); err != nil {
		t.Fatalf("bench --smoke: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	rows := map[string][]string{}
	for line := range strings.Lines(stdout.String()) {
		f := strings.Fields(line)
		if len(f) == len(columns()) && f[1] == "8" {
			rows[f[0]] = f
		}
	}
	for _, backend := range []string{floorBackend, sqliteBackend} {
		row, ok := rows[backend]
		if !ok {
			t.Fatalf("no %s row at concurrency 8 in:\n%s", backend, &stdout)
		}
		if row[6] != "0" {
			t.Errorf("%s: %s non-200 answers", backend, row[6])
		}
	}
	if got := rows[sqliteBackend][7]; got == "-" || got == "timeout" {
		t.Errorf("sqlite enrollments/s = %s, want a rate", got)
	}
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		args        []string
		concurrency []int
		requests    int
		wantErr     bool
	}{
		{args: nil, concurrency: []int{1, 8, 32, 128}},
		{args: []string{"--concurrency", "2, 4", "--requests", "50"}, concurrency: []int{2, 4}, requests: 50},
		{args: []string{"--smoke", "--concurrency", "64"}, concurrency: []int{smokeConcurrency}, requests: smokeRequests},
		{args: []string{"--concurrency", "0"}, wantErr: true},
		{args: []string{"--concurrency", "a"}, wantErr: true},
		{args: []string{"--requests", "-1"}, wantErr: true},
		{args: []string{"--duration", "0s"}, wantErr: true},
		{args: []string{"--url", "127.0.0.1:8000"}, wantErr: true},
		{args: []string{"extra"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, err := parseOptions(append([]string{"bench"}, tt.args...), &bytes.Buffer{})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error; options %+v", o)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.concurrency, tt.concurrency) || o.requests != tt.requests {
				t.Errorf("concurrency %v requests %d, want %v %d", o.concurrency, o.requests, tt.concurrency, tt.requests)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := percentile(d, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := percentile(nil, 50); got != -1 {
		t.Errorf("p50 of nothing = %v, want -1", got)
	}
}

// TestFloorChecksSignatures: the floor does the verification it is
// credited with, so the comparison with the service is fair.
func TestFloorChecksSignatures(t *testing.T) {
	s := signing{shopDomain: "a.myshopify.com", shopifySecret: "s1", wooSource: "https://w.example/", wooSecret: "s2"}
	f, err := startFloor(t.Context(), filepath.Join(t.TempDir(), "floor.db"), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.close(); err != nil {
			t.Error(err)
		}
	})
	client := newClient(1)
	good := newOrders(s)
	wrongSecret := newOrders(signing{shopDomain: s.shopDomain, shopifySecret: "x", wooSource: s.wooSource, wooSecret: "y"})
	for _, tt := range []struct {
		name   string
		orders *orders
		want   int
	}{
		{"signed", good, http.StatusOK},
		{"wrong secret", wrongSecret, http.StatusForbidden},
	} {
		for range 2 { // one Shopify, one WooCommerce order
			status := sendOne(t, client, tt.orders, f.url)
			if status != tt.want {
				t.Errorf("%s: status %d, want %d", tt.name, status, tt.want)
			}
		}
	}
	var n int
	if err := f.db.QueryRowContext(context.Background(), "SELECT count(*) FROM deliveries").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("%d deliveries stored, want 2", n)
	}
}

func sendOne(t *testing.T, client *http.Client, o *orders, baseURL string) int {
	t.Helper()
	req, err := o.request(t.Context(), baseURL)
	if err != nil {
		t.Fatal(err)
	}
	status, err := do(client, req)
	if err != nil {
		t.Fatal(err)
	}
	return status
}

func TestReadProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	rss, err := readRSS(os.Getpid())
	if err != nil || rss <= 0 {
		t.Errorf("readRSS = %d, %v", rss, err)
	}
	if _, err := readCPU(os.Getpid()); err != nil {
		t.Errorf("readCPU: %v", err)
	}
}

func TestOrderBodies(t *testing.T) {
	o := newOrders(signing{shopDomain: "a", shopifySecret: "b", wooSource: "c", wooSecret: "d"})
	for range 2 {
		req, err := o.request(t.Context(), "http://127.0.0.1:1")
		if err != nil {
			t.Fatal(err)
		}
		if req.ContentLength < 2500 || req.ContentLength > 4000 {
			t.Errorf("%s body is %d bytes, want about 3 KB", req.URL.Path, req.ContentLength)
		}
	}
}
