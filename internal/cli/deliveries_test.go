package cli_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

type deliveryLine struct {
	ID         int64  `json:"id,string"`
	Status     int    `json:"status"`
	Reason     string `json:"reason"`
	SourceIP   string `json:"source_ip"`
	Source     string `json:"source"`
	BodyStored bool   `json:"body_stored"`
	Folded     int64  `json:"folded"`
}

func deliveryLines(t *testing.T, out string) []deliveryLine {
	t.Helper()
	var ds []deliveryLine
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var d deliveryLine
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("deliveries list --json: %v\n%s", err, out)
		}
		ds = append(ds, d)
	}
	return ds
}

func TestDeliveriesCommands(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		e := baseEnv(t, lms, d)
		e["USER"] = "tester"
		s := serve(t, e)
		if got := s.postShopify(t, "first.myshopify.com", "wrong-secret", shopifyOrder(700, "course-v1:Org+D+1", "d@example.com")); got != 403 {
			t.Fatalf("badly signed order: %d", got)
		}
		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret", shopifyOrder(701, "NO-SUCH-SKU", "d@example.com")); got != 200 {
			t.Fatalf("order 701: %d", got)
		}
		all := deliveryLines(t, mustRun(t, e, "deliveries", "list", "--json"))
		rejected := deliveryLines(t, mustRun(t, e, "deliveries", "list", "--rejected", "--json"))
		if len(all) != 2 || len(rejected) != 1 || rejected[0].Status != 403 || rejected[0].Reason != "invalid signature" ||
			rejected[0].SourceIP != "127.0.0.1" || rejected[0].BodyStored || !all[0].BodyStored {
			t.Fatalf("deliveries: all %+v, rejected %+v", all, rejected)
		}
		out := mustRun(t, e, "deliveries", "list", "--rejected")
		if !strings.Contains(out, "invalid signature") || !strings.Contains(out, "/webhooks/shopify/order/create") || strings.Contains(out, "\n"+strconv.FormatInt(all[0].ID, 10)+" ") {
			t.Errorf("deliveries list --rejected:\n%s", out)
		}
		if out, errOut, err := runCmd(t, e, "", "deliveries", "list", "--limit", "1"); err != nil || !strings.Contains(errOut, "--before") {
			t.Errorf("deliveries list --limit 1: %v\n%s%s", err, out, errOut)
		}

		_, _, err := runCmd(t, e, "", "deliveries", "replay", strconv.FormatInt(rejected[0].ID, 10))
		if err == nil || !strings.Contains(err.Error(), "no stored body: only authenticated deliveries can be replayed") {
			t.Errorf("replay of a rejected delivery: %v", err)
		}
		// Order 701 failed (unknown SKU); the SKU is fixed: a replay enrolls it.
		waitFor(t, "order 701 to fail", func() bool { return strings.Contains(mustRun(t, e, "orders", "show", "701"), "status   ERROR") })
		lms.AddSKU("NO-SUCH-SKU", "course-v1:Org+Replayed+1")
		out = mustRun(t, e, "deliveries", "replay", strconv.FormatInt(all[0].ID, 10))
		if !strings.Contains(out, "replayed delivery") || !strings.Contains(out, "order 701 of first.myshopify.com") || !strings.Contains(out, "1 item(s) enqueued") {
			t.Errorf("deliveries replay: %s", out)
		}
		waitEnrolled(t, lms, "course-v1:Org+Replayed+1", "d@example.com")
		show := mustRun(t, e, "orders", "show", "701")
		if !strings.Contains(show, "replay of delivery "+strconv.FormatInt(all[0].ID, 10)+" by cli:tester") || !strings.Contains(show, "replay") {
			t.Errorf("orders show after the replay:\n%s", show)
		}
		for _, args := range [][]string{{"deliveries", "replay"}, {"deliveries", "replay", "x"}, {"deliveries"}, {"deliveries", "nope"}} {
			if _, _, err := runCmd(t, e, "", args...); err == nil {
				t.Errorf("%v succeeded", args)
			}
		}
		if _, _, err := runCmd(t, e, "", "deliveries", "replay", "424242"); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("replay of a missing delivery: %v", err)
		}
	})
}

// A rejection from a shop not configured here shows the domain it sent;
// a flood from one address shows its first rejections and one counted row.
func TestDeliveriesListShowsUnknownShopsAndFloods(t *testing.T) {
	lms := edxtest.New(t)
	e := baseEnv(t, lms, store.SQLite)
	s := serve(t, e)
	for i := range 25 {
		if got := s.postShopify(t, "old-shop.myshopify.com", "shopify-webhook-secret", shopifyOrder(int64(800+i), "course-v1:Org+D+1", "d@example.com")); got != 403 {
			t.Fatalf("order from an unknown shop: %d", got)
		}
	}
	s.stop(t) // the minute's count is written as the service stops
	// 10 whole and one row of 15 (or, should a minute end meanwhile, two
	// minutes' worth).
	lines := deliveryLines(t, mustRun(t, e, "deliveries", "list", "--rejected", "--json"))
	var requests, rows int64
	for _, l := range lines {
		requests += max(l.Folded, 1)
		if l.Source != "old-shop.myshopify.com" {
			t.Errorf("unknown shop listed as %q", l.Source)
		}
	}
	if requests != 25 || lines[0].Folded == 0 || len(lines) > 22 {
		t.Errorf("deliveries list --rejected --json: %+v", lines)
	}
	out := mustRun(t, e, "deliveries", "list", "--rejected")
	more := "unknown shop domain, and " + strconv.FormatInt(lines[0].Folded, 10) + " more like it"
	if rows = int64(strings.Count(out, "old-shop.myshopify.com")); !strings.Contains(out, more) || rows != int64(len(lines)) {
		t.Errorf("deliveries list --rejected: want %q and %d rows:\n%s", more, len(lines), out)
	}
}
