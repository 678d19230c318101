package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

// throttleResult is what a throttled run measured on one backend: how fast
// enrollments got through an LMS that throttles like Open edX.
type throttleResult struct {
	backend   string
	perMinute int // the fake LMS's throttle
	fill      loadResult
	enroll    enrollResult // took: from the first request until the last enrollment
	calls     callStats
	minutes   []int   // enrollments made in each minute since the first request
	sustained float64 // enrollments/s from the first 429 on; -1 when no call was throttled
	state     dbState // the database at the end
	headroom  headroom
	peakRSS   int64
	cpu       time.Duration // -1 when not measured
}

// runThrottled sends orders for opts.throttled enrollments to the service
// while the fake LMS throttles bulk enrollment calls to opts.throttle a
// minute (429 with Retry-After beyond), and waits until every enrollment
// arrived or no item is left waiting.
func (b *bench) runThrottled(ctx context.Context, rep *report, backend, bin, databaseURL string, _ floorStarter, getenv func(string) string) (err error) {
	lms := edxtest.Start()
	defer lms.Close()
	lms.SetThrottle(b.opts.throttle)
	env := serviceEnv(databaseURL, lms, b.opts, getenv)
	fmt.Fprintf(b.progress, "starting the service on %s; the LMS allows %d calls a minute\n", backend, b.opts.throttle)
	svc, _, err := startService(ctx, b.client, bin, env)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, svc.stop()) }()
	r := throttleResult{backend: backend, perMinute: b.opts.throttle, cpu: -1, sustained: -1}
	cpuBefore, cpuErr := readCPU(svc.pid())
	mem := watchRSS(svc.pid())
	defer mem.stop()

	orders := orderCount(b.opts.throttled)
	fmt.Fprintf(b.progress, "sending %d orders (%d enrollments) at concurrency %d\n", orders, itemsPerOrder*orders, b.opts.fill)
	fill := b.opts
	fill.requests = orders
	// The enrollments start while the orders arrive: they are timed from
	// the first request.
	r.fill = load(ctx, b.client, b.orders, svc.url, b.opts.fill, fill)
	fmt.Fprintf(b.progress, "%d accepted in %s; waiting for the enrollments\n", r.fill.accepted, r.fill.elapsed.Round(time.Millisecond))
	r.enroll, err = waitAll(ctx, lms, databaseURL, itemsPerOrder*r.fill.accepted, r.fill.start, b.opts.drainTimeout, b.progress)
	if err != nil {
		return err
	}
	mem.stop()
	r.peakRSS, _ = mem.read()
	if cpuAfter, err := readCPU(svc.pid()); err == nil && cpuErr == nil {
		r.cpu = cpuAfter - cpuBefore
	}
	calls := lms.Calls()
	r.calls = countCalls(calls)
	r.enroll.reached = reachedAt(calls, r.fill.start, r.enroll.want)
	r.minutes, r.sustained = enrollmentsOverTime(calls, r.fill.start)
	if r.state, err = readState(ctx, databaseURL); err != nil {
		return err
	}
	if r.headroom, err = readHeadroom(ctx, databaseURL); err != nil {
		return err
	}
	if svc.exited() {
		return fmt.Errorf("the service exited during the throttled run: %v\n%s", svc.err, svc.logs)
	}
	rep.throttles = append(rep.throttles, r)
	fmt.Fprintln(b.progress, r.summary())
	return nil
}

// enrollmentsOverTime counts the enrollments of successful calls in each
// minute since start, and the rate while the throttle held them back: the
// enrollments of successful calls after the first 429 over the time from
// that 429 to the last successful call. That leaves out the burst the
// throttle's empty window lets through at first, and counts whole windows
// of waiting after it. The rate is -1 when no call was throttled.
func enrollmentsOverTime(calls []edxtest.Call, start time.Time) (minutes []int, sustained float64) {
	var from, last time.Time
	n := 0
	for _, c := range calls {
		if c.Status == http.StatusTooManyRequests && from.IsZero() {
			from = c.Time
		}
		if c.Status != http.StatusOK {
			continue
		}
		k := len(c.Identifiers) * len(c.Courses)
		m := int(c.Time.Sub(start) / time.Minute)
		for len(minutes) <= m {
			minutes = append(minutes, 0)
		}
		minutes[m] += k
		if !from.IsZero() {
			n += k
			last = c.Time
		}
	}
	if from.IsZero() || !last.After(from) {
		return minutes, -1
	}
	return minutes, float64(n) / last.Sub(from).Seconds()
}

