package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

// Bounds of one step's wait for the fake LMS to record every enrollment.
const (
	enrollTimeout = 2 * time.Minute
	enrollPoll    = 50 * time.Millisecond
	idleSettle    = time.Second // how long the service idles before its idle RSS is read
)

// Backend names in the table.
const (
	sqliteBackend   = "sqlite"
	postgresBackend = "postgresql"
	remoteBackend   = "url"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	opts, err := parseOptions(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	b := &bench{
		opts:     opts,
		client:   newClient(slices.Max(opts.concurrency)),
		orders:   newOrders(opts.signing),
		progress: stderr,
	}
	defer b.client.CloseIdleConnections()
	rep := &report{header: header(ctx, args, opts)}
	if opts.url != "" {
		err = b.runRemote(ctx, rep)
	} else {
		err = b.runLocal(ctx, getenv, rep)
	}
	if err != nil {
		return err
	}
	if err := rep.write(stdout, opts.markdown); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if opts.smoke {
		return rep.smokeFailures()
	}
	return nil
}

// bench holds what every step of a run shares.
type bench struct {
	opts     options
	client   *http.Client
	orders   *orders
	progress io.Writer // one line per finished step, while the run goes on
}

// target is a server under load in one step.
type target struct {
	backend  string
	floor    string // naiveFloor or groupFloor; "" for the service
	url      string
	pid      int          // the process to watch for memory and CPU; 0 for none
	lms      *edxtest.LMS // where its enrollments arrive; nil when not observed
	pprofURL string       // where the service serves net/http/pprof; "" when not profiled
	// expected counts the enrollments the target's accepted webhooks should
	// have produced so far. A step waits for all of them, so a backlog left by
	// a step that timed out is counted against the next one, not for it.
	expected *int
}

// runRemote drives a service that is already running.
func (b *bench) runRemote(ctx context.Context, rep *report) error {
	t := target{backend: remoteBackend, url: b.opts.url}
	for _, c := range b.opts.concurrency {
		for round := range b.opts.rounds {
			if err := b.step(ctx, t, c, round, rep); err != nil {
				return err
			}
		}
	}
	return nil
}

// runLocal builds the service and measures it on SQLite, with the floors,
// and on PostgreSQL with its floors when TEST_DATABASE_URL is set (not in
// smoke runs): the steps, or a backlog or throttled run when the options ask
// for one.
func (b *bench) runLocal(ctx context.Context, getenv func(string) string, rep *report) (err error) {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "webhook-receiver-bench-")
	if err != nil {
		return fmt.Errorf("create temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(b.progress, "building ./cmd/webhook-receiver")
	bin, err := buildService(ctx, root, dir)
	if err != nil {
		return err
	}
	measure := b.runBackend
	switch {
	case b.opts.backlog > 0:
		measure = b.runBacklog
	case b.opts.throttled > 0:
		measure = b.runThrottled
	case len(b.opts.phases) > 0:
		measure = b.runSoak
	}
	sqliteFloors := func(ctx context.Context) ([]*floor, error) {
		return startFloors(b.opts.signing,
			func() (*floorDB, error) { return openSQLiteFloor(ctx, filepath.Join(dir, "floor.db")) },
			func() (*floorDB, error) { return openSQLiteFloor(ctx, filepath.Join(dir, "group-floor.db")) })
	}
	sqliteURL := "sqlite:" + filepath.Join(dir, "bench.db")
	if err := measure(ctx, rep, sqliteBackend, bin, sqliteURL, sqliteFloors, getenv); err != nil {
		return err
	}
	server := getenv("TEST_DATABASE_URL")
	if server == "" || b.opts.smoke {
		return nil
	}
	pg, err := createPostgres(ctx, server, "")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, pg.drop()) }()
	pgFloors := func(ctx context.Context) ([]*floor, error) { return nil, nil }
	if b.opts.backlog == 0 && b.opts.throttled == 0 && len(b.opts.phases) == 0 { // the steps
		fpg, err := createPostgres(ctx, server, "floor")
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, fpg.drop()) }()
		pgFloors = func(ctx context.Context) ([]*floor, error) {
			return startFloors(b.opts.signing,
				func() (*floorDB, error) { return openPostgresFloor(ctx, fpg.url, floorPool) },
				func() (*floorDB, error) { return openPostgresFloor(ctx, fpg.url, 1) })
		}
	}
	return measure(ctx, rep, postgresBackend, bin, pg.url, pgFloors, getenv)
}

