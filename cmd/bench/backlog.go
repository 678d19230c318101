package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

// backlogResult is what a backlog run measured on one backend: the
// service's memory while a large backlog waits for an LMS that is down,
// and how the backlog drains once it is back.
type backlogResult struct {
	backend string
	fill    loadResult

	idleRSS     int64   // before any order, a second after ready
	fillPeak    int64   // while the orders arrived
	withBacklog int64   // right after the last order was answered
	watchPeak   int64   // while the backlog waited, the LMS down
	watchEnd    int64   // at the end of that watch
	timeline    []int64 // during the watch, one sample every watchEvery
	watchEvery  time.Duration
	watchCPU    time.Duration // service CPU time during the watch; -1 when not measured
	drainPeak   int64         // while the backlog drained
	afterDrain  int64         // once it had

	filled, watched, drained dbState // the database after the fill, the watch, the drain
	headroom                 headroom
	drain                    enrollResult
	calls                    callStats // bulk-enroll calls while draining
}

// runBacklog measures one backend with a backlog: the fake LMS answers 503
// to everything while orders for opts.backlog items arrive through HTTP
// (each item a River job of its own), the service's memory is watched while
// its workers fail and retry, then the LMS comes back and the backlog
// drains.
func (b *bench) runBacklog(ctx context.Context, rep *report, backend, bin, databaseURL string, _ floorStarter, getenv func(string) string) (err error) {
	lms := edxtest.Start()
	defer lms.Close()
	lms.SetDown(true)
	env := serviceEnv(databaseURL, lms, b.opts, getenv)
	fmt.Fprintf(b.progress, "starting the service on %s with the LMS down\n", backend)
	svc, _, err := startService(ctx, b.client, bin, env)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, svc.stop()) }()
	r := backlogResult{backend: backend, watchCPU: -1}
	if r.idleRSS, err = idleRSS(ctx, svc.pid()); err != nil {
		return err
	}
	mem := watchRSS(svc.pid())
	defer mem.stop()

	orders := orderCount(b.opts.backlog)
	fmt.Fprintf(b.progress, "sending %d orders (%d items) at concurrency %d\n", orders, itemsPerOrder*orders, b.opts.fill)
	fill := b.opts
	fill.requests = orders
	r.fill = load(ctx, b.client, b.orders, svc.url, b.opts.fill, fill)
	r.fillPeak = mem.phase()
	_, r.withBacklog = mem.read()
	if r.filled, err = readState(ctx, databaseURL); err != nil {
		return err
	}
	fmt.Fprintf(b.progress, "%d accepted in %s; items: %s; jobs: %s; RSS %s MB\n", r.fill.accepted,
		r.fill.elapsed.Round(time.Millisecond), describe(r.filled.items), describe(r.filled.jobs), megabytes(r.withBacklog))

	if err := b.watchBacklog(ctx, svc, mem, &r); err != nil {
		return err
	}
	if r.watched, err = readState(ctx, databaseURL); err != nil {
		return err
	}

	fmt.Fprintln(b.progress, "the LMS is back; draining")
	lms.SetDown(false) // a down LMS answers before it records calls: all it has recorded come after this
	back := time.Now()
	r.drain, err = waitAll(ctx, lms, databaseURL, itemsPerOrder*r.fill.accepted, back, b.opts.drainTimeout, b.progress)
	if err != nil {
		return err
	}
	calls := lms.Calls()
	r.drain.reached = reachedAt(calls, back, r.drain.want)
	r.drainPeak = mem.phase()
	_, r.afterDrain = mem.read()
	if r.drained, err = readState(ctx, databaseURL); err != nil {
		return err
	}
	if r.headroom, err = readHeadroom(ctx, databaseURL); err != nil {
		return err
	}
	r.calls = countCalls(calls)
	if svc.exited() {
		return fmt.Errorf("the service exited during the backlog run: %v\n%s", svc.err, svc.logs)
	}
	rep.backlogs = append(rep.backlogs, r)
	fmt.Fprintln(b.progress, r.summary())
	return nil
}

// watchBacklog lets the backlog wait for the down LMS for opts.watch,
// noting the service's memory every watchEvery.
func (b *bench) watchBacklog(ctx context.Context, svc *service, mem *rssWatch, r *backlogResult) error {
	r.watchEvery = max(b.opts.watch/6, time.Second)
	cpuBefore, cpuErr := readCPU(svc.pid())
	start := time.Now()
	tick := time.NewTicker(r.watchEvery)
	defer tick.Stop()
	fmt.Fprintf(b.progress, "watching memory for %s with the LMS down\n", b.opts.watch)
	for time.Since(start) < b.opts.watch {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-svc.done:
			return fmt.Errorf("the service exited while the LMS was down: %v\n%s", svc.err, svc.logs)
		case <-tick.C:
		}
		_, last := mem.read()
		r.timeline = append(r.timeline, last)
		fmt.Fprintf(b.progress, "  %s: RSS %s MB\n", time.Since(start).Round(time.Second), megabytes(last))
	}
	r.watchPeak = mem.phase()
	_, r.watchEnd = mem.read()
	if cpuAfter, err := readCPU(svc.pid()); err == nil && cpuErr == nil {
		r.watchCPU = cpuAfter - cpuBefore
	}
	return nil
}

