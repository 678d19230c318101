package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	for _, backend := range []string{sqliteBackend + "-" + naiveFloor, sqliteBackend + "-" + groupFloor, sqliteBackend} {
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
	if !strings.Contains(out, "service ÷ group floor") {
		t.Errorf("no table of ratios in:\n%s", out)
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
		{args: []string{"--rounds", "0"}, wantErr: true},
		{args: []string{"--cpuprofile", "cpu.out", "--url", "http://127.0.0.1:8000"}, wantErr: true},
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
		{args: []string{"--soak", "1m"}, fill: fillConcurrency, throttle: defaultSoakThrottle},
		{args: []string{"--soak-phases", "healthy:1m,throttled:1m", "--lms-throttle", "30", "--concurrency", "4"}, fill: 4, throttle: 30},
		{args: []string{"--soak", "1m", "--backlog", "10"}, wantErr: true},
		{args: []string{"--soak", "1m", "--url", "http://127.0.0.1:1"}, wantErr: true},
		{args: []string{"--soak", "1m", "--arrival", "0"}, wantErr: true},
		{args: []string{"--soak-phases", "up:1m"}, wantErr: true},
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

// TestFloors: each floor does the verification it is credited with, so the
// comparison with the service is fair, and answers 200 only once the body
// is committed: when a 200 arrives, its row is there. On SQLite, and on
// PostgreSQL when TEST_DATABASE_URL is set.
func TestFloors(t *testing.T) {
	s := signing{shopDomain: "a.myshopify.com", shopifySecret: "s1", wooSource: "https://w.example/", wooSecret: "s2"}
	databases := map[string]func(t *testing.T) *floorDB{
		sqliteBackend: func(t *testing.T) *floorDB {
			db, err := openSQLiteFloor(t.Context(), filepath.Join(t.TempDir(), "floor.db"))
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
		postgresBackend: func(t *testing.T) *floorDB {
			server := os.Getenv("TEST_DATABASE_URL")
			if server == "" {
				t.Skip("TEST_DATABASE_URL not set")
			}
			pg, err := createPostgres(t.Context(), server, "floortest_"+strconv.FormatInt(time.Now().UnixNano(), 36))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := pg.drop(); err != nil {
					t.Error(err)
				}
			})
			db, err := openPostgresFloor(t.Context(), pg.url, floorPool)
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	}
	for backend, open := range databases {
		for _, kind := range []string{naiveFloor, groupFloor} {
			t.Run(backend+"-"+kind, func(t *testing.T) {
				f, err := startFloor(kind, open(t), s)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					if err := f.close(); err != nil {
						t.Error(err)
					}
				})
				testFloor(t, f, s)
			})
		}
	}
}

func testFloor(t *testing.T, f *floor, s signing) {
	client := newClient(16)
	good := newOrders(s)
	wrongSecret := newOrders(signing{shopDomain: s.shopDomain, shopifySecret: "x", wooSource: s.wooSource, wooSecret: "y"})
	for range 2 { // one Shopify, one WooCommerce order
		if status := sendOne(t, client, wrongSecret, f.url); status != http.StatusForbidden {
			t.Errorf("wrong secret: status %d, want 403", status)
		}
	}
	// Senders at once, so that the group floor commits several in one
	// transaction: after each 200, the rows of every 200 so far are stored.
	var answered atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 4 {
				req, err := good.request(t.Context(), f.url)
				if err != nil {
					t.Error(err)
					return
				}
				status, err := do(client, req)
				if err != nil || status != http.StatusOK {
					t.Errorf("signed: status %d, %v; want 200", status, err)
					return
				}
				ok := answered.Add(1)
				n, err := f.db.count(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				if int64(n) < ok {
					t.Errorf("%d rows stored after %d answers 200", n, ok)
				}
			}
		})
	}
	wg.Wait()
	n, err := f.db.count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != 64 {
		t.Errorf("%d deliveries stored, want 64", n)
	}
}

