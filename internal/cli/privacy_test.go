package cli_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

func TestPrivacyCommands(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		lms.AddSKU("course-v1:Org+Privacy+1", "course-v1:Org+Privacy+1")
		e := baseEnv(t, lms, d)
		e["USER"] = "dpo"
		s := serve(t, e)
		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
			shopifyOrder(900, "course-v1:Org+Privacy+1", "Pat@Example.com")); got != 200 {
			t.Fatalf("order: %d", got)
		}
		waitEnrolled(t, lms, "course-v1:Org+Privacy+1", "Pat@Example.com")
		request := `{"shop_id": 1, "shop_domain": "first.myshopify.com", "customer": {"id": 5, "email": "pat@example.com"},
			"orders_requested": [900], "data_request": {"id": 12}}`
		if got := s.post(t, "/webhooks/shopify", map[string]string{
			"X-Shopify-Topic":       "customers/data_request",
			"X-Shopify-Shop-Domain": "first.myshopify.com",
			"X-Shopify-Hmac-Sha256": webhook.Sign([]byte("shopify-webhook-secret"), []byte(request)),
		}, request); got != 200 {
			t.Fatalf("data request: %d", got)
		}

		var x store.Export
		if err := json.Unmarshal([]byte(mustRun(t, e, "privacy", "export", "--email", "PAT@example.COM")), &x); err != nil {
			t.Fatal(err)
		}
		if len(x.Orders) != 1 || x.Orders[0].OrderID != 900 || len(x.Orders[0].Items) != 1 || x.Orders[0].Items[0].Email != "Pat@Example.com" ||
			x.Orders[0].Items[0].Status != "enrolled" || len(x.Orders[0].Deliveries) != 1 || x.Orders[0].Deliveries[0].Body == nil ||
			len(x.PrivacyRequests) != 1 {
			t.Fatalf("export: %+v", x)
		}

		out := mustRun(t, e, "privacy", "requests", "--pending")
		if !strings.Contains(out, "customers/data_request") || !strings.Contains(out, "pat@example.com") || !strings.Contains(out, "waiting") {
			t.Errorf("privacy requests --pending:\n%s", out)
		}
		id := x.PrivacyRequests[0].ID
		if out := mustRun(t, e, "privacy", "answer", itoa(id), "--note", "sent to the shop"); !strings.Contains(out, "marked answered") {
			t.Errorf("privacy answer: %s", out)
		}
		if _, _, err := runCmd(t, e, "", "privacy", "answer", itoa(id)); err == nil || !strings.Contains(err.Error(), "answered already") {
			t.Errorf("a second answer: %v", err)
		}

		out = mustRun(t, e, "purge", "--older-than", "30d", "--dry-run")
		if !strings.Contains(out, "would drop (dry run) the bodies of 0 deliveries") {
			t.Errorf("purge --dry-run: %s", out)
		}

		out = mustRun(t, e, "privacy", "redact", "--email", "pat@example.com", "--shop", "FIRST.myshopify.com")
		if !strings.Contains(out, "redacted in FIRST.myshopify.com: 1 order(s), 1 item(s), 1 deliveries") {
			t.Errorf("privacy redact: %s", out)
		}
		if where := storetest.Find(t, openDB(t, e), "pat@example.com"); len(where) > 0 {
			t.Errorf("the learner is still in %v", where)
		}
		if !lms.Enrolled("course-v1:Org+Privacy+1", "Pat@Example.com") {
			t.Error("the redaction unenrolled the learner")
		}
		show := mustRun(t, e, "orders", "show", "900")
		if !strings.Contains(show, "cli:dpo") || !strings.Contains(show, "redact") {
			t.Errorf("orders show after the redaction:\n%s", show)
		}
		out = mustRun(t, e, "privacy", "requests")
		if !strings.Contains(out, "redact") || !strings.Contains(out, "by cli:dpo") {
			t.Errorf("privacy requests:\n%s", out)
		}

		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"privacy", "export"}, "--email is required"},
			{[]string{"privacy", "redact", "--shop", "first.myshopify.com"}, "--email is required"},
			{[]string{"privacy", "redact", "--email", "nobody"}, "is not an email address"},
			{[]string{"purge"}, "--older-than is required"},
			{[]string{"purge", "--older-than", "12h"}, "--older-than: must be at least 1d"},
			{[]string{"purge", "--older-than", "soon"}, "--older-than: invalid age"},
			{[]string{"privacy", "answer", "x"}, "want a number"},
			{[]string{"privacy"}, "Subcommands:"},
		} {
			out, errOut, err := runCmd(t, e, "", c.args...)
			if err == nil || !strings.Contains(out+errOut+err.Error(), c.want) {
				t.Errorf("%v: %v\n%s%s; want %q", c.args, err, out, errOut, c.want)
			}
		}
	})
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// openDB opens the database of a test's environment.
func openDB(t *testing.T, e env) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), e["WEBHOOK_RECEIVER_DATABASE_URL"], store.Options{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// serve runs the retention job at start when WEBHOOK_RECEIVER_RETENTION is set.
func TestServeRunsRetention(t *testing.T) {
	lms := edxtest.New(t)
	e := baseEnv(t, lms, store.SQLite)
	e["WEBHOOK_RECEIVER_RETENTION"] = "30d"
	mustRun(t, e, "migrate")
	db := openDB(t, e)
	id, err := db.SaveDelivery(context.Background(), store.Delivery{ReceivedAt: time.Now().AddDate(0, 0, -31),
		Platform: enroll.Shopify, Source: "first.myshopify.com", Path: "/webhooks/shopify/order/create",
		Body: []byte(`{"id": 1}`), KeepBody: true, Status: 402, Reason: "order is not paid"})
	if err != nil {
		t.Fatal(err)
	}
	s := serve(t, e)
	waitFor(t, "retention to purge the old body", func() bool {
		d, err := db.Delivery(context.Background(), id)
		return err == nil && !d.HasBody
	})
	s.stop(t)
	if !strings.Contains(s.logs.String(), `"msg":"retention purged"`) {
		t.Errorf("serve did not log the purge:\n%s", s.logs)
	}
}
