package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// result is one row of the table: one target at one concurrency.
type result struct {
	backend     string
	concurrency int
	load        loadResult
	enroll      enrollResult
	peakRSS     int64         // bytes; -1 when not measured
	cpu         time.Duration // user + system time of the service over the step; -1 when not measured
}

// processResult is what is measured once per started service.
type processResult struct {
	backend    string
	idleRSS    int64         // bytes, a second after it was ready; -1 when not measured
	firstStart time.Duration // start to ready on the fresh database (migrations included)
	restart    time.Duration // start to ready on the populated database
}

// report is everything a run prints.
type report struct {
	header    [][2]string
	results   []result
	processes []processResult
	backlogs  []backlogResult
	throttles []throttleResult
}

// columns heads the table of results.
func columns() []string {
	return []string{"backend", "concurrency", "accepted/s", "p50 ms", "p99 ms", "max ms", "non-200",
		"enrollments/s", "peak RSS MB", "CPU µs/webhook"}
}

func (r result) cells() []string {
	return []string{
		r.backend,
		strconv.Itoa(r.concurrency),
		fmt.Sprintf("%.0f", perSecond(r.load.accepted, r.load.elapsed)),
		millis(percentile(r.load.latencies, 50)),
		millis(percentile(r.load.latencies, 99)),
		millis(percentile(r.load.latencies, 100)),
		strconv.Itoa(r.load.rejected),
		r.enrollRate(),
		megabytes(r.peakRSS),
		r.cpuPerWebhook(),
	}
}

func (r result) enrollRate() string {
	switch {
	case !r.enroll.observed:
		return "-"
	case r.enroll.timedOut:
		// What did arrive shows the rate the workers kept up.
		return fmt.Sprintf("timeout (%.0f/s)", perSecond(r.enroll.arrived, r.enroll.took))
	}
	return fmt.Sprintf("%.0f", perSecond(itemsPerOrder*r.load.accepted, r.enroll.took))
}

func (r result) cpuPerWebhook() string {
	if r.cpu < 0 || r.load.accepted == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", float64(r.cpu.Microseconds())/float64(r.load.accepted))
}

// summary is the progress line of a finished step.
func (r result) summary() string {
	c := r.cells()
	s := fmt.Sprintf("%s c=%s: %s accepted/s, p50 %s ms, p99 %s ms, max %s ms, %s non-200, %s enrollments/s, peak RSS %s MB, %s µs CPU/webhook",
		c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9])
	if r.enroll.calls > 0 {
		// How well enrollments are batched: identifiers per bulk-enroll call.
		s += fmt.Sprintf("; %d bulk-enroll calls, %.1f enrollments per call", r.enroll.calls, float64(r.enroll.arrived)/float64(r.enroll.calls))
	}
	if r.enroll.missing > 0 {
		s += fmt.Sprintf("; %d enrollments still pending", r.enroll.missing)
	}
	if r.load.firstFail != "" {
		s += "; first failure: " + r.load.firstFail
	}
	return s
}

func millis(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(d.Microseconds())/1000)
}

func megabytes(n int64) string {
	if n < 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(n)/(1<<20))
}

// header describes the run: when, on what, of which commit, how.
func header(ctx context.Context, args []string, opts options) [][2]string {
	machine := command(ctx, "uname", "-m")
	if machine == "" {
		machine = runtime.GOARCH
	}
	target := "services built from this repository, on 127.0.0.1"
	if opts.url != "" {
		target = opts.url
	}
	return [][2]string{
		{"date", time.Now().UTC().Format("2006-01-02 15:04 MST")},
		{"machine", fmt.Sprintf("%s, %d CPUs%s", machine, runtime.NumCPU(), loadAverage())},
		{"go", runtime.Version()},
		{"commit", commit(ctx)},
		{"command", "go run ./cmd/bench " + strings.Join(args[min(1, len(args)):], " ")},
		{"load", opts.describe()},
		{"target", target},
	}
}

// loadAverage tells how busy the machine was as the run began: other work
// on a shared machine moves the numbers.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return fmt.Sprintf(", load average %s %s %s at the start", f[0], f[1], f[2])
}

// commit names HEAD, marked dirty when the working tree has changes.
func commit(ctx context.Context) string {
	c := command(ctx, "git", "rev-parse", "--short", "HEAD")
	if c == "" {
		return "unknown"
	}
	if command(ctx, "git", "status", "--porcelain", "--untracked-files=no") != "" {
		c += " (with uncommitted changes)"
	}
	return c
}

