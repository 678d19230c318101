// Package helm_test runs the Helm chart's tests from the service's own test
// command. They are a Go module of their own (deploy/helm/test), so that
// Helm and the Kubernetes API types stay out of the service's dependencies;
// this test runs that module's vet and tests as a child `go` command.
package helm_test

import (
	"os/exec"
	"testing"
)

func TestChart(t *testing.T) {
	if testing.Short() {
		t.Skip("the chart's tests build helm: skipped with -short")
	}
	for _, args := range [][]string{{"vet", "."}, {"test", "-count=1", "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = "test"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %v in deploy/helm/test: %v\n%s", args, err, out)
		}
		t.Logf("go %v in deploy/helm/test:\n%s", args, out)
	}
}
