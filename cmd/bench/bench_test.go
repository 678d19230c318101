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

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

// TestSmoke runs the benchmark as CI does: it builds the service, loads it
// and the floor with a few hundred signed orders, and fails on any non-200
// answer or missing enrollment.
func TestSmoke(t *testing.T) {
	out := smokeRun(t)
	rows := map[string][]string{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == len(columns()) && f[1] == "8" {
			rows[f[0]] = f
		}
	}
	for _, backend := range []string{floorBackend, sqliteBackend} {
		row, ok := rows[backend]
		if !ok {
			t.Fatalf("no %s row at concurrency 8 in:\n%s", backend, out)
		}
		if row[6] != "0" {
			t.Errorf("%s: %s non-200 answers", backend, row[6])
		}
	}
	if got := rows[sqliteBackend][7]; got == "-" || got == "timeout" {
		t.Errorf("sqlite enrollments/s = %s, want a rate", got)
	}
}

// TestSmokeBacklog runs a small backlog run: orders wait for a down LMS,
// then drain once it is back, with no item failed.
func TestSmokeBacklog(t *testing.T) {
	out := smokeRun(t, "--backlog", "200", "--watch", "1s", "--retry-delay", "200ms")
	if !strings.Contains(out, "time to drain once the LMS is back") {
		t.Errorf("no backlog table in:\n%s", out)
	}
}

// TestSmokeThrottled runs a small throttled run. Its calls stay within the
// throttle: a 429 would hold the run for most of a minute.
func TestSmokeThrottled(t *testing.T) {
	out := smokeRun(t, "--throttled", "200")
	if !strings.Contains(out, "enrollments per call answered 200") {
		t.Errorf("no throttled table in:\n%s", out)
	}
}

// smokeRun runs the benchmark with --smoke and args, which fails on any
// non-200 answer, missing enrollment or failed item, and returns its report.
func smokeRun(t *testing.T, args ...string) string {
	t.Helper()
	getenv := func(k string) string {
		if k == "TEST_DATABASE_URL" {
			return "" // smoke runs are SQLite only anyway
		}
		return os.Getenv(k)
	}
	var stdout, stderr bytes.Buffer
	if err := run(t.Context(), append([]string{"bench", "--smoke"}, args...), getenv, &stdout, &stderr); err != nil {
		t.Fatalf("bench --smoke %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, &stdout, &stderr)
	}
	return stdout.String()
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

// TestParseRunOptions: the backlog and throttled runs take their senders
// from --concurrency when given, and the throttled run throttles like Open
// edX unless told otherwise.
func TestParseRunOptions(t *testing.T) {
	tests := []struct {
		args     []string
		fill     int
		throttle int
		wantErr  bool
	}{
		{args: []string{"--backlog", "100"}, fill: fillConcurrency},
		{args: []string{"--backlog", "100", "--concurrency", "1"}, fill: 1},
		{args: []string{"--throttled", "100"}, fill: fillConcurrency, throttle: openEdXThrottle},
		{args: []string{"--throttled", "100", "--lms-throttle", "60", "--concurrency", "4"}, fill: 4, throttle: 60},
		{args: []string{"--backlog", "100", "--concurrency", "1,8"}, wantErr: true},
		{args: []string{"--backlog", "100", "--throttled", "100"}, wantErr: true},
		{args: []string{"--backlog", "100", "--url", "http://127.0.0.1:1"}, wantErr: true},
		{args: []string{"--backlog", "100", "--watch", "0s"}, wantErr: true},
		{args: []string{"--throttled", "-1"}, wantErr: true},
		{args: []string{"--arrival", "-1"}, wantErr: true},
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
			if o.fill != tt.fill || o.throttle != tt.throttle {
				t.Errorf("senders %d, throttle %d; want %d, %d", o.fill, o.throttle, tt.fill, tt.throttle)
			}
		})
	}
}

// TestEnrollmentsOverTime: the throttle-bound rate leaves out the burst
// before the first 429 and counts the wait after it; shares of the
// enrollments are timed by the calls that made them.
func TestEnrollmentsOverTime(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	call := func(at time.Duration, status, learners int) edxtest.Call {
		return edxtest.Call{Time: start.Add(at), Status: status, Courses: []string{firstCourse}, Identifiers: make([]string, learners)}
	}
	calls := []edxtest.Call{
		call(time.Second, http.StatusOK, 50),
		call(2*time.Second, http.StatusOK, 50),
		call(10*time.Second, http.StatusTooManyRequests, 50),
		call(61*time.Second, http.StatusOK, 50),
		call(70*time.Second, http.StatusOK, 40),
	}
	minutes, rate := enrollmentsOverTime(calls, start)
	if want := []int{100, 90}; !slices.Equal(minutes, want) {
		t.Errorf("per minute %v, want %v", minutes, want)
	}
	if want := 90.0 / 60; rate != want {
		t.Errorf("rate %v, want %v", rate, want)
	}
	if _, rate := enrollmentsOverTime(calls[:2], start); rate != -1 {
		t.Errorf("rate without a 429 = %v, want -1", rate)
	}
	if got, want := reachedAt(calls, start, 190), [3]time.Duration{2 * time.Second, 70 * time.Second, 70 * time.Second}; got != want {
		t.Errorf("50, 90, 99 %% reached at %v, want %v", got, want)
	}
	s := countCalls(calls)
	if s.calls != 5 || s.ok != 4 || s.throttled != 1 || s.identifiers != 190 || s.enrolledTwice(180) != 10 {
		t.Errorf("countCalls = %+v", s)
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
