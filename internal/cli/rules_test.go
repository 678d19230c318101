package cli_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/cli"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// seeded returns an environment naming a migrated SQLite database, and
// that database, in which a test stores orders itself: no service runs,
// so no job is worked and items stay as the test leaves them.
func seeded(t *testing.T) (env, *store.DB) {
	t.Helper()
	e := env{"WEBHOOK_RECEIVER_DATABASE_URL": storetest.URL(t, store.SQLite), "USER": "tester"}
	mustRun(t, e, "migrate")
	db, err := store.Open(context.Background(), e["WEBHOOK_RECEIVER_DATABASE_URL"], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return e, db
}

// save stores an order as an accepted delivery would, its jobs queued.
func save(t *testing.T, db *store.DB, o enroll.Order, body string) store.SaveResult {
	t.Helper()
	q, err := jobs.New(db, nil, jobs.Options{Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	o.Paid = true
	res, err := db.SaveAccepted(context.Background(), store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: o.Platform, Source: o.Source,
			Path: "/webhooks/" + string(o.Platform) + "/order/create", SourceIP: "192.0.2.1", Status: 200, Body: []byte(body)},
		Order: o,
	}, q.Enqueue)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// failItems records a permanent failure for items.
func failItems(t *testing.T, db *store.DB, ids ...int64) {
	t.Helper()
	for _, id := range ids {
		if err := db.RecordAttempt(context.Background(), store.Attempt{ItemID: id, Outcome: enroll.OutcomeFailed,
			Status: enroll.ItemFailed, HTTPStatus: 404, Detail: "no course", Counted: true}); err != nil {
			t.Fatal(err)
		}
	}
}

func itemStatus(t *testing.T, db *store.DB, id int64) enroll.ItemStatus {
	t.Helper()
	w, err := db.WorkFor(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return w.Status
}

// TestOrdersSourceAnyCase: --source names a shop as the console's order
// page does: a Shopify domain in any case, a site URL with any case of
// scheme and host and with or without its trailing slash.
func TestOrdersSourceAnyCase(t *testing.T) {
	e, db := seeded(t)
	shop := save(t, db, enroll.Order{Platform: enroll.Shopify, Source: "first.myshopify.com", ID: 4242,
		Items: []enroll.Item{{LineItemID: 1, SKU: "S", Email: "a@example.com"}}}, "{}")
	save(t, db, enroll.Order{Platform: enroll.WooCommerce, Source: "https://shop.example.com/Store", ID: 4242,
		Items: []enroll.Item{{LineItemID: 1, SKU: "W", Email: "w@example.com"}}}, "{}")
	failItems(t, db, shop.Enqueued...)
	for _, source := range []string{"first.myshopify.com", "FIRST.MyShopify.com", " First.myshopify.COM"} {
		if out := mustRun(t, e, "orders", "show", "4242", "--source", source); !strings.Contains(out, "Order 4242 of first.myshopify.com") {
			t.Errorf("orders show --source %q:\n%s", source, out)
		}
	}
	if out := mustRun(t, e, "orders", "show", "4242", "--source", "HTTPS://SHOP.example.com/Store/"); !strings.Contains(out, "of https://shop.example.com/Store") {
		t.Errorf("orders show --source with the site's scheme and host in upper case:\n%s", out)
	}
	if _, _, err := runCmd(t, e, "", "orders", "show", "4242", "--source", "https://shop.example.com/store"); !errors.Is(err, enroll.ErrNotFound) {
		t.Errorf("orders show --source with the path in another case: %v; want not found (paths are case-sensitive)", err)
	}
	if out := mustRun(t, e, "orders", "retry", "4242", "--source", "First.MyShopify.com"); !strings.Contains(out, "retried 1 item(s)") {
		t.Errorf("orders retry --source in another case: %s", out)
	}
	// The filters of list and retry --all-failed name the shop the same way.
	if out := mustRun(t, e, "orders", "list", "--source", "HTTPS://Shop.Example.com/Store/"); !strings.Contains(out, "https://shop.example.com/Store") ||
		strings.Contains(out, "first.myshopify.com") {
		t.Errorf("orders list --source with the site's scheme and host in upper case:\n%s", out)
	}
	if out := mustRun(t, e, "orders", "list", "--source", "https://shop.example.com/store"); strings.Contains(out, "https://shop.example.com/Store") {
		t.Errorf("orders list --source with the path in another case found the site:\n%s", out)
	}
	failItems(t, db, shop.Enqueued...)
	if out := mustRun(t, e, "orders", "retry", "--all-failed", "--source", "FIRST.myshopify.com"); !strings.Contains(out, "retried 1 item(s)") {
		t.Errorf("orders retry --all-failed --source in another case: %s", out)
	}
}

// TestRetryAllFailedNeedsAFilter: like the console's Retry all failed,
// --all-failed never takes every failed item there is.
func TestRetryAllFailedNeedsAFilter(t *testing.T) {
	e, db := seeded(t)
	res := save(t, db, enroll.Order{Platform: enroll.Shopify, Source: "first.myshopify.com", ID: 77,
		Items: []enroll.Item{{LineItemID: 1, SKU: "S", Email: "a@example.com"}}}, "{}")
	failItems(t, db, res.Enqueued...)
	_, errOut, err := runCmd(t, e, "", "orders", "retry", "--all-failed")
	if !errors.Is(err, cli.ErrUsage) || !strings.Contains(errOut, "at least one filter") {
		t.Errorf("orders retry --all-failed without a filter: %v\n%s", err, errOut)
	}
	if s := itemStatus(t, db, res.Enqueued[0]); s != enroll.ItemFailed {
		t.Errorf("item after a refused --all-failed: %s; want failed", s)
	}
	if out := mustRun(t, e, "orders", "retry", "--all-failed", "--platform", "shopify"); !strings.Contains(out, "retried 1 item(s)") {
		t.Errorf("orders retry --all-failed --platform shopify: %s", out)
	}
}

// TestOrdersHelpFollowsTheRules: the help names the statuses each action
// takes as the rules in enroll say, not as someone last wrote them down.
func TestOrdersHelpFollowsTheRules(t *testing.T) {
	e := env{}
	out := mustRun(t, e, "orders", "-h")
	for _, want := range []string{
		"retry items by id (" + enroll.Or(enroll.RetryableStatuses()) + " ones)",
		"mark an item (" + enroll.Or(enroll.ResolvableStatuses()) + ") resolved",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("orders -h lacks %q:\n%s", want, out)
		}
	}
	_, errOut, _ := runCmd(t, e, "", "orders", "retry", "-h")
	if want := "items by id (" + enroll.Or(enroll.RetryableStatuses()) + " ones"; !strings.Contains(errOut, want) {
		t.Errorf("orders retry -h lacks %q:\n%s", want, errOut)
	}
}
