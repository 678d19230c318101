package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

// LMS phases of a soak run.
const (
	phaseHealthy   = "healthy"   // every call answered
	phaseDown      = "down"      // 503 to everything
	phaseThrottled = "throttled" // --lms-throttle calls a minute, 429 with Retry-After beyond
)

// Defaults of a soak run.
const (
	defaultSoakArrival  = 40 // orders a second
	defaultSoakThrottle = 60 // calls a minute: about one a second
)

// phase is a stretch of a soak run with the fake LMS in one state.
type phase struct {
	name string
	d    time.Duration
}

// parsePhases reads "healthy:5m,down:5m,healthy:5m".
func parsePhases(s string) ([]phase, error) {
	var out []phase
	for _, f := range strings.Split(s, ",") {
		name, d, ok := strings.Cut(strings.TrimSpace(f), ":")
		dur, err := time.ParseDuration(d)
		if !ok || err != nil || dur <= 0 || !slices.Contains([]string{phaseHealthy, phaseDown, phaseThrottled}, name) {
			return nil, fmt.Errorf("want phases such as healthy:5m,down:5m,healthy:5m (healthy, down or throttled, each with a positive duration), got %q", f)
		}
		out = append(out, phase{name: name, d: dur})
	}
	return out, nil
}

// soakResult is what a soak run measured on one backend.
type soakResult struct {
	backend  string
	arrival  float64
	throttle int // calls a minute in throttled phases
	fill     loadResult
	enroll   enrollResult
	phases   []phaseResult
	all      phaseResult // every item of the run
	peakRSS  int64
}

// phaseResult is one phase of a soak run: the items accepted in it, how
// long each waited from its order's 200 until the fake LMS enrolled it, and
// the learners the LMS enrolled during it.
type phaseResult struct {
	phase
	from     time.Duration // since the start of the run
	items    int           // accepted in the phase
	missing  int           // of those, never enrolled
	waits    []time.Duration
	enrolled int // learners the LMS enrolled during the phase
	// After a down phase: the items accepted before it ended and still
	// waiting then, and how fast the LMS enrolled learners until the last
	// of them was enrolled.
	backlog   int
	drainTook time.Duration
	drained   int // learners enrolled in drainTook (the backlog and newer items)
}

// runSoak offers orders at --arrival a second for the phases' total time
// while the fake LMS goes through them, then waits for every enrollment
// (at most --drain-timeout) and times each item from its order's 200 to its
// enrollment.
func (b *bench) runSoak(ctx context.Context, rep *report, backend, bin, databaseURL string, _ floorStarter, getenv func(string) string) (err error) {
	lms := edxtest.Start()
	defer lms.Close()
	env := serviceEnv(databaseURL, lms, b.opts, getenv)
	fmt.Fprintf(b.progress, "starting the service on %s for a soak of %s\n", backend, b.opts.describe())
	svc, _, err := startService(ctx, b.client, bin, env)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, svc.stop()) }()
	mem := watchRSS(svc.pid())
	defer mem.stop()

	var mu sync.Mutex
	acceptedAt := map[string]time.Time{}
	accepted := func(id int64, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range learners(id) {
			acceptedAt[l] = at
		}
	}
	opts := b.opts
	opts.requests, opts.duration = 0, 0
	for _, p := range b.opts.phases {
		opts.duration += p.d
	}
	start := time.Now()
	phaseCtx, stopPhases := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { drivePhases(phaseCtx, lms, b.opts.phases, b.opts.throttle, b.progress) })
	r := soakResult{backend: backend, arrival: b.opts.arrival, throttle: b.opts.throttle}
	r.fill = loadObserved(ctx, b.client, b.orders, svc.url, b.opts.fill, opts, accepted)
	stopPhases()
	wg.Wait()
	setPhase(lms, phaseHealthy, 0)
	fmt.Fprintf(b.progress, "%d orders accepted in %s; waiting for the enrollments\n", r.fill.accepted, r.fill.elapsed.Round(time.Second))
	r.enroll, err = waitAll(ctx, lms, databaseURL, itemsPerOrder*r.fill.accepted, start, b.opts.drainTimeout, b.progress)
	if err != nil {
		return err
	}
	mem.stop()
	r.peakRSS, _ = mem.read()
	if svc.exited() {
		return fmt.Errorf("the service exited during the soak: %v\n%s", svc.err, svc.logs)
	}
	mu.Lock()
	defer mu.Unlock()
	r.phases, r.all = soakPhases(b.opts.phases, start, acceptedAt, enrolledAt(lms.Calls()))
	rep.soaks = append(rep.soaks, r)
	return nil
}

