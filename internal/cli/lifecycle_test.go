package cli_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// lifeEnv is a migrated database of the backend holding the lifecycle
// fixture (storetest.LifecycleOrders).
func lifeEnv(t *testing.T, d store.Dialect) (env, storetest.Life) {
	t.Helper()
	e := env{"WEBHOOK_RECEIVER_DATABASE_URL": storetest.URL(t, d), "USER": "tester"}
	mustRun(t, e, "migrate")
	db, err := store.Open(context.Background(), e["WEBHOOK_RECEIVER_DATABASE_URL"], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return e, storetest.LifecycleOrders(t, db)
}

// TestOrdersShowLifecycle: orders show tells the shop's status, the
// snapshot applied, what changed nothing, refunds, redaction, and for each
// item its desired state beside its status, its mode, refund and seats.
func TestOrdersShowLifecycle(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		e, life := lifeEnv(t, d)
		out := mustRun(t, e, "orders", "show", "9001")
		for _, want := range []string{
			"  status   PROCESSING\n",
			"  shop     partially_refunded\n",
			"  snapshot 2026-11-23T10:00:00Z",
			"  ignored  2 stale snapshots, 1 duplicate delivery: changed nothing\n",
			"ITEM  LINE  SKU   LEARNER          COURSE  MODE      WANT        STATUS                 REFUNDED",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("orders show 9001 lacks %q:\n%s", want, out)
			}
		}
		for _, re := range []string{
			`\n  \d+\s+11\s+TEAM\s+ada@example.com\s+-\s+verified\s+enrolled\s+enrolled\s+-\s+0\s`,
			`\n  \d+\s+11\s+TEAM\s+bob@example.com\s+-\s+verified\s+unenrolled\s+retrying\s+yes\s+0\s`,
			`\n  \d+\s+12\s+SOLO\s+cy@example.com\s+-\s+verified\s+enrolled\s+awaiting_registration\s+-\s`,
			`\nLines\n  LINE\s+SKU\s+SEATS\s+UNASSIGNED\s+REFUNDED\n  11\s+TEAM\s+2 of 5 seats assigned\s+3\s+1\n  12\s+SOLO\s+1 seat\s+0\s+0\n`,
			`\nRefunds\n  REFUND\s+LINE\s+QUANTITY\s+TIME\n  7001\s+11\s+4\s+2026-11-23 11:30:00\n`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("orders show 9001 does not match %s:\n%s", re, out)
			}
		}
		if strings.Contains(out, "redacted") {
			t.Errorf("orders show 9001 says it was redacted:\n%s", out)
		}
		for id, wants := range map[string][]string{
			"9002": {"  shop     processing, " + enroll.PartialRefundNote + "\n", "  redacted 2026-11-24T08:00:00Z",
				"  ignored  0 stale snapshots, 0 duplicate deliveries"},
			"9003": {"  shop     refunded\n"},
			"9004": {"  shop     voided, cancelled\n"},
		} {
			out := mustRun(t, e, "orders", "show", id)
			for _, want := range wants {
				if !strings.Contains(out, want) {
					t.Errorf("orders show %s lacks %q:\n%s", id, want, out)
				}
			}
		}

		// --json: the same facts under stable names, ids as strings.
		var got map[string]any
		if err := json.Unmarshal([]byte(mustRun(t, e, "orders", "show", "9001", "--json")), &got); err != nil {
			t.Fatal(err)
		}
		facts := map[string]any{}
		for _, k := range []string{"shop_status", "cancelled", "refunded", "partial_refund", "snapshot_at", "redacted_at",
			"stale_snapshots", "duplicates", "refunds"} {
			facts[k] = got[k]
		}
		want := map[string]any{"shop_status": "partially_refunded", "cancelled": false, "refunded": false, "partial_refund": false,
			"snapshot_at": "2026-11-23T10:00:00Z", "redacted_at": nil, "stale_snapshots": 2.0, "duplicates": 1.0,
			"refunds": []any{map[string]any{"refund_id": "7001", "line_item_id": "11", "quantity": 4.0, "at": "2026-11-23T11:30:00Z"}}}
		if diff := cmp.Diff(want, facts); diff != "" {
			t.Errorf("orders show 9001 --json (-want +got):\n%s", diff)
		}
		items := map[string]map[string]any{}
		for _, it := range got["items"].([]any) {
			it := it.(map[string]any)
			items[it["email"].(string)] = map[string]any{"id": it["id"], "want": it["want"], "status": it["status"], "mode": it["mode"],
				"refunded": it["refunded"], "line_quantity": it["line_quantity"], "seats": it["seats"]}
		}
		seats := map[string]any{"quantity": 5.0, "assigned": 2.0, "unassigned": 3.0, "refunded": 1.0}
		wantItems := map[string]map[string]any{
			"ada@example.com": {"id": strconv.FormatInt(life.Items["ada@example.com"], 10), "want": "enrolled", "status": "enrolled",
				"mode": "verified", "refunded": false, "line_quantity": 5.0, "seats": seats},
			"bob@example.com": {"id": strconv.FormatInt(life.Items["bob@example.com"], 10), "want": "unenrolled", "status": "retrying",
				"mode": "verified", "refunded": true, "line_quantity": 5.0, "seats": seats},
			"cy@example.com": {"id": strconv.FormatInt(life.Items["cy@example.com"], 10), "want": "enrolled", "status": "awaiting_registration",
				"mode": "verified", "refunded": false, "line_quantity": 1.0,
				"seats": map[string]any{"quantity": 1.0, "assigned": 1.0, "unassigned": 0.0, "refunded": 0.0}},
		}
		if diff := cmp.Diff(wantItems, items); diff != "" {
			t.Errorf("orders show 9001 --json items (-want +got):\n%s", diff)
		}
		if err := json.Unmarshal([]byte(mustRun(t, e, "orders", "show", "9002", "--json")), &got); err != nil {
			t.Fatal(err)
		}
		if got["partial_refund"] != true || got["redacted_at"] != "2026-11-24T08:00:00Z" || got["stale_snapshots"] != 0.0 ||
			!cmp.Equal(got["refunds"], []any{}) || got["items"].([]any)[0].(map[string]any)["mode"] != "" {
			t.Errorf("orders show 9002 --json: %v", got)
		}

		// Lists filter by the new statuses and carry the order's facts, not
		// the detail's counts.
		list := orderLines(t, mustRun(t, e, "orders", "list", "--json", "--status", "unenrolled"))
		if ids := orderIDs(list); !equalIDs(ids, []int64{9004, 9003}) {
			t.Fatalf("orders list --status unenrolled = %v; want 9004, 9003", ids)
		}
		if o := list[0]; o["cancelled"] != true || o["shop_status"] != "voided" || o["snapshot_at"] != "2026-11-23T10:00:00Z" {
			t.Errorf("orders list --json, order 9004: %v", o)
		}
		if _, ok := list[0]["stale_snapshots"]; ok {
			t.Errorf("orders list --json counts stale snapshots: %v", list[0])
		}
		if ids := orderIDs(orderLines(t, mustRun(t, e, "orders", "list", "--json", "--status", "awaiting_registration"))); !equalIDs(ids, []int64{9001}) {
			t.Errorf("orders list --status awaiting_registration = %v; want 9001", ids)
		}
		out = mustRun(t, e, "orders", "list", "--status", "awaiting_registration")
		for _, re := range []string{`bob@example.com\s+TEAM\s+retrying → unenrolled\s`, `cy@example.com\s+SOLO\s+awaiting_registration\s`} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("orders list --status awaiting_registration does not match %s:\n%s", re, out)
			}
		}
	})
}

// TestOrdersHelpDescribesStatuses: every item status is offered by
// --status and described, as enroll lists and describes them.
func TestOrdersHelpDescribesStatuses(t *testing.T) {
	out := mustRun(t, env{}, "orders", "-h")
	_, listHelp, _ := runCmd(t, env{}, "", "orders", "list", "-h")
	for _, s := range enroll.ItemStatuses() {
		line := regexp.MustCompile(`\n  ` + string(s) + ` +` + regexp.QuoteMeta(s.Describe()) + `\n`)
		if !line.MatchString(out) {
			t.Errorf("orders -h does not describe %s:\n%s", s, out)
		}
		if !line.MatchString(listHelp) {
			t.Errorf("orders list -h does not describe %s:\n%s", s, listHelp)
		}
	}
	if want := "item status (" + enroll.Or(enroll.ItemStatuses()) + ")"; !strings.Contains(listHelp, want) {
		t.Errorf("orders list -h lacks %q:\n%s", want, listHelp)
	}
}