// floorStarter starts a backend's floors, the naive one first.
type floorStarter func(ctx context.Context) ([]*floor, error)

// startFloors opens the naive and the group floor's databases and serves
// them; on an error, it closes what it started.
func startFloors(s signing, openNaive, openGroup func() (*floorDB, error)) ([]*floor, error) {
	var floors []*floor
	for _, k := range []struct {
		kind string
		open func() (*floorDB, error)
	}{{naiveFloor, openNaive}, {groupFloor, openGroup}} {
		db, err := k.open()
		if err == nil {
			var f *floor
			if f, err = startFloor(k.kind, db, s); err == nil {
				floors = append(floors, f)
				continue
			}
		}
		for _, f := range floors {
			err = errors.Join(err, f.close())
		}
		return nil, err
	}
	return floors, nil
}

// runBackend starts the service on one database and a fresh fake LMS, runs
// every step with the backend's floors, then restarts the service on the
// populated database to time its start. In each round of a step the floors
// run just before the service, so all meet the same machine.
func (b *bench) runBackend(ctx context.Context, rep *report, backend, bin, databaseURL string, floors floorStarter, getenv func(string) string) (err error) {
	if b.opts.seed > 0 {
		if err := seed(ctx, databaseURL, b.opts.seed, b.progress); err != nil {
			return err
		}
	}
	lms := edxtest.Start()
	defer lms.Close()
	lms.SetThrottle(b.opts.throttle)
	env := serviceEnv(databaseURL, lms, b.opts, getenv)
	pprofURL := ""
	if b.opts.cpuProfile != "" {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		pprofURL = "http://" + addr
		env = append(env, pprofSetting+"="+addr)
	}
	fmt.Fprintf(b.progress, "starting the service on %s\n", backend)
	svc, firstStart, err := startService(ctx, b.client, bin, env)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, svc.stop()) }()
	proc := processResult{backend: backend, firstStart: firstStart}
	if proc.idleRSS, err = idleRSS(ctx, svc.pid()); err != nil {
		return err
	}
	var targets []target
	fs, err := floors(ctx)
	if err != nil {
		return err
	}
	for _, f := range fs {
		defer func() { err = errors.Join(err, f.close()) }()
		targets = append(targets, target{backend: backend, floor: f.kind, url: f.url})
	}
	targets = append(targets, target{backend: backend, url: svc.url, pid: svc.pid(), lms: lms, expected: new(int), pprofURL: pprofURL})
	if err := b.steps(ctx, targets, svc, rep); err != nil {
		return err
	}
	if err := svc.stop(); err != nil {
		return err
	}
	if proc.restart, err = timeRestart(ctx, b.client, bin, env); err != nil {
		return err
	}
	rep.processes = append(rep.processes, proc)
	return nil
}

// steps runs every concurrency against every target, in rounds that
// alternate the targets, checking after each step that the service is
// still alive.
func (b *bench) steps(ctx context.Context, targets []target, svc *service, rep *report) error {
	for _, c := range b.opts.concurrency {
		for round := range b.opts.rounds {
			for _, t := range targets {
				if err := b.step(ctx, t, c, round, rep); err != nil {
					return err
				}
				if svc.exited() {
					return fmt.Errorf("the service exited during the step at concurrency %d: %v\n%s", c, svc.err, svc.logs)
				}
			}
		}
	}
	return nil
}

// idleRSS lets the freshly started service settle, then reads its memory.
func idleRSS(ctx context.Context, pid int) (int64, error) {
	select {
	case <-ctx.Done():
		return -1, ctx.Err()
	case <-time.After(idleSettle):
	}
	rss, err := readRSS(pid)
	if err != nil {
		return -1, nil // not Linux: the column shows "-"
	}
	return rss, nil
}