// summary is the progress line of a finished backlog run.
func (r backlogResult) summary() string {
	return fmt.Sprintf("%s backlog: idle %s MB, peak %s MB while filling, %s MB with the backlog, peak %s MB while the LMS was down, peak %s MB while draining; drained in %s; %d items failed",
		r.backend, megabytes(r.idleRSS), megabytes(r.fillPeak), megabytes(r.withBacklog), megabytes(r.watchPeak),
		megabytes(r.drainPeak), r.drainTime(), r.drained.failed())
}

func (r backlogResult) drainTime() string {
	if r.drain.timedOut || r.drain.missing > 0 {
		return fmt.Sprintf("not drained (%d of %d enrollments after %s)", r.drain.arrived, r.drain.want, r.drain.took.Round(time.Second))
	}
	return fmt.Sprintf("%.1f s", r.drain.took.Seconds())
}

// backlogRows are the measures of a backlog run, one row each, with a
// column per backend.
func backlogRows(rs []backlogResult) [][]string {
	rows := []struct {
		measure string
		value   func(r backlogResult) string
	}{
		{"orders sent, answered 200, other answers", func(r backlogResult) string {
			return fmt.Sprintf("%d, %d, %d", r.fill.accepted+r.fill.rejected, r.fill.accepted, r.fill.rejected)
		}},
		{"time to send them (accepted/s)", func(r backlogResult) string {
			return fmt.Sprintf("%.1f s (%.0f/s)", r.fill.elapsed.Seconds(), perSecond(r.fill.accepted, r.fill.elapsed))
		}},
		{"items waiting after the fill (database)", func(r backlogResult) string { return describe(r.filled.items) }},
		{"jobs after the fill (River)", func(r backlogResult) string { return describe(r.filled.jobs) }},
		{"idle RSS MB, before the first order", func(r backlogResult) string { return megabytes(r.idleRSS) }},
		{"peak RSS MB while the orders arrived", func(r backlogResult) string { return megabytes(r.fillPeak) }},
		{"RSS MB with the backlog, right after the fill", func(r backlogResult) string { return megabytes(r.withBacklog) }},
		{"peak RSS MB during the watch (LMS down)", func(r backlogResult) string { return megabytes(r.watchPeak) }},
		{"RSS MB during the watch, one sample each interval", func(r backlogResult) string {
			s := make([]string, len(r.timeline))
			for i, v := range r.timeline {
				s[i] = megabytes(v)
			}
			return fmt.Sprintf("every %s: %s", r.watchEvery, strings.Join(s, ", "))
		}},
		{"failed attempts recorded during the watch", func(r backlogResult) string {
			return fmt.Sprint(r.watched.attempts - r.filled.attempts)
		}},
		{"service CPU during the watch", func(r backlogResult) string {
			if r.watchCPU < 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f s", r.watchCPU.Seconds())
		}},
		{"items and jobs at the end of the watch", func(r backlogResult) string {
			return "items: " + describe(r.watched.items) + "; jobs: " + describe(r.watched.jobs)
		}},
		{"time to drain once the LMS is back", func(r backlogResult) string { return r.drainTime() }},
		{"time to 50 %, 90 %, 99 % of the enrollments", func(r backlogResult) string { return milestones(r.drain) }},
		{"enrollments/s while draining", func(r backlogResult) string {
			return fmt.Sprintf("%.0f", perSecond(r.drain.arrived, r.drain.took))
		}},
		{"bulk-enroll calls while draining (enrollments per call)", func(r backlogResult) string {
			return fmt.Sprintf("%d (%s); %d answered 429, %d other", r.calls.calls, r.calls.perCall(), r.calls.throttled, r.calls.other)
		}},
		{"most counted tries of an item (fails at 25), most snoozes of a job", func(r backlogResult) string {
			return fmt.Sprintf("%d, %d", r.headroom.maxTries, r.headroom.maxSnoozes)
		}},
		{"peak RSS MB while draining", func(r backlogResult) string { return megabytes(r.drainPeak) }},
		{"RSS MB after draining", func(r backlogResult) string { return megabytes(r.afterDrain) }},
		{"items failed, items still waiting, enrolled more than once", func(r backlogResult) string {
			return fmt.Sprintf("%d, %d, %d", r.drained.failed(), r.drained.waiting(), r.calls.enrolledTwice(r.drain.arrived))
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

// milestones lists when shares of a wait's enrollments had arrived.
func milestones(e enrollResult) string {
	s := make([]string, len(e.reached))
	for i, d := range e.reached {
		s[i] = "-"
		if d > 0 {
			s[i] = fmt.Sprintf("%.1f s", d.Seconds())
		}
	}
	return strings.Join(s, ", ")
}