func (r throttleResult) rate() float64 { return perSecond(r.enroll.arrived, r.enroll.took) }

func (r throttleResult) sustainedRate() string {
	if r.sustained < 0 {
		return "- (no call was throttled)"
	}
	return fmt.Sprintf("%.0f", r.sustained)
}

// summary is the progress line of a finished throttled run.
func (r throttleResult) summary() string {
	s := fmt.Sprintf("%s throttled: %d of %d enrollments in %.1f s, %.0f/s", r.backend, r.enroll.arrived, r.enroll.want, r.enroll.took.Seconds(), r.rate())
	if r.sustained >= 0 {
		s += fmt.Sprintf(", %.0f/s from the first 429 on", r.sustained)
	}
	s += fmt.Sprintf("; %d calls, %d answered 429; %d items failed", r.calls.calls, r.calls.throttled, r.state.failed())
	if r.enroll.timedOut {
		s += "; timed out"
	}
	return s
}

// throttleRows are the measures of a throttled run, one row each, with a
// column per backend.
func throttleRows(rs []throttleResult) [][]string {
	rows := []struct {
		measure string
		value   func(r throttleResult) string
	}{
		{"orders sent, answered 200, other answers", func(r throttleResult) string {
			return fmt.Sprintf("%d, %d, %d", r.fill.accepted+r.fill.rejected, r.fill.accepted, r.fill.rejected)
		}},
		{"time to send them (accepted/s)", func(r throttleResult) string {
			return fmt.Sprintf("%.1f s (%.0f/s)", r.fill.elapsed.Seconds(), perSecond(r.fill.accepted, r.fill.elapsed))
		}},
		{"enrollments recorded by the fake LMS, of those expected", func(r throttleResult) string {
			return fmt.Sprintf("%d of %d", r.enroll.arrived, r.enroll.want)
		}},
		{"first request to last enrollment", func(r throttleResult) string {
			s := fmt.Sprintf("%.1f s", r.enroll.took.Seconds())
			if r.enroll.timedOut {
				s += " (timed out)"
			}
			return s
		}},
		{"time to 50 %, 90 %, 99 % of the enrollments", func(r throttleResult) string { return milestones(r.enroll) }},
		{"enrollments/s, first request to last enrollment", func(r throttleResult) string { return fmt.Sprintf("%.0f", r.rate()) }},
		{"enrollments/s from the first 429 to the last enrollment", func(r throttleResult) string { return r.sustainedRate() }},
		{"enrollments in each minute from the first request", func(r throttleResult) string {
			s := make([]string, len(r.minutes))
			for i, n := range r.minutes {
				s[i] = strconv.Itoa(n)
			}
			return strings.Join(s, ", ")
		}},
		{"bulk-enroll calls: made, answered 200, answered 429, other", func(r throttleResult) string {
			return fmt.Sprintf("%d, %d, %d, %d", r.calls.calls, r.calls.ok, r.calls.throttled, r.calls.other)
		}},
		{"enrollments per call answered 200", func(r throttleResult) string { return r.calls.perCall() }},
		{"first 429, from the first request", func(r throttleResult) string {
			if r.calls.firstThrottled.IsZero() {
				return "none"
			}
			return fmt.Sprintf("%.1f s", r.calls.firstThrottled.Sub(r.fill.start).Seconds())
		}},
		{"item attempts answered 429 (database; not counted as tries)", func(r throttleResult) string { return strconv.Itoa(r.state.throttled) }},
		{"items at the end (database)", func(r throttleResult) string { return describe(r.state.items) }},
		{"items failed, enrolled more than once", func(r throttleResult) string {
			return fmt.Sprintf("%d, %d", r.state.failed(), r.calls.enrolledTwice(r.enroll.arrived))
		}},
		{"most counted tries of an item (fails at 25), most snoozes of a job (429s count as tries after 100)", func(r throttleResult) string {
			return fmt.Sprintf("%d, %d", r.headroom.maxTries, r.headroom.maxSnoozes)
		}},
		{"peak RSS MB", func(r throttleResult) string { return megabytes(r.peakRSS) }},
		{"service CPU", func(r throttleResult) string {
			if r.cpu < 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f s", r.cpu.Seconds())
		}},
	}
	out := make([][]string, len(rows))
	for i, row := range rows {
		out[i] = []string{row.measure}
		for _, r := range rs {
			out[i] = append(out[i], row.value(r))
		}
	}
	return out
}
