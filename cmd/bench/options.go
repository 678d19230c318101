package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// options are the command line of the benchmark.
type options struct {
	duration    time.Duration // per step, unless requests is set
	requests    int           // per step; wins over duration when set
	concurrency []int
	fill        int    // senders of a backlog or throttled run
	url         string // drive this running service instead of building one
	signing     signing
	markdown    bool
	smoke       bool
	arrival     float64 // orders a second the senders offer at most; 0 = as fast as they can
	throttle    int     // LMS calls per minute the fake LMS allows; 0 = no throttle
	seed        int     // orders stored in each database before the run
	rounds      int     // of each step: the floors and the service alternately, reported as medians
	cpuProfile  string  // write the service's CPU profile under the steps' load to this file, per backend

	// The backlog run: items left pending while the fake LMS is down.
	backlog      int           // items (two per order); 0 = no backlog run
	watch        time.Duration // how long memory is watched with the LMS down
	drainTimeout time.Duration // bound of the wait for the backlog once the LMS is back
	retryDelay   time.Duration // the service's WEBHOOK_RECEIVER_RETRY_DELAY in a backlog run

	// The soak run: orders arriving at a steady rate while the fake LMS
	// goes through phases.
	phases        []phase
	retryDelaySet bool // --retry-delay given: the service gets it in a soak run too

	// The throttled run: enrollments against the throttling fake LMS.
	throttled int     // enrollments (two per order); 0 = no throttled run
	batchSize int     // the service's WEBHOOK_RECEIVER_LMS_BATCH_SIZE; 0 = its default
	rateLimit float64 // the service's WEBHOOK_RECEIVER_LMS_RATE_LIMIT (calls/s); 0 = none
}

// signing says which shop and site the orders come from and how they are
// signed. The defaults are what the benchmark configures in the service it
// starts.
type signing struct {
	shopDomain    string
	shopifySecret string
	wooSource     string
	wooSecret     string
}

// Smoke runs are short and fail loudly: CI runs them so the command keeps working.
const (
	smokeConcurrency = 8
	smokeRequests    = 300
)

