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
	floor       string // naiveFloor or groupFloor; "" for the service
	concurrency int
	round       int // from 0
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
	soaks     []soakResult
}

// columns heads the table of results.
func columns() []string {
	return []string{"backend", "concurrency", "accepted/s", "p50 ms", "p99 ms", "max ms", "non-200",
		"enrollments/s", "peak RSS MB", "CPU µs/webhook"}
}

// name is the row's name in the table: the backend, followed by the kind
// of floor for a floor.
func (r result) name() string {
	if r.floor == "" {
		return r.backend
	}
	return r.backend + "-" + r.floor
}

// row is one line of the table: the medians of a target's rounds at one
// concurrency. Figures not measured are -1.
type row struct {
	name, backend, floor string
	concurrency, rounds  int
	accepted             float64 // webhooks answered 200 a second
	p50, p99, max        float64 // ms
	rejected             int     // over all rounds
	enrollObserved       bool
	enrollTimedOut       bool    // in any round
	enrollments          float64 // a second; in a timed-out round, the rate at which they did arrive
	peakRSS              float64 // MB
	cpu                  float64 // µs of service CPU per accepted webhook
}

// rows folds the rounds of each target and concurrency into their medians,
// in the order the steps first ran.
func rows(results []result) []row {
	var out []row
	index := map[string]int{}
	groups := map[string][]result{}
	for _, r := range results {
		k := r.name() + "/" + strconv.Itoa(r.concurrency)
		if _, ok := index[k]; !ok {
			index[k] = len(out)
			out = append(out, row{name: r.name(), backend: r.backend, floor: r.floor, concurrency: r.concurrency})
		}
		groups[k] = append(groups[k], r)
	}
	for k, rs := range groups {
		w := &out[index[k]]
		w.rounds = len(rs)
		var accepted, p50, p99, maxLat, enroll, rss, cpu []float64
		for _, r := range rs {
			accepted = append(accepted, perSecond(r.load.accepted, r.load.elapsed))
			p50 = append(p50, ms(percentile(r.load.latencies, 50)))
			p99 = append(p99, ms(percentile(r.load.latencies, 99)))
			maxLat = append(maxLat, ms(percentile(r.load.latencies, 100)))
			w.rejected += r.load.rejected
			if r.enroll.observed {
				w.enrollObserved = true
				w.enrollTimedOut = w.enrollTimedOut || r.enroll.timedOut
				if r.enroll.timedOut {
					enroll = append(enroll, perSecond(r.enroll.arrived, r.enroll.took))
				} else {
					enroll = append(enroll, perSecond(itemsPerOrder*r.load.accepted, r.enroll.took))
				}
			}
			if r.peakRSS >= 0 {
				rss = append(rss, float64(r.peakRSS)/(1<<20))
			}
			if r.cpu >= 0 && r.load.accepted > 0 {
				cpu = append(cpu, float64(r.cpu.Microseconds())/float64(r.load.accepted))
			}
		}
		w.accepted, w.p50, w.p99, w.max = median(accepted), median(p50), median(p99), median(maxLat)
		w.enrollments, w.peakRSS, w.cpu = median(enroll), median(rss), median(cpu)
	}
	return out
}

