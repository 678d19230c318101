// Command bench measures webhook-receiver the way a shop would load it. It
// builds the service, starts it against a fake Open edX LMS on a fresh
// SQLite database (and on PostgreSQL too when TEST_DATABASE_URL is set),
// sends unique, correctly signed Shopify and WooCommerce orders at several
// concurrencies, and prints accepted webhooks/s, acknowledgement latency,
// end-to-end enrollments/s, peak memory and CPU per webhook. Beside it, on
// each backend, it measures two floors: minimal servers that verify the
// signature and store the raw body durably before answering, one with a
// transaction per request, one with a group commit. Each step runs in
// rounds, floors and service alternately; the table shows medians and the
// ratios of the service to its floors.
//
//	go run ./cmd/bench                              10 s per step, concurrency 1, 8, 32, 128, 3 rounds
//	go run ./cmd/bench --requests 5000              5,000 requests per step instead
//	go run ./cmd/bench --markdown                   print Markdown tables (docs/performance.md)
//	go run ./cmd/bench --smoke                      short CI run; fails on any error
//	go run ./cmd/bench --cpuprofile cpu             also the service's CPU profile at each concurrency
//	go run ./cmd/bench --url http://127.0.0.1:8000  drive a service that is already running
//	go run ./cmd/bench --backlog 100000             memory with 100,000 items waiting for a down LMS, then the drain
//	go run ./cmd/bench --throttled 20000            20,000 enrollments through an LMS throttled like Open edX
//	go run ./cmd/bench --soak-phases healthy:5m,down:5m,healthy:5m --arrival 40
//	                                                time from each 200 to "enrolled" through an LMS outage
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
