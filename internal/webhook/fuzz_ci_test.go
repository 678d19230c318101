package webhook

import (
	"os"
	"os/exec"
	"testing"
)

// TestFuzzTargets runs every fuzz target for WEBHOOK_RECEIVER_FUZZ_TIME
// (for example 10s; .ci/run sets it), each in its own `go test -fuzz`, as
// the fuzzer runs one target at a time. New failures are written to
// testdata/fuzz by the fuzzer and fail this test.
func TestFuzzTargets(t *testing.T) {
	fuzzTime := os.Getenv("WEBHOOK_RECEIVER_FUZZ_TIME")
	if fuzzTime == "" {
		t.Skip("set WEBHOOK_RECEIVER_FUZZ_TIME=10s to fuzz every target")
	}
	for _, target := range []string{"FuzzVerify", "FuzzParseShopifyOrder", "FuzzParseWooCommerceOrder"} {
		t.Run(target, func(t *testing.T) {
			cmd := exec.Command("go", "test", "-run=^$", "-fuzz=^"+target+"$", "-fuzztime="+fuzzTime, ".")
			cmd.Env = append(os.Environ(), "WEBHOOK_RECEIVER_FUZZ_TIME=")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", target, err, out)
			}
		})
	}
}
