package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/cli"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// TestScriptRunsTutorInitTask runs the init task as Tutor starts it in the
// job's container ("sh -e -c TASK" after the entrypoint "webhook-receiver
// script"): migrate then check pass; a failing line stops the script there.
func TestScriptRunsTutorInitTask(t *testing.T) {
	lms := edxtest.New(t)
	e := baseEnv(t, lms, store.SQLite)
	var stdout, stderr bytes.Buffer
	task := "# comment\nwebhook-receiver migrate\nwebhook-receiver check\n"
	if err := cli.Run(context.Background(), []string{"webhook-receiver", "script", "sh", "-e", "-c", task}, e.getenv, &stdout, &stderr); err != nil {
		t.Fatalf("script: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, want := range []string{"ok   database", "schema current", "ok   bulk enroll"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("check's output lacks %q:\n%s", want, stdout.String())
		}
	}
	if want := "script: line 2: webhook-receiver migrate\n"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}

	stdout.Reset()
	stderr.Reset()
	err := cli.Run(context.Background(), []string{"webhook-receiver", "script", "webhook-receiver migrate\nwebhook-receiver orders bogus\nwebhook-receiver check"},
		e.getenv, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "script line 2 (webhook-receiver orders)") {
		t.Fatalf("error %v, want one naming line 2", err)
	}
	if strings.Contains(stdout.String(), "ok   config") {
		t.Errorf("check ran after a failed line:\n%s", stdout.String())
	}

	err = cli.Run(context.Background(), []string{"webhook-receiver", "script", "sh", "-e", "-c", "webhook-receiver migrate && rm -rf /"}, e.getenv, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "needs a shell") {
		t.Fatalf("error %v, want one saying it needs a shell", err)
	}
}