// Defaults of the backlog and throttled runs.
const (
	defaultWatch        = time.Minute
	defaultDrainTimeout = 10 * time.Minute
	defaultRetryDelay   = time.Second // short, so the workers keep retrying during the watch
	openEdXThrottle     = 120         // bulk enrollment calls a minute a default Open edX allows a staff user
	fillConcurrency     = 32          // senders of a backlog or throttled run, unless --concurrency gives one number
	defaultRounds       = 3
)

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	name := "bench"
	if len(args) > 0 {
		args = args[1:]
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: go run ./cmd/bench [flags]\n\nBuilds webhook-receiver, loads it with signed orders and prints a table.\n\nFlags:")
		fs.PrintDefaults()
	}
	concurrency := fs.String("concurrency", "1,8,32,128", "comma-separated `list` of concurrent clients, one step each")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each step sends requests")
	fs.IntVar(&o.requests, "requests", 0, "requests per step (`N`); when set it wins over --duration")
	fs.Float64Var(&o.arrival, "arrival", 0, "send at most this many orders a `second` in all (0: as fast as the senders can)")
	fs.StringVar(&o.url, "url", "", "drive an already running service at this base URL (no build, no fake LMS, no floor)")
	fs.StringVar(&o.signing.shopDomain, "shop-domain", "bench.myshopify.com", "Shopify shop domain the orders come from")
	fs.StringVar(&o.signing.shopifySecret, "shopify-secret", "bench-shopify-secret", "Shopify webhook secret that signs the orders")
	fs.StringVar(&o.signing.wooSource, "woo-source", "https://shop.bench.example/", "WooCommerce site the orders come from")
	fs.StringVar(&o.signing.wooSecret, "woo-secret", "bench-woocommerce-secret", "WooCommerce webhook secret that signs the orders")
	fs.BoolVar(&o.markdown, "markdown", false, "print Markdown tables instead of aligned text")
	fs.IntVar(&o.rounds, "rounds", defaultRounds, "run each step `N` times, the floors and the service alternately; the table shows the medians")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the service over all the steps to `FILE` (FILE.postgresql for PostgreSQL); read it with go tool pprof -top")
	fs.IntVar(&o.seed, "seed", 0, "store this many finished orders (`N`) in each database before the run, to measure ingest with history")
	fs.IntVar(&o.throttle, "lms-throttle", 0, "throttle the fake LMS like Open edX: this many bulk enrollment calls a `minute` (default Open edX: 120), 429 beyond")
	fs.IntVar(&o.backlog, "backlog", 0, "instead of the steps: with the fake LMS down, leave this many items (`N`, two per order) pending, watch the service's memory for --watch, then bring the LMS back and time the drain")
	fs.DurationVar(&o.watch, "watch", defaultWatch, "how long a --backlog run watches memory while the LMS is down")
	fs.DurationVar(&o.drainTimeout, "drain-timeout", defaultDrainTimeout, "how long a --backlog or --throttled run waits for every enrollment")
	fs.DurationVar(&o.retryDelay, "retry-delay", defaultRetryDelay, "the service's first retry delay in a --backlog run (WEBHOOK_RECEIVER_RETRY_DELAY)")
	fs.IntVar(&o.throttled, "throttled", 0, fmt.Sprintf("instead of the steps: send orders for this many enrollments (`N`, two per order) to the service against the fake LMS throttled at --lms-throttle calls a minute (%d unless given) and time them", openEdXThrottle))
	fs.IntVar(&o.batchSize, "batch-size", 0, "the service's learners per bulk enrollment call (WEBHOOK_RECEIVER_LMS_BATCH_SIZE); 0 keeps its default")
	fs.Float64Var(&o.rateLimit, "rate-limit", 0, "the service's own limit of bulk enrollment calls a second (WEBHOOK_RECEIVER_LMS_RATE_LIMIT); 0, the benchmark's default, is none")
	soak := fs.Duration("soak", 0, "instead of the steps: offer orders at --arrival a second (default 40) for this `long` with a healthy LMS, then time each item from its order's 200 until enrolled")
	soakPhases := fs.String("soak-phases", "", "instead of the steps: a soak through these LMS phases, `list` such as healthy:5m,down:5m,healthy:5m (healthy, down: 503, throttled: --lms-throttle calls a minute, 60 unless given)")
	fs.BoolVar(&o.smoke, "smoke", false, fmt.Sprintf("short run for CI: SQLite only, concurrency %d, %d requests; fails on any non-200 or missing enrollment", smokeConcurrency, smokeRequests))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("command line: %w", err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("command line: unexpected argument %q", fs.Arg(0))
	}
	var err error
	if o.concurrency, err = parseList(*concurrency); err != nil {
		return o, fmt.Errorf("--concurrency: %w", err)
	}
	o.fill = fillConcurrency
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	o.retryDelaySet = given["retry-delay"]
	switch {
	case *soakPhases != "":
		if o.phases, err = parsePhases(*soakPhases); err != nil {
			return o, fmt.Errorf("--soak-phases: %w", err)
		}
	case *soak > 0:
		o.phases = []phase{{name: phaseHealthy, d: *soak}}
	case *soak < 0:
		return o, fmt.Errorf("--soak must be positive, got %s", *soak)
	}
	if len(o.phases) > 0 {
		if !given["arrival"] {
			o.arrival = defaultSoakArrival
		}
		if !given["lms-throttle"] {
			o.throttle = defaultSoakThrottle
		}
	}
	if given["concurrency"] && (o.backlog > 0 || o.throttled > 0 || len(o.phases) > 0) {
		if len(o.concurrency) > 1 {
			return o, errors.New("--backlog, --throttled and --soak send from one number of senders: give --concurrency one value")
		}
		o.fill = o.concurrency[0]
	}
	if o.smoke {
		o.concurrency, o.requests, o.rounds = []int{smokeConcurrency}, smokeRequests, 1
	}
	if o.throttled > 0 && o.throttle == 0 {
		o.throttle = openEdXThrottle
	}
	return o, o.validate()
}