// median is the middle value of xs (the mean of the two middle ones for an
// even count), ignoring values below 0 (not measured); -1 when none is left.
func median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if x >= 0 {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return -1
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

func ms(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return float64(d.Microseconds()) / 1000
}

func (w row) cells() []string {
	return []string{
		w.name,
		strconv.Itoa(w.concurrency),
		fmt.Sprintf("%.0f", w.accepted),
		figure(w.p50, "%.1f"),
		figure(w.p99, "%.1f"),
		figure(w.max, "%.1f"),
		strconv.Itoa(w.rejected),
		w.enrollRate(),
		figure(w.peakRSS, "%.1f"),
		figure(w.cpu, "%.0f"),
	}
}

// figure prints x in format, or "-" when it was not measured.
func figure(x float64, format string) string {
	if x < 0 {
		return "-"
	}
	return fmt.Sprintf(format, x)
}

func (w row) enrollRate() string {
	switch {
	case !w.enrollObserved:
		return "-"
	case w.enrollTimedOut:
		// What did arrive shows the rate the workers kept up.
		return fmt.Sprintf("timeout (%.0f/s)", w.enrollments)
	}
	return fmt.Sprintf("%.0f", w.enrollments)
}

// summary is the progress line of a finished step.
func (r result) summary() string {
	c := rows([]result{r})[0].cells()
	s := fmt.Sprintf("%s c=%s round %d: %s accepted/s, p50 %s ms, p99 %s ms, max %s ms, %s non-200, %s enrollments/s, peak RSS %s MB, %s µs CPU/webhook",
		c[0], c[1], r.round+1, c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9])
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

// ratioColumns heads the table that compares each backend's service with
// its floors.
func ratioColumns() []string {
	return []string{"backend", "concurrency", "service/s", "floor/s", "group floor/s",
		"service ÷ floor", "service ÷ group floor", "service p99 ms", "group floor p99 ms"}
}

// ratioRows compares the service with the naive and the group floor of its
// backend at each concurrency, from the medians.
func ratioRows(rs []row) [][]string {
	floors := map[string]row{}
	for _, r := range rs {
		if r.floor != "" {
			floors[r.floor+"/"+r.backend+"/"+strconv.Itoa(r.concurrency)] = r
		}
	}
	var out [][]string
	for _, r := range rs {
		if r.floor != "" {
			continue
		}
		naive, okNaive := floors[naiveFloor+"/"+r.backend+"/"+strconv.Itoa(r.concurrency)]
		group, okGroup := floors[groupFloor+"/"+r.backend+"/"+strconv.Itoa(r.concurrency)]
		if !okNaive && !okGroup {
			continue
		}
		out = append(out, []string{r.backend, strconv.Itoa(r.concurrency), fmt.Sprintf("%.0f", r.accepted),
			rate(naive, okNaive), rate(group, okGroup), ratio(r, naive, okNaive), ratio(r, group, okGroup),
			figure(r.p99, "%.1f"), figure(group.p99, "%.1f")})
	}
	return out
}

func rate(r row, ok bool) string {
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%.0f", r.accepted)
}

func ratio(service, floor row, ok bool) string {
	if !ok || floor.accepted <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", service.accepted/floor.accepted)
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
	medians := rows(rep.results)
	slices.SortStableFunc(medians, func(a, b row) int { return cmp.Compare(rank(a), rank(b)) })
	table := make([][]string, len(medians))
	for i, r := range medians {
		table[i] = r.cells()
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
	if len(table) > 0 {
		errs = append(errs, write(w, columns(), table))
	}
	if ratios := ratioRows(medians); len(ratios) > 0 {
		errs = append(errs, write(w, ratioColumns(), ratios))
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
	for _, r := range rep.soaks {
		errs = append(errs, write(w, soakColumns(r), soakRows(r)))
		_, err := fmt.Fprintf(w, "\n%s%s\n", listMark(markdown), r.summary())
		errs = append(errs, err)
	}
	if len(procs) > 0 {
		errs = append(errs, write(w, processColumns(), procs))
	}
	return errors.Join(errs...)
}

// rank orders the table: by backend, each backend's service first, then
// its naive floor, then its group floor.
func rank(r row) int {
	b := slices.Index([]string{sqliteBackend, postgresBackend, remoteBackend}, r.backend)
	return 3*b + slices.Index([]string{"", naiveFloor, groupFloor}, r.floor)
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
	for _, r := range rep.soaks {
		errs = append(errs, runFailures(r.backend+" soak", r.fill, r.enroll, dbState{})...)
	}
	for _, r := range rep.results {
		if r.load.rejected > 0 {
			errs = append(errs, fmt.Errorf("%s at concurrency %d: %d of %d webhooks not answered 200; first: %s",
				r.name(), r.concurrency, r.load.rejected, r.load.rejected+r.load.accepted, r.load.firstFail))
		}
		if r.enroll.timedOut {
			errs = append(errs, fmt.Errorf("%s at concurrency %d: not every enrollment arrived within %s of the last request",
				r.name(), r.concurrency, enrollTimeout))
		}
		if r.load.accepted == 0 {
			errs = append(errs, fmt.Errorf("%s at concurrency %d: no webhook accepted", r.name(), r.concurrency))
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
