package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

// How a long wait for enrollments checks on its progress.
const (
	stateEvery    = 2 * time.Second  // the database is read this often for items that can no longer arrive
	progressEvery = 10 * time.Second // a progress line this often
)

// waitAll polls the fake LMS until it has recorded want enrollments, the
// database has no item left waiting (some failed, so the rest will never
// come), or timeout passes. It returns the wait with took measured from
// start.
func waitAll(ctx context.Context, lms *edxtest.LMS, databaseURL string, want int, start time.Time, timeout time.Duration, progress io.Writer) (enrollResult, error) {
	r := enrollResult{observed: true, want: want}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	poll := time.NewTicker(enrollPoll)
	defer poll.Stop()
	lastState, lastProgress := time.Now(), time.Now()
wait:
	for {
		if lms.Enrollments() >= want {
			break
		}
		select {
		case <-ctx.Done():
			if context.Cause(ctx) != context.DeadlineExceeded {
				return r, ctx.Err()
			}
			r.timedOut = true
			break wait
		case <-poll.C:
		}
		if time.Since(lastState) >= stateEvery {
			lastState = time.Now()
			st, err := readState(ctx, databaseURL)
			switch {
			case err != nil && ctx.Err() != nil:
				// The wait ran out while reading: the next select tells how.
			case err != nil:
				return r, err
			case st.waiting() == 0 && lms.Enrollments() < want:
				break wait // every item has its final status; the missing ones failed
			}
		}
		if time.Since(lastProgress) >= progressEvery {
			lastProgress = time.Now()
			fmt.Fprintf(progress, "  %s: %d of %d enrollments\n", time.Since(start).Round(time.Second), lms.Enrollments(), want)
		}
	}
	r.took = time.Since(start)
	r.arrived = lms.Enrollments()
	r.missing = max(want-r.arrived, 0)
	return r, nil
}

// callStats sums up the bulk-enroll calls the fake LMS received.
type callStats struct {
	calls, ok, throttled, other int
	identifiers                 int       // enrollments asked for in calls answered 200
	first, firstThrottled, last time.Time // first call, first 429, last call answered 200
}

func countCalls(calls []edxtest.Call) callStats {
	var s callStats
	for _, c := range calls {
		s.calls++
		if s.first.IsZero() {
			s.first = c.Time
		}
		switch c.Status {
		case http.StatusOK:
			s.ok++
			s.identifiers += len(c.Identifiers) * len(c.Courses)
			s.last = c.Time
		case http.StatusTooManyRequests:
			s.throttled++
			if s.firstThrottled.IsZero() {
				s.firstThrottled = c.Time
			}
		default:
			s.other++
		}
	}
	return s
}

// reachedAt tells when calls answered 200 had asked for 50, 90 and 99 %
// of want enrollments, counted from start; 0 for a share never reached. A
// long tail shows as a gap between the last two.
func reachedAt(calls []edxtest.Call, start time.Time, want int) [3]time.Duration {
	shares := [3]int{50, 90, 99}
	var reached [3]time.Duration
	n := 0
	for _, c := range calls {
		if c.Status != http.StatusOK {
			continue
		}
		n += len(c.Identifiers) * len(c.Courses)
		for i, share := range shares {
			if reached[i] == 0 && n*100 >= want*share {
				reached[i] = c.Time.Sub(start)
			}
		}
	}
	return reached
}

// perCall is how many enrollments a successful call carried on average.
func (s callStats) perCall() string {
	if s.ok == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(s.identifiers)/float64(s.ok))
}

// enrolledTwice counts enrollments the LMS was asked for again after it had
// made them: with every learner known to the fake LMS, each call answered
// 200 enrolls each of its identifiers, so any surplus over the distinct
// enrollments is a repeat.
func (s callStats) enrolledTwice(distinct int) int { return max(s.identifiers-distinct, 0) }