// command runs a short command and returns its trimmed output, or "" on failure.
func command(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// ratios compares the SQLite service with the floor at each concurrency
// both ran.
func (rep *report) ratios() []string {
	floor := map[int]float64{}
	for _, r := range rep.results {
		if r.backend == floorBackend {
			floor[r.concurrency] = perSecond(r.load.accepted, r.load.elapsed)
		}
	}
	var out []string
	for _, r := range rep.results {
		f, ok := floor[r.concurrency]
		if r.backend != sqliteBackend || !ok || f == 0 {
			continue
		}
		s := perSecond(r.load.accepted, r.load.elapsed)
		out = append(out, fmt.Sprintf("sqlite ÷ floor, accepted webhooks/s at concurrency %d: %.2f× (%.0f/s ÷ %.0f/s)",
			r.concurrency, s/f, s, f))
	}
	return out
}

func (p processResult) cells() []string {
	return []string{p.backend, megabytes(p.idleRSS), millis(p.firstStart), millis(p.restart)}
}

// processColumns heads the table of started services.
func processColumns() []string {
	return []string{"backend", "idle RSS MB", "start to ready ms (fresh database)", "start to ready ms (populated database)"}
}

// write prints the header, the table, the process table and the ratios,
// as aligned text or as Markdown.
func (rep *report) write(w io.Writer, markdown bool) error {
	// Rows in the order steps ran interleave the floor with SQLite; group
	// them by backend, the floor last, each in the order of concurrency given.
	results := slices.Clone(rep.results)
	slices.SortStableFunc(results, func(a, b result) int { return cmp.Compare(backendRank(a.backend), backendRank(b.backend)) })
	rows := make([][]string, len(results))
	for i, r := range results {
		rows[i] = r.cells()
	}
	procs := make([][]string, len(rep.processes))
	for i, p := range rep.processes {
		procs[i] = p.cells()
	}
	write := writeText
	if markdown {
		write = writeMarkdown
	}
	var errs []error
	for _, h := range rep.header {
		_, err := fmt.Fprintf(w, "%s%s: %s\n", listMark(markdown), h[0], h[1])
		errs = append(errs, err)
	}
	if len(rows) > 0 {
		errs = append(errs, write(w, columns(), rows))
	}
	if len(rep.backlogs) > 0 {
		head := []string{"backlog, LMS down"}
		for _, r := range rep.backlogs {
			head = append(head, r.backend)
		}
		errs = append(errs, write(w, head, backlogRows(rep.backlogs)))
	}
	if len(rep.throttles) > 0 {
		head := []string{fmt.Sprintf("LMS throttled at %d calls a minute", rep.throttles[0].perMinute)}
		for _, r := range rep.throttles {
			head = append(head, r.backend)
		}
		errs = append(errs, write(w, head, throttleRows(rep.throttles)))
	}
	if len(procs) > 0 {
		errs = append(errs, write(w, processColumns(), procs))
	}
	if ratios := rep.ratios(); len(ratios) > 0 {
		fmt.Fprintln(w)
		for _, line := range ratios {
			_, err := fmt.Fprintf(w, "%s%s\n", listMark(markdown), line)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func backendRank(backend string) int {
	return slices.Index([]string{sqliteBackend, postgresBackend, remoteBackend, floorBackend}, backend)
}

func listMark(markdown bool) string {
	if markdown {
		return "- "
	}
	return ""
}

// writeText prints an aligned table after a blank line.
func writeText(w io.Writer, columns []string, rows [][]string) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(columns, "\t"))
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// writeMarkdown prints a Markdown table after a blank line.
func writeMarkdown(w io.Writer, columns []string, rows [][]string) error {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| "+strings.Join(columns, " | ")+" |")
	align := make([]string, len(columns))
	for i := range align {
		align[i] = "---:"
	}
	align[0] = "---"
	fmt.Fprintln(w, "|"+strings.Join(align, "|")+"|")
	for _, row := range rows {
		if _, err := fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |"); err != nil {
			return err
		}
	}
	return nil
}

// smokeFailures is the verdict of a smoke run: every webhook answered 200
// and every enrollment arrived, and no item failed.
func (rep *report) smokeFailures() error {
	var errs []error
	for _, r := range rep.backlogs {
		errs = append(errs, runFailures(r.backend+" backlog", r.fill, r.drain, r.drained)...)
	}
	for _, r := range rep.throttles {
		errs = append(errs, runFailures(r.backend+" throttled", r.fill, r.enroll, r.state)...)
	}
	for _, r := range rep.results {
		if r.load.rejected > 0 {
			errs = append(errs, fmt.Errorf("%s at concurrency %d: %d of %d webhooks not answered 200; first: %s",
				r.backend, r.concurrency, r.load.rejected, r.load.rejected+r.load.accepted, r.load.firstFail))
		}
		if r.enroll.timedOut {
			errs = append(errs, fmt.Errorf("%s at concurrency %d: not every enrollment arrived within %s of the last request",
				r.backend, r.concurrency, enrollTimeout))
		}
		if r.load.accepted == 0 {
			errs = append(errs, fmt.Errorf("%s at concurrency %d: no webhook accepted", r.backend, r.concurrency))
		}
	}
	return errors.Join(errs...)
}

// runFailures checks a backlog or throttled run.
func runFailures(name string, l loadResult, e enrollResult, st dbState) []error {
	var errs []error
	if l.rejected > 0 || l.accepted == 0 {
		errs = append(errs, fmt.Errorf("%s: %d of %d webhooks not answered 200; first: %s", name, l.rejected, l.rejected+l.accepted, l.firstFail))
	}
	if e.missing > 0 {
		errs = append(errs, fmt.Errorf("%s: %d of %d enrollments missing after %s", name, e.missing, e.want, e.took.Round(time.Millisecond)))
	}
	if n := st.failed(); n > 0 {
		errs = append(errs, fmt.Errorf("%s: %d items failed", name, n))
	}
	return errs
}