// drivePhases puts the fake LMS through the phases, one after the other,
// until they are over or ctx is done.
func drivePhases(ctx context.Context, lms *edxtest.LMS, phases []phase, throttle int, progress interface{ Write([]byte) (int, error) }) {
	for _, p := range phases {
		setPhase(lms, p.name, throttle)
		fmt.Fprintf(progress, "LMS %s for %s\n", p.name, p.d)
		t := time.NewTimer(p.d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func setPhase(lms *edxtest.LMS, name string, throttle int) {
	lms.SetDown(name == phaseDown)
	if name == phaseThrottled {
		lms.SetThrottle(throttle)
	} else {
		lms.SetThrottle(0)
	}
}

// enrolledAt is when each identifier was first enrolled: the time of the
// first bulk-enroll call answered 200 that named it.
func enrolledAt(calls []edxtest.Call) map[string]time.Time {
	out := map[string]time.Time{}
	for _, c := range calls {
		if c.Status != 200 {
			continue
		}
		for _, id := range c.Identifiers {
			if _, ok := out[id]; !ok {
				out[id] = c.Time
			}
		}
	}
	return out
}

// soakPhases sorts the items by the phase their order was accepted in and
// measures each phase, and the whole run.
func soakPhases(phases []phase, start time.Time, acceptedAt, enrolled map[string]time.Time) ([]phaseResult, phaseResult) {
	out := make([]phaseResult, len(phases))
	bounds := []time.Time{start}
	for i, p := range phases {
		out[i] = phaseResult{phase: p, from: bounds[i].Sub(start)}
		bounds = append(bounds, bounds[i].Add(p.d))
	}
	// in is the phase of t; a late answer of the last phase belongs to it.
	in := func(t time.Time) int {
		for i := range phases {
			if t.Before(bounds[i+1]) {
				return i
			}
		}
		return len(phases) - 1
	}
	all := phaseResult{phase: phase{name: "all"}}
	for id, at := range acceptedAt {
		p := &out[in(at)]
		p.items++
		all.items++
		done, ok := enrolled[id]
		if !ok {
			p.missing++
			all.missing++
			continue
		}
		p.waits = append(p.waits, done.Sub(at))
		all.waits = append(all.waits, done.Sub(at))
	}
	for _, done := range enrolled {
		all.enrolled++
		if done.Before(bounds[len(phases)]) { // not the wait for the last enrollments after the run
			out[in(done)].enrolled++
		}
	}
	for i := range out {
		slices.Sort(out[i].waits)
		if out[i].name != phaseDown || i == len(out)-1 {
			continue
		}
		// The backlog when the LMS came back, and its drain.
		end := bounds[i+1]
		var last time.Time
		for id, at := range acceptedAt {
			done, ok := enrolled[id]
			if at.Before(end) && (!ok || done.After(end)) {
				out[i].backlog++
				if ok && done.After(last) {
					last = done
				}
			}
		}
		if out[i].backlog == 0 || last.IsZero() {
			continue
		}
		out[i].drainTook = last.Sub(end)
		for _, done := range enrolled {
			if done.After(end) && !done.After(last) {
				out[i].drained++
			}
		}
	}
	slices.Sort(all.waits)
	return out, all
}

// soakColumns heads a soak run's table.
func soakColumns(r soakResult) []string {
	return []string{r.backend + ": LMS phase", "from s", "items accepted", "200 → enrolled p50 s", "p99 s", "max s",
		"never enrolled", "learners enrolled/s in the phase", "backlog when the LMS came back", "drain learners/s (s)"}
}

func soakRows(r soakResult) [][]string {
	var rows [][]string
	for _, p := range append(slices.Clone(r.phases), r.all) {
		rows = append(rows, p.cells())
	}
	return rows
}

func (p phaseResult) cells() []string {
	seconds := func(d time.Duration) string {
		if d < 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", d.Seconds())
	}
	name, from, rate := p.name, seconds(p.from), "-"
	if p.d > 0 {
		name += " " + p.d.String()
		rate = fmt.Sprintf("%.0f", perSecond(p.enrolled, p.d))
	} else {
		from = "-"
	}
	backlog, drain := "-", "-"
	if p.name == phaseDown && p.backlog > 0 {
		backlog = strconv.Itoa(p.backlog)
		if p.drainTook > 0 {
			drain = fmt.Sprintf("%.0f (%s)", perSecond(p.drained, p.drainTook), seconds(p.drainTook))
		}
	}
	return []string{name, from, strconv.Itoa(p.items), seconds(percentile(p.waits, 50)), seconds(percentile(p.waits, 99)),
		seconds(percentile(p.waits, 100)), strconv.Itoa(p.missing), rate, backlog, drain}
}

func (r soakResult) summary() string {
	return fmt.Sprintf("%s soak: %d orders at %g/s offered, %d accepted, %d non-200; 200 → enrolled p50 %s s, p99 %s s, max %s s; %d never enrolled; peak RSS %s MB",
		r.backend, r.fill.accepted+r.fill.rejected, r.arrival, r.fill.accepted, r.fill.rejected,
		fmt.Sprintf("%.1f", percentile(r.all.waits, 50).Seconds()), fmt.Sprintf("%.1f", percentile(r.all.waits, 99).Seconds()),
		fmt.Sprintf("%.1f", percentile(r.all.waits, 100).Seconds()), r.all.missing, megabytes(r.peakRSS))
}