// timeRestart starts the service again on its populated database and
// returns how long it took to be ready.
func timeRestart(ctx context.Context, client *http.Client, bin string, env []string) (time.Duration, error) {
	svc, took, err := startService(ctx, client, bin, env)
	if err != nil {
		return 0, fmt.Errorf("restart on the populated database: %w", err)
	}
	return took, svc.stop()
}

// step loads one target at one concurrency, then waits for its enrollments,
// sampling the process's memory all along and its CPU time at both ends.
func (b *bench) step(ctx context.Context, t target, c, round int, rep *report) error {
	r := result{backend: t.backend, floor: t.floor, concurrency: c, round: round, peakRSS: -1, cpu: -1}
	enrolledBefore, callsBefore := 0, 0
	if t.lms != nil {
		enrolledBefore, callsBefore = t.lms.Enrollments(), len(t.lms.Calls())
	}
	var cpuBefore time.Duration
	var cpuErr error
	stopRSS := func() int64 { return -1 }
	if t.pid != 0 {
		cpuBefore, cpuErr = readCPU(t.pid)
		stopRSS = sampleRSS(t.pid)
	}
	waitProfile := func() error { return nil }
	if t.pprofURL != "" && round == 0 {
		// The first round's load, at each concurrency. A run of --requests
		// has no known length: it is profiled for --duration.
		path := profileFile(b.opts.cpuProfile, t.backend, c)
		waitProfile = startProfile(ctx, b.client, t.pprofURL, path, b.opts.duration)
		fmt.Fprintf(b.progress, "profiling the service's CPU for %s into %s\n", b.opts.duration, path)
	}
	r.load = load(ctx, b.client, b.orders, t.url, c, b.opts)
	if err := waitProfile(); err != nil {
		return err
	}
	if t.lms != nil {
		*t.expected += itemsPerOrder * r.load.accepted
		r.enroll = waitEnrollments(ctx, t.lms, *t.expected, r.load.start)
		enrolled := t.lms.Enrollments()
		r.enroll.arrived = enrolled - enrolledBefore
		r.enroll.missing = max(*t.expected-enrolled, 0)
		r.enroll.calls = len(t.lms.Calls()) - callsBefore
	}
	r.peakRSS = stopRSS()
	if t.pid != 0 && cpuErr == nil {
		if cpuAfter, err := readCPU(t.pid); err == nil {
			r.cpu = cpuAfter - cpuBefore
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s at concurrency %d: %w", r.name(), c, err)
	}
	rep.results = append(rep.results, r)
	fmt.Fprintln(b.progress, r.summary())
	return nil
}

// enrollResult is how long a step's enrollments took to arrive.
type enrollResult struct {
	observed bool
	want     int           // enrollments expected in all, this step's and earlier ones
	took     time.Duration // from the first request until all arrived, or until the wait gave up
	timedOut bool
	arrived  int // enrollments the fake LMS recorded during the step
	calls    int // bulk-enroll calls it received during the step
	missing  int // enrollments still expected when the wait ended
	// reached is when 50, 90 and 99 % of want had arrived, from the
	// start; 0 when not (backlog and throttled runs only).
	reached [3]time.Duration
}

// waitEnrollments polls the fake LMS until it has recorded want
// enrollments, giving up enrollTimeout after the load ended.
func waitEnrollments(ctx context.Context, lms *edxtest.LMS, want int, start time.Time) enrollResult {
	r := enrollResult{observed: true, want: want}
	ctx, cancel := context.WithTimeout(ctx, enrollTimeout)
	defer cancel()
	tick := time.NewTicker(enrollPoll)
	defer tick.Stop()
	for lms.Enrollments() < want && !r.timedOut {
		select {
		case <-ctx.Done():
			r.timedOut = true
		case <-tick.C:
		}
	}
	r.took = time.Since(start)
	return r
}