func (o options) validate() error {
	if o.requests < 0 {
		return fmt.Errorf("--requests must not be negative, got %d", o.requests)
	}
	if o.requests == 0 && o.duration <= 0 {
		return fmt.Errorf("--duration must be positive, got %s", o.duration)
	}
	for _, n := range []struct {
		name  string
		value int
	}{{"--backlog", o.backlog}, {"--throttled", o.throttled}, {"--batch-size", o.batchSize}, {"--lms-throttle", o.throttle}, {"--seed", o.seed}} {
		if n.value < 0 {
			return fmt.Errorf("%s must not be negative, got %d", n.name, n.value)
		}
	}
	if o.rounds < 1 {
		return fmt.Errorf("--rounds must be 1 or more, got %d", o.rounds)
	}
	soak := len(o.phases) > 0
	if o.cpuProfile != "" && (o.url != "" || o.backlog > 0 || o.throttled > 0 || soak) {
		return errors.New("--cpuprofile profiles the service the steps start: it does not work with --url, --backlog, --throttled or --soak")
	}
	if n := btoi(o.backlog > 0) + btoi(o.throttled > 0) + btoi(soak); n > 1 {
		return errors.New("--backlog, --throttled and --soak are separate runs: give one")
	}
	if (o.backlog > 0 || o.throttled > 0 || soak) && o.url != "" {
		return errors.New("--backlog, --throttled and --soak start the service themselves: they do not work with --url")
	}
	if soak && o.arrival <= 0 {
		return errors.New("--soak needs a steady --arrival of orders a second")
	}
	if o.backlog > 0 && (o.watch <= 0 || o.retryDelay <= 0) {
		return fmt.Errorf("--watch and --retry-delay must be positive, got %s and %s", o.watch, o.retryDelay)
	}
	if o.drainTimeout <= 0 {
		return fmt.Errorf("--drain-timeout must be positive, got %s", o.drainTimeout)
	}
	if o.arrival < 0 {
		return fmt.Errorf("--arrival must not be negative, got %g", o.arrival)
	}
	if o.rateLimit < 0 {
		return fmt.Errorf("--rate-limit must not be negative, got %g", o.rateLimit)
	}
	if o.url != "" {
		u, err := url.Parse(o.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--url must be an http or https base URL such as http://127.0.0.1:8000, got %q", o.url)
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// orderCount is how many orders carry n items, rounded up.
func orderCount(n int) int { return (n + itemsPerOrder - 1) / itemsPerOrder }

// parseList reads "1,8,32" into positive integers.
func parseList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("want positive integers separated by commas, got %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// describe says how long each step runs, for the report header.
func (o options) describe() string {
	offered := ""
	if o.arrival > 0 {
		offered = fmt.Sprintf(", offered at %g orders a second", o.arrival)
	}
	switch {
	case len(o.phases) > 0:
		phases := make([]string, len(o.phases))
		for i, p := range o.phases {
			phases[i] = p.name + " " + p.d.String()
		}
		return fmt.Sprintf("orders offered at %g a second (%d items each) from %d senders while the fake LMS is %s; throttled means %d calls a minute, 429 beyond; then up to %s for the last enrollments",
			o.arrival, itemsPerOrder, o.fill, strings.Join(phases, ", then "), o.throttle, o.drainTimeout)
	case o.backlog > 0:
		return fmt.Sprintf("%d orders (%d items) at concurrency %d%s with the fake LMS down (503), watched for %s, then the LMS back; retry delay %s",
			orderCount(o.backlog), itemsPerOrder*orderCount(o.backlog), o.fill, offered, o.watch, o.retryDelay)
	case o.throttled > 0:
		batch := "the service's default batch size"
		if o.batchSize > 0 {
			batch = "batch size " + strconv.Itoa(o.batchSize)
		}
		return fmt.Sprintf("%d orders (%d enrollments) at concurrency %d%s; fake LMS throttled at %d calls a minute; %s; service rate limit %g calls/s",
			orderCount(o.throttled), itemsPerOrder*orderCount(o.throttled), o.fill, offered, o.throttle, batch, o.rateLimit)
	}
	steps := make([]string, len(o.concurrency))
	for i, c := range o.concurrency {
		steps[i] = strconv.Itoa(c)
	}
	bound := o.duration.String() + " per step"
	if o.requests > 0 {
		bound = strconv.Itoa(o.requests) + " requests per step"
	}
	return fmt.Sprintf("%s, concurrency %s, %d rounds (floors and service alternately; medians)", bound, strings.Join(steps, ", "), o.rounds)
}
