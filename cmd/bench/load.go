package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// requestTimeout bounds one webhook request, so a step always ends.
const requestTimeout = 30 * time.Second

// newClient returns the one client of the run, keeping an idle connection
// per concurrent sender so no step pays for reconnects.
func newClient(maxConcurrency int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = maxConcurrency + 16
	t.MaxIdleConnsPerHost = maxConcurrency + 16
	t.MaxConnsPerHost = 0
	return &http.Client{Transport: t, Timeout: requestTimeout}
}

// loadResult is what the senders saw in one step.
type loadResult struct {
	start     time.Time       // when the first request was sent
	elapsed   time.Duration   // until the last answer arrived
	accepted  int             // answered 200
	rejected  int             // answered otherwise, or not answered
	firstFail string          // the first rejection, for the error message
	latencies []time.Duration // of every answered request, sorted
}

// load sends orders to baseURL from c concurrent senders until the step's
// request count or duration is used up; with opts.arrival set, no faster
// than that many orders a second in all.
func load(ctx context.Context, client *http.Client, o *orders, baseURL string, c int, opts options) loadResult {
	return loadObserved(ctx, client, o, baseURL, c, opts, nil)
}

// loadObserved is load that also tells accepted, when not nil, the id of
// each order answered 200 and when the answer arrived.
func loadObserved(ctx context.Context, client *http.Client, o *orders, baseURL string, c int, opts options, accepted func(id int64, at time.Time)) loadResult {
	var taken atomic.Int64
	start := time.Now()
	deadline := start.Add(opts.duration)
	more := func() bool {
		if ctx.Err() != nil {
			return false
		}
		k := taken.Add(1)
		if opts.requests > 0 && k > int64(opts.requests) || opts.requests == 0 && !time.Now().Before(deadline) {
			return false
		}
		if opts.arrival > 0 {
			// The k-th order is due (k-1)/arrival seconds after the start.
			due := start.Add(time.Duration(float64(k-1) / opts.arrival * float64(time.Second)))
			if opts.requests == 0 && !due.Before(deadline) {
				return false // due after the end: senders waiting for their turn do not stretch the run
			}
			t := time.NewTimer(time.Until(due))
			defer t.Stop()
			select {
			case <-ctx.Done():
				return false
			case <-t.C:
			}
		}
		return true
	}
	results := make([]loadResult, c)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = send(ctx, client, o, baseURL, more, accepted) })
	}
	wg.Wait()
	total := loadResult{start: start, elapsed: time.Since(start)}
	for _, r := range results {
		total.accepted += r.accepted
		total.rejected += r.rejected
		total.latencies = append(total.latencies, r.latencies...)
		if total.firstFail == "" {
			total.firstFail = r.firstFail
		}
	}
	slices.Sort(total.latencies)
	return total
}

// send is one sender: it posts orders one after the other while more says so.
func send(ctx context.Context, client *http.Client, o *orders, baseURL string, more func() bool, accepted func(int64, time.Time)) loadResult {
	var r loadResult
	for more() {
		req, id, err := o.next(ctx, baseURL)
		if err != nil {
			r.fail(err.Error())
			continue
		}
		t0 := time.Now()
		status, err := do(client, req)
		if err != nil {
			r.fail(err.Error())
			continue
		}
		r.latencies = append(r.latencies, time.Since(t0))
		if status != http.StatusOK {
			r.fail(fmt.Sprintf("%s answered %d", req.URL.Path, status))
			continue
		}
		r.accepted++
		if accepted != nil {
			accepted(id, time.Now())
		}
	}
	return r
}

func (r *loadResult) fail(why string) {
	r.rejected++
	if r.firstFail == "" {
		r.firstFail = why
	}
}

// do sends the request and reads the whole answer, so the connection is reused.
func do(client *http.Client, req *http.Request) (int, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, fmt.Errorf("read answer of %s: %w", req.URL.Path, err)
	}
	return resp.StatusCode, nil
}

// percentile returns the nearest-rank percentile p (0–100) of sorted
// latencies, or -1 when there are none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return -1
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// perSecond is the rate of n events over d.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
