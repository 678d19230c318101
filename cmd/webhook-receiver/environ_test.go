package main_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryReadsTheWholeEnvironment runs the binary's check with a
// misspelled variable: main passes the process's environment, so check
// names the variable and the one it meant.
func TestBinaryReadsTheWholeEnvironment(t *testing.T) {
	bin := build(t)
	cmd := exec.Command(bin, "check")
	cmd.Env = []string{
		"WEBHOOK_RECEIVER_DATABASE_URL=sqlite:" + filepath.Join(t.TempDir(), "x.db"),
		"DJANGO_WEBHOOK_RECEIVER_LMS_BASE_UR=https://lms.example.com",
	}
	out, _ := cmd.Output() // fails: no LMS
	want := "warn config       environment variables that are not settings, ignored: " +
		"DJANGO_WEBHOOK_RECEIVER_LMS_BASE_UR (did you mean DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL?)\n"
	if !strings.Contains(string(out), want) {
		t.Errorf("check's output lacks %q:\n%s", want, out)
	}
}
