// Package fuzztest runs a package's fuzz targets inside the normal test
// command, so that CI fuzzes every parser on every run.
package fuzztest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Run fuzzes each target of the calling test's package for
// WEBHOOK_RECEIVER_FUZZ_TIME (for example 10s; .ci/run sets it; a count
// such as 5000x runs that many inputs), each in its own `go test -fuzz`,
// as the fuzzer runs one target at a time. New failures are written to
// testdata/fuzz by the fuzzer and fail the test. Without
// WEBHOOK_RECEIVER_FUZZ_TIME the test is skipped.
//
// A target passes only if every run of the fuzzer ran all the inputs it
// was given and exited cleanly. The fuzzer is therefore given a number of
// inputs (-fuzztime=Nx), in rounds sized to fill the time, never a
// duration: with a duration, go test -fuzz (Go 1.26) can fail at the end
// with "context deadline exceeded" and no failing input, a race in its
// coordinator (golang/go#75804), which a runner that took it for a pass
// would also take for a pass when the fuzzer really stopped short.
func Run(t *testing.T, targets ...string) {
	setting := os.Getenv("WEBHOOK_RECEIVER_FUZZ_TIME")
	if setting == "" {
		t.Skip("set WEBHOOK_RECEIVER_FUZZ_TIME=10s to fuzz every target")
	}
	var budget time.Duration
	var count int64
	if n, ok := strings.CutSuffix(setting, "x"); ok {
		c, err := strconv.ParseInt(n, 10, 64)
		if err != nil || c < 1 {
			t.Fatalf("WEBHOOK_RECEIVER_FUZZ_TIME=%q: want a duration (10s) or a number of inputs (5000x)", setting)
		}
		count = c
	} else {
		d, err := time.ParseDuration(setting)
		if err != nil || d <= 0 {
			t.Fatalf("WEBHOOK_RECEIVER_FUZZ_TIME=%q: want a duration (10s) or a number of inputs (5000x)", setting)
		}
		budget = d
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			if count > 0 {
				if r := round(t, target, count, hangLimit(t, time.Minute)); r.ran < count {
					t.Fatalf("%s: %dx ends within the %d inputs of the corpus, before any fuzzing: give more", target, count, r.corpus)
				}
				return
			}
			fuzzFor(t, target, budget)
		})
	}
}

const (
	firstRound = 500             // inputs of the first round, which also builds the fuzzing binary
	lastRound  = 1 * time.Second // no round is started for less fuzzing than this
	maxGrowth  = 50              // a round runs at most this many times the inputs of the one before
)

// fuzzFor fuzzes target for about d, in rounds of a number of inputs. The
// first round builds the fuzzing binary and runs the corpus; d counts from
// its end, as -fuzztime counts from the fuzzer's start. Each later round is
// sized, from the pace of the one before, to fill the time left.
func fuzzFor(t *testing.T, target string, d time.Duration) {
	start := time.Now()
	n, total, rounds := int64(firstRound), int64(0), 0
	var deadline time.Time
	for {
		r := round(t, target, n, hangLimit(t, max(d, time.Until(deadline))))
		if deadline.IsZero() {
			deadline = time.Now().Add(d)
		}
		// A round first runs the corpus (the seeds and what earlier runs
		// found); one that ended there fuzzed nothing and is not counted.
		if r.ran >= n {
			total += r.ran
			rounds++
		}
		// The round's fuzzing ran at rate; the rest of its time is the
		// cost of a round, which the next one will pay too.
		rate := r.rate
		if naive := float64(r.ran) / max(r.took.Seconds(), 0.001); rate <= 0 || rate > 4*naive {
			rate = naive
		}
		overhead := r.took - time.Duration(float64(r.ran-r.corpus)/rate*float64(time.Second))
		fuzzing := time.Until(deadline) - max(overhead, 0)
		if fuzzing < lastRound && rounds > 0 {
			break
		}
		next := r.corpus + int64(rate*fuzzing.Seconds())
		n = max(min(next, n*maxGrowth), firstRound, 2*r.corpus+firstRound)
	}
	t.Logf("%s: %d inputs in %d round(s), %s", target, total, rounds, time.Since(start).Round(time.Millisecond))
}

// hangLimit is how long a round of about d may take before it is taken to
// hang: generous, as the machine may be busy (the first round of a large
// package spends minutes building its fuzzing binary when other builds
// share the cores), and within the deadline of the test itself so that the
// round, not the test binary, is reported.
func hangLimit(t *testing.T, d time.Duration) time.Duration {
	limit := 3*d + 6*time.Minute
	if deadline, ok := t.Deadline(); ok {
		limit = min(limit, time.Until(deadline)-30*time.Second)
	}
	return max(limit, 10*time.Second)
}

var (
	execsLine  = regexp.MustCompile(`execs: (\d+) \((\d+)/sec\)`)
	corpusLine = regexp.MustCompile(`(?:gathering baseline coverage|testing seed corpus): \d+/(\d+) completed`)
)

// result is what a round of fuzzing did.
type result struct {
	ran    int64         // inputs run, the corpus's included
	corpus int64         // inputs of the corpus, run first
	rate   float64       // inputs per second in the fuzzer's last report
	took   time.Duration // the whole round, starting go test included
}

// round runs go test -fuzz on target for n inputs and says what it did. Anything but a clean exit
// after all n inputs fails the test: a failing input (which the fuzzer
// writes to testdata/fuzz), an error of the fuzzer, or a round that did not
// end within limit; except that a round may end within its corpus, with
// no input run, when n is smaller than the corpus.
func round(t *testing.T, target string, n int64, limit time.Duration) result {
	t.Helper()
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), limit+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-fuzz=^"+target+"$",
		fmt.Sprintf("-fuzztime=%dx", n),
		"-fuzzminimizetime=10s",    // bounds the minimizing of a failing input
		"-timeout="+limit.String(), // the test binary ends itself, with its stacks, if a round hangs
		".")
	cmd.Env = append(os.Environ(), "WEBHOOK_RECEIVER_FUZZ_TIME=")
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("%s: go test -fuzz did not end within %s: %v\n%s", target, limit, err, out)
		}
		t.Fatalf("%s (-fuzztime=%dx): %v\n%s", target, n, err, out)
	}
	r := result{took: time.Since(began)}
	for _, m := range corpusLine.FindAllSubmatch(out, -1) {
		r.corpus, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	for _, m := range execsLine.FindAllSubmatch(out, -1) {
		r.ran, _ = strconv.ParseInt(string(m[1]), 10, 64)
		r.rate, _ = strconv.ParseFloat(string(m[2]), 64)
	}
	if r.ran < n && r.corpus < n {
		t.Fatalf("%s: the fuzzer exited cleanly after %d of its %d inputs: not a pass\n%s", target, r.ran, n, out)
	}
	t.Logf("%s: round of %d inputs: ran %d (corpus %d, %.0f/s) in %s", target, n, r.ran, r.corpus, r.rate, r.took.Round(time.Millisecond))
	return r
}
