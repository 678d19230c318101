// Package fuzztest runs a package's fuzz targets inside the normal test
// command, so that CI fuzzes every parser on every run.
package fuzztest

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// Run fuzzes each target of the calling test's package for
// WEBHOOK_RECEIVER_FUZZ_TIME (for example 10s; .ci/run sets it), each in
// its own `go test -fuzz`, as the fuzzer runs one target at a time. New
// failures are written to testdata/fuzz by the fuzzer and fail the test.
// Without WEBHOOK_RECEIVER_FUZZ_TIME the test is skipped.
func Run(t *testing.T, targets ...string) {
	fuzzTime := os.Getenv("WEBHOOK_RECEIVER_FUZZ_TIME")
	if fuzzTime == "" {
		t.Skip("set WEBHOOK_RECEIVER_FUZZ_TIME=10s to fuzz every target")
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			cmd := exec.Command("go", "test", "-run=^$", "-fuzz=^"+target+"$", "-fuzztime="+fuzzTime, ".")
			cmd.Env = append(os.Environ(), "WEBHOOK_RECEIVER_FUZZ_TIME=")
			out, err := cmd.CombinedOutput()
			switch {
			case err == nil:
			case bytes.Contains(out, []byte("context deadline exceeded")) && !bytes.Contains(out, []byte("Failing input written")):
				// The fuzzer's own time limit ended while it was minimizing a new
				// input: a known flake of go test -fuzz, not a failure of ours.
				t.Logf("%s stopped while minimizing an input; no failing input found", target)
			default:
				t.Fatalf("%s: %v\n%s", target, err, out)
			}
		})
	}
}