// TestMedians: the table shows each target's medians over its rounds, the
// non-200 answers of all rounds, and the ratios to the floors of the same
// backend at the same concurrency.
func TestMedians(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{nil, -1}, {[]float64{-1, -1}, -1}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{5, -1, 1}, 3}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	step := func(backend, floor string, c, accepted, rejected int, p99 time.Duration) result {
		return result{backend: backend, floor: floor, concurrency: c, peakRSS: -1, cpu: -1,
			load: loadResult{accepted: accepted, rejected: rejected, elapsed: time.Second, latencies: []time.Duration{p99}}}
	}
	var results []result
	for _, accepted := range []int{100, 300, 200} { // three rounds
		results = append(results,
			step(sqliteBackend, naiveFloor, 32, 2*accepted, 0, 10*time.Millisecond),
			step(sqliteBackend, groupFloor, 32, 4*accepted, 0, 5*time.Millisecond),
			step(sqliteBackend, "", 32, accepted, 1, 20*time.Millisecond),
			step(postgresBackend, "", 32, accepted, 0, 30*time.Millisecond))
	}
	rs := rows(results)
	if len(rs) != 4 {
		t.Fatalf("%d rows, want 4: %+v", len(rs), rs)
	}
	service := rs[2]
	if service.name != sqliteBackend || service.rounds != 3 || service.accepted != 200 || service.rejected != 3 || service.p99 != 20 {
		t.Errorf("service row %+v, want the median 200/s, p99 20 ms, 3 non-200 over 3 rounds", service)
	}
	if got := service.cells(); got[8] != "-" || got[9] != "-" {
		t.Errorf("memory and CPU not measured show %q and %q, want -", got[8], got[9])
	}
	want := [][]string{{sqliteBackend, "32", "200", "400", "800", "0.50×", "0.25×", "20.0", "5.0"}}
	if got := ratioRows(rs); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("ratio rows %q, want %q (PostgreSQL has no floor here)", got, want)
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

// TestSoakPhases: each item is timed from its order's 200 to the first call
// answered 200 that enrolled it, under the phase it was accepted in; after
// a down phase, the backlog is what was accepted before the LMS came back
// and not enrolled by then, drained at the rate of every enrollment until
// the last of it.
func TestSoakPhases(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	phases, err := parsePhases("healthy:10s,down:10s, healthy:10s")
	if err != nil {
		t.Fatal(err)
	}
	accepted := map[string]time.Time{"a": at(1), "b": at(12), "c": at(15), "d": at(21), "e": at(29)}
	calls := []edxtest.Call{
		{Time: at(2), Status: http.StatusOK, Identifiers: []string{"a"}},
		{Time: at(13), Status: http.StatusServiceUnavailable, Identifiers: []string{"b", "c"}},
		{Time: at(22), Status: http.StatusOK, Identifiers: []string{"b", "d"}},
		{Time: at(24), Status: http.StatusOK, Identifiers: []string{"c", "b"}},
		{Time: at(31), Status: http.StatusOK, Identifiers: []string{"late"}}, // after the run: no phase's rate
	}
	got, all := soakPhases(phases, start, accepted, enrolledAt(calls))
	if len(got) != 3 {
		t.Fatalf("%d phases, want 3", len(got))
	}
	for i, want := range []struct {
		items, missing, enrolled, backlog, drained int
		p99, drainTook                             time.Duration
	}{
		{1, 0, 1, 0, 0, time.Second, 0},
		{2, 0, 0, 2, 3, 10 * time.Second, 4 * time.Second}, // b waited 10 s; c, enrolled at 24 s, ends the drain
		{2, 1, 3, 0, 0, time.Second, 0},                    // e never enrolled
	} {
		p := got[i]
		if p.items != want.items || p.missing != want.missing || p.enrolled != want.enrolled || p.backlog != want.backlog ||
			p.drained != want.drained || percentile(p.waits, 99) != want.p99 || p.drainTook != want.drainTook {
			t.Errorf("phase %d (%s): %+v, want %+v", i, p.name, p, want)
		}
	}
	if all.items != 5 || all.missing != 1 || all.enrolled != 5 || percentile(all.waits, 100) != 10*time.Second {
		t.Errorf("whole run: %+v", all)
	}
	if cells := got[1].cells(); cells[8] != "2" || cells[9] != "1 (4.0)" {
		t.Errorf("down phase cells %q, want backlog 2, drain 1/s (4.0 s)", cells)
	}
	for _, bad := range []string{"", "healthy", "up:5m", "down:0s", "down:-1m"} {
		if _, err := parsePhases(bad); err == nil {
			t.Errorf("parsePhases(%q): no error", bad)
		}
	}
}

// TestSmokeSoak runs a short soak through an outage: every item is
// enrolled, and the table times them and the drain.
func TestSmokeSoak(t *testing.T) {
	out := smokeRun(t, "--soak-phases", "healthy:2s,down:2s,healthy:2s", "--arrival", "20", "--retry-delay", "200ms")
	for _, want := range []string{"200 → enrolled p50 s", "healthy 2s", "down 2s"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
