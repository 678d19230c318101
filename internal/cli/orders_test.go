package cli_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/cli"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// runCmd runs a command with the given standard input and returns its output.
func runCmd(t *testing.T, e env, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut syncBuffer
	err = cli.RunWithInput(context.Background(), append([]string{"webhook-receiver"}, args...), e.getenv,
		strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// mustRun runs a command that must succeed and returns its standard output.
func mustRun(t *testing.T, e env, args ...string) string {
	t.Helper()
	out, errOut, err := runCmd(t, e, "", args...)
	if err != nil {
		t.Fatalf("%v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, errOut)
	}
	return out
}

// orderLines decodes `orders list --json` output.
func orderLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var os []map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var o map[string]any
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("orders list --json: %v\n%s", err, out)
		}
		os = append(os, o)
	}
	return os
}

func orderIDs(os []map[string]any) []int64 {
	var ids []int64
	for _, o := range os {
		id, _ := strconv.ParseInt(o["order_id"].(string), 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// waitFor polls until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOrdersCommands(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		e := baseEnv(t, lms, d)
		e["USER"] = "tester"
		s := serve(t, e)
		// 501: a SKU the LMS does not know yet, so the item fails at once;
		// 502: a course id, enrolled.
		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret", shopifyOrder(501, "MISSING-SKU", "stuck@example.com")); got != 200 {
			t.Fatalf("order 501: %d", got)
		}
		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret", shopifyOrder(502, "course-v1:Org+Ok+1", "Learner@Example.com")); got != 200 {
			t.Fatalf("order 502: %d", got)
		}
		waitEnrolled(t, lms, "course-v1:Org+Ok+1", "Learner@Example.com")
		// The LMS answers before the worker records the enrollment.
		waitFor(t, "order 502 to be processed", func() bool {
			return len(orderLines(t, mustRun(t, e, "orders", "list", "--status", "PROCESSED", "--json"))) == 1
		})
		waitFor(t, "order 501 to fail", func() bool {
			return len(orderLines(t, mustRun(t, e, "orders", "list", "--status", "failed", "--json"))) == 1
		})

		for _, tt := range []struct {
			args []string
			want []int64
		}{
			{[]string{"--status", "failed"}, []int64{501}},
			{[]string{"--status", "PROCESSED"}, []int64{502}},
			{[]string{"--email", "LEARNER@example.com"}, []int64{502}},
			{[]string{"--query", "stuck@EXAMPLE.com"}, []int64{501}},
			{[]string{"--course", "MISSING-SKU"}, []int64{501}},
			{[]string{"--since", "1h", "--platform", "shopify"}, []int64{502, 501}},
			{[]string{"--since", "2020-01-01", "--until", "2021-01-01"}, nil},
			{[]string{"--platform", "woocommerce"}, nil},
		} {
			got := orderIDs(orderLines(t, mustRun(t, e, append([]string{"orders", "list", "--json"}, tt.args...)...)))
			if !equalIDs(got, tt.want) {
				t.Errorf("orders list %v = %v; want %v", tt.args, got, tt.want)
			}
		}
		out, errOut, err := runCmd(t, e, "", "orders", "list", "--limit", "1")
		if err != nil || !strings.Contains(out, "ORDER") || !strings.Contains(out, "502") || strings.Contains(out, "501") ||
			!strings.Contains(errOut, "more orders: add --before") {
			t.Errorf("orders list --limit 1: %v\n%s\n%s", err, out, errOut)
		}
		out = mustRun(t, e, "orders", "list")
		if !strings.Contains(out, "stuck@example.com") || !strings.Contains(out, "failed") || !strings.Contains(out, "first.myshopify.com") {
			t.Errorf("orders list table:\n%s", out)
		}

		// The order page: items, attempts, the delivery with masked signature and pretty body.
		out = mustRun(t, e, "orders", "show", "501")
		for _, want := range []string{"Order 501 of first.myshopify.com", "status   ERROR", "stuck@example.com", "Attempts", "failed",
			"X-Shopify-Hmac-Sha256: [masked]", `"line_items": [`, "HTTP 200"} {
			if !strings.Contains(out, want) {
				t.Errorf("orders show 501 lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "shopify-webhook-secret") {
			t.Errorf("orders show prints a secret:\n%s", out)
		}
		var detail struct {
			Status string `json:"status"`
			Items  []struct {
				ID          int64  `json:"id,string"`
				Status      string `json:"status"`
				LastError   string `json:"last_error"`
				AttemptList []struct {
					Outcome string `json:"outcome"`
				} `json:"attempt_list"`
			} `json:"items"`
			Deliveries []struct {
				Body map[string]any `json:"body"`
			} `json:"deliveries"`
		}
		if err := json.Unmarshal([]byte(mustRun(t, e, "orders", "show", "--json", "501")), &detail); err != nil {
			t.Fatal(err)
		}
		if detail.Status != "ERROR" || len(detail.Items) != 1 || detail.Items[0].Status != "failed" || detail.Items[0].LastError == "" ||
			len(detail.Items[0].AttemptList) != 1 || len(detail.Deliveries) != 1 || detail.Deliveries[0].Body["id"] != float64(501) {
			t.Errorf("orders show --json: %+v", detail)
		}

		// Fix the SKU in the LMS, retry the order: it gets enrolled.
		lms.AddSKU("MISSING-SKU", "course-v1:Org+Fixed+1")
		if out := mustRun(t, e, "orders", "retry", "501"); !strings.Contains(out, "retried 1 item(s)") {
			t.Errorf("orders retry 501: %s", out)
		}
		waitEnrolled(t, lms, "course-v1:Org+Fixed+1", "stuck@example.com")
		waitFor(t, "order 501 to be processed", func() bool {
			return strings.Contains(mustRun(t, e, "orders", "show", "501"), "status   PROCESSED")
		})
		out = mustRun(t, e, "orders", "show", "501")
		if !strings.Contains(out, "Actions") || !strings.Contains(out, "cli:tester") || !strings.Contains(out, "retry") {
			t.Errorf("orders show after the retry lacks the action:\n%s", out)
		}
		if out := mustRun(t, e, "orders", "retry", "501"); !strings.Contains(out, "no failed items") {
			t.Errorf("second retry: %s", out)
		}
		if out := mustRun(t, e, "orders", "retry", "--all-failed", "--course", "MISSING-SKU"); !strings.Contains(out, "nothing to retry") {
			t.Errorf("retry --all-failed with nothing failed: %s", out)
		}

		// Two failures for one course, retried with --all-failed; a third resolved by hand.
		for i, email := range []string{"x1@example.com", "x2@example.com", "x3@example.com"} {
			if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret", shopifyOrder(int64(600+i), "LATER-SKU", email)); got != 200 {
				t.Fatalf("order %d: %d", 600+i, got)
			}
		}
		waitFor(t, "orders 600-602 to fail", func() bool {
			return len(orderLines(t, mustRun(t, e, "orders", "list", "--status", "failed", "--course", "LATER-SKU", "--json"))) == 3
		})
		var third struct {
			Items []struct {
				ID int64 `json:"id,string"`
			} `json:"items"`
		}
		json.Unmarshal([]byte(mustRun(t, e, "orders", "show", "--json", "602")), &third)
		if _, _, err := runCmd(t, e, "", "orders", "resolve", "1"); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("resolve without --note: %v; want a usage error", err)
		}
		if out := mustRun(t, e, "orders", "resolve", strconv.FormatInt(third.Items[0].ID, 10), "--note", "refunded"); !strings.Contains(out, "resolved") {
			t.Errorf("orders resolve: %s", out)
		}
		lms.AddSKU("LATER-SKU", "course-v1:Org+Later+1")
		if out := mustRun(t, e, "orders", "retry", "--all-failed", "--course", "LATER-SKU", "--since", "1h"); !strings.Contains(out, "retried 2 item(s)") {
			t.Errorf("orders retry --all-failed: %s", out)
		}
		waitEnrolled(t, lms, "course-v1:Org+Later+1", "x1@example.com")
		waitEnrolled(t, lms, "course-v1:Org+Later+1", "x2@example.com")
		if lms.Enrolled("course-v1:Org+Later+1", "x3@example.com") {
			t.Error("the resolved item was enrolled")
		}

		// The same order number from the WooCommerce site: show asks which.
		woo := `{"id": 501, "date_paid_gmt": "2026-11-25T10:00:00", "billing": {"email": "w@example.com"},
			"line_items": [{"id": 1, "sku": "course-v1:Org+Woo+1"}]}`
		if got := s.postWoo(t, "https://shop.example.com/", "woo,commerce secret", woo); got != 200 {
			t.Fatalf("woo order 501: %d", got)
		}
		if _, _, err := runCmd(t, e, "", "orders", "show", "501"); err == nil || !strings.Contains(err.Error(), "--source") {
			t.Errorf("orders show of an id in two shops: %v; want a request for --source", err)
		}
		if out := mustRun(t, e, "orders", "show", "501", "--source", "https://shop.example.com/"); !strings.Contains(out, "Order 501 of https://shop.example.com") {
			t.Errorf("orders show --source:\n%s", out)
		}

		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"orders", "show", "999"}, "not found"},
			{[]string{"orders", "list", "--status", "stuck"}, "unknown status"},
			{[]string{"orders", "list", "--platform", "magento"}, ""},
			{[]string{"orders", "list", "--since", "yesterday"}, ""},
			{[]string{"orders", "retry"}, ""},
			{[]string{"orders", "retry", "501", "--all-failed"}, ""},
			{[]string{"orders", "frobnicate"}, "unknown subcommand"},
			{[]string{"orders", "resolve", "999999", "--note", "x"}, "not found"},
		} {
			_, _, err := runCmd(t, e, "", tt.args...)
			if err == nil || (tt.want == "" && !errors.Is(err, cli.ErrUsage)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v = %v; want an error with %q", tt.args, err, tt.want)
			}
		}
		for _, args := range [][]string{{"orders", "-h"}, {"orders", "list", "-h"}, {"help", "orders"}} {
			if _, _, err := runCmd(t, e, "", args...); err != nil {
				t.Errorf("%v = %v", args, err)
			}
		}
	})
}

func TestOpsCommandsWantACurrentSchema(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		url := storetest.URL(t, d)
		if path, err := store.SQLitePath(url); err == nil {
			if err := os.WriteFile(path, nil, 0o600); err != nil { // an empty SQLite database
				t.Fatal(err)
			}
		}
		e := env{"WEBHOOK_RECEIVER_DATABASE_URL": url}
		for _, args := range [][]string{{"orders", "list"}, {"deliveries", "list"}} {
			if _, _, err := runCmd(t, e, "", args...); err == nil || !strings.Contains(err.Error(), "webhook-receiver migrate") {
				t.Errorf("%v on an empty database = %v; want advice to migrate", args, err)
			}
		}
		mustRun(t, e, "migrate")
		if out := mustRun(t, e, "orders", "list"); !strings.HasPrefix(out, "ORDER") {
			t.Errorf("orders list on an empty, migrated database:\n%s", out)
		}
	})
}

func equalIDs(a, b []int64) bool { return slices.Equal(a, b) }
