package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// drainOrders is the backlog BenchmarkDrain works: orders of two learners
// each, one per course, so 2×drainOrders items, each with its job, as
// webhooks arriving one at a time during a long LMS outage leave them.
const drainOrders = 10000

// BenchmarkDrain measures how fast the workers drain a backlog of 20,000
// pending items (one job each) into the fake LMS, on each backend:
// healthy, it drains them all; throttled at about one call per second
// (429 with Retry-After: 5 beyond), it runs for drainThrottledFor. It
// reports learners enrolled per second, bulk-enroll calls (429s included)
// and the jobs completed by a queue turn: a turn beyond one per call found
// its items done by other jobs.
//
//	go test ./internal/jobs -run '^$' -bench Drain -benchtime 1x
func BenchmarkDrain(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		for _, throttled := range []bool{false, true} {
			name := fmt.Sprintf("%s/healthy", d)
			if throttled {
				name = fmt.Sprintf("%s/throttled", d)
			}
			b.Run(name, func(b *testing.B) {
				for range b.N {
					b.StopTimer()
					benchDrain(b, d, throttled)
				}
			})
		}
	}
}

// drainThrottledFor is how long the throttled drain runs.
const drainThrottledFor = time.Minute

func benchDrain(b *testing.B, d store.Dialect, throttled bool) {
	ctx := context.Background()
	db := storetest.Open(b, d)
	if err := jobs.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	lms := edxtest.New(b)
	inserter, err := jobs.New(db, nil, jobs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	// One order per transaction, as webhooks arriving one by one are
	// stored: a job per item.
	w := db.NewWriter(inserter.Enqueue, 4, 1)
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Go(func() {
			for i := g; i < drainOrders; i += 32 {
				_, err := w.SaveAccepted(ctx, store.Accepted{
					Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: source, Path: "/test", Status: 200},
					Order: enroll.Order{Platform: enroll.Shopify, Source: source, ID: int64(i + 1), Paid: true, Items: []enroll.Item{
						item("course-v1:Org+A+1", fmt.Sprintf("a%d@example.com", i)),
						item("course-v1:Org+B+1", fmt.Sprintf("b%d@example.com", i))}},
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	w.Close()
	if b.Failed() {
		return
	}
	if throttled {
		lms.SetThrottleRate(1, time.Second, 5*time.Second)
	}
	client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret, Timeout: 10 * time.Second})
	q, err := jobs.New(db, client, jobs.Options{Workers: 8, BatchSize: 50, PollInterval: 50 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	const items = 2 * drainOrders
	b.StartTimer()
	start := time.Now()
	if err := q.Start(ctx); err != nil {
		b.Fatal(err)
	}
	deadline := start.Add(10 * time.Minute)
	if throttled {
		deadline = start.Add(drainThrottledFor)
	}
	// Drained when every learner is enrolled and no job is left to run: an
	// item arriving now would wait for none.
	for (lms.Enrollments() < items || queuedJobs(b, db) > 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	enrolled := lms.Enrollments()
	left := queuedJobs(b, db)
	b.StopTimer()
	if err := q.Stop(ctx); err != nil {
		b.Fatal(err)
	}
	calls := len(lms.Calls())
	b.ReportMetric(float64(enrolled)/elapsed.Seconds(), "learners/s")
	b.ReportMetric(float64(calls), "calls")
	b.ReportMetric(float64(countJobs(b, db, rivertype.JobStateCompleted)), "job-turns")
	b.ReportMetric(float64(left), "jobs-left")
	if !throttled && (enrolled != items || left > 0) {
		b.Errorf("%d of %d learners enrolled in %s, %d jobs left", enrolled, items, elapsed, left)
	}
}

// queuedJobs counts the enrollment jobs not finished yet.
func queuedJobs(b testing.TB, db *store.DB) int {
	n := 0
	for _, s := range []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRunning,
		rivertype.JobStateRetryable, rivertype.JobStateScheduled} {
		n += countJobs(b, db, s)
	}
	return n
}

// countJobs counts the enrollment jobs in a state.
func countJobs(b testing.TB, db *store.DB, state rivertype.JobState) int {
	var n int
	err := db.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM river_job WHERE kind = $1 AND state = $2`,
		jobs.Args{}.Kind(), string(state)).Scan(&n)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
