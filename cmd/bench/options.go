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
	url         string // drive this running service instead of building one
	signing     signing
	markdown    bool
	smoke       bool
	throttle    int // LMS calls per minute the fake LMS allows; 0 = no throttle
	seed        int // orders stored in each database before the run
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
	fs.StringVar(&o.url, "url", "", "drive an already running service at this base URL (no build, no fake LMS, no floor)")
	fs.StringVar(&o.signing.shopDomain, "shop-domain", "bench.myshopify.com", "Shopify shop domain the orders come from")
	fs.StringVar(&o.signing.shopifySecret, "shopify-secret", "bench-shopify-secret", "Shopify webhook secret that signs the orders")
	fs.StringVar(&o.signing.wooSource, "woo-source", "https://shop.bench.example/", "WooCommerce site the orders come from")
	fs.StringVar(&o.signing.wooSecret, "woo-secret", "bench-woocommerce-secret", "WooCommerce webhook secret that signs the orders")
	fs.BoolVar(&o.markdown, "markdown", false, "print Markdown tables instead of aligned text")
	fs.IntVar(&o.seed, "seed", 0, "store this many finished orders (`N`) in each database before the run, to measure ingest with history")
	fs.IntVar(&o.throttle, "lms-throttle", 0, "throttle the fake LMS like Open edX: this many bulk enrollment calls a `minute` (default Open edX: 120), 429 beyond")
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
	if o.smoke {
		o.concurrency, o.requests = []int{smokeConcurrency}, smokeRequests
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
	if o.url != "" {
		u, err := url.Parse(o.url)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--url must be an http or https base URL such as http://127.0.0.1:8000, got %q", o.url)
		}
	}
	return nil
}

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
	steps := make([]string, len(o.concurrency))
	for i, c := range o.concurrency {
		steps[i] = strconv.Itoa(c)
	}
	bound := o.duration.String() + " per step"
	if o.requests > 0 {
		bound = strconv.Itoa(o.requests) + " requests per step"
	}
	return bound + ", concurrency " + strings.Join(steps, ", ")
}
