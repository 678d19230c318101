package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics/metricstest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/server"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

const (
	redactBody = `{"shop_id": 954889, "shop_domain": "first.myshopify.com",
 "customer": {"id": 191167, "email": "Buyer@Example.com", "phone": "555-625-1199"}, "orders_to_redact": [5834765623456]}`
	shopRedactBody  = `{"shop_id": 954889, "shop_domain": "first.myshopify.com"}`
	dataRequestBody = `{"shop_id": 954889, "shop_domain": "first.myshopify.com", "orders_requested": [5834765623456],
 "customer": {"id": 191167, "email": "buyer@example.com", "phone": "555-625-1199"}, "data_request": {"id": 9999}}`
)

// complianceTopics are Shopify's compliance topics, their own endpoints
// and a body of each.
var complianceTopics = []struct{ topic, path, body string }{
	{"customers/redact", "/webhooks/shopify/customers/redact", redactBody},
	{"shop/redact", "/webhooks/shopify/shop/redact", shopRedactBody},
	{"customers/data_request", "/webhooks/shopify/customers/data_request", dataRequestBody},
}

func complianceHeaders(topic, secret, body, webhookID string) map[string]string {
	h := shopifyHeaders(shopDomain, secret, body)
	h["X-Shopify-Topic"] = topic
	h["X-Shopify-Webhook-Id"] = webhookID
	return h
}

// newPrivacyFixture is newFixture on a database whose URL the test knows.
func newPrivacyFixture(t *testing.T, d store.Dialect) (*fixture, string) {
	t.Helper()
	ctx := context.Background()
	u := storetest.URL(t, d)
	db, err := store.Open(ctx, u, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	queue, err := jobs.New(db, nil, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Shopify = []config.Shop{{Domain: shopDomain, Secrets: []config.Secret{shopSecret, oldSecret}}}
	logger := slog.New(slog.NewTextHandler(t.Output(), nil))
	writer := db.NewWriter(queue.Enqueue, 2, 64)
	rejections := server.NewRejections(writer, logger)
	srv := httptest.NewServer(server.NewServer(server.Deps{Logger: logger, DB: db, Writer: writer, Config: cfg,
		Metrics: metrics.New(metrics.Options{Logger: logger}), Rejections: rejections}))
	t.Cleanup(srv.Close)
	t.Cleanup(writer.Close)
	t.Cleanup(rejections.Close)
	return &fixture{db: db, srv: srv, rejections: rejections}, u
}

// A compliance topic with a missing or wrong signature is answered 401, on
// its own endpoint and on the single one; a good one 200.
func TestComplianceTopicsAnswer401ToABadSignature(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		for i, c := range complianceTopics {
			for _, path := range []string{c.path, "/webhooks/shopify"} {
				good := complianceHeaders(c.topic, shopSecret, c.body, fmt.Sprintf("w-%d-%s", i, path))
				for _, tt := range []struct {
					name    string
					headers map[string]string
					body    string
					want    int
				}{
					{"wrong secret", complianceHeaders(c.topic, "nope", c.body, "x"), c.body, 401},
					{"missing signature", without(good, "X-Shopify-Hmac-Sha256"), c.body, 401},
					{"tampered body", good, strings.Replace(c.body, "954889", "954880", 1), 401},
					{"not a privacy request", complianceHeaders(c.topic, shopSecret, `{"id": 1}`, "y"), `{"id": 1}`, 400},
					{"signed", good, c.body, 200},
				} {
					if got := f.post(t, path, "application/json", tt.headers, tt.body); got != tt.want {
						t.Errorf("%s on %s, %s: status %d, want %d", c.topic, path, tt.name, got, tt.want)
					}
				}
			}
		}
		// Nothing of a rejected compliance body is kept.
		ds, err := f.db.Deliveries(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Body != nil {
				t.Errorf("delivery %d (%s, %d) kept its body", d.ID, d.Path, d.Status)
			}
		}
	})
}

// customers/redact removes the customer's email from every table and
// every stored body, and from the SQLite file's bytes.
func TestCustomersRedactEndToEnd(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f, u := newPrivacyFixture(t, d)
		const path = "/webhooks/shopify/order/create"
		if got := f.post(t, path, "application/json", shopifyHeaders(shopDomain, shopSecret, shopifyOrder), shopifyOrder); got != 200 {
			t.Fatalf("order: %d", got)
		}
		if got := f.post(t, "/webhooks/shopify", "application/json",
			complianceHeaders("customers/data_request", shopSecret, dataRequestBody, "dr-1"), dataRequestBody); got != 200 {
			t.Fatalf("data request: %d", got)
		}
		for _, email := range []string{"buyer@example.com", "learner@example.com"} {
			if len(storetest.Find(t, f.db, email)) == 0 {
				t.Fatalf("%s is stored nowhere before the redaction", email)
			}
		}
		for range 2 { // a redelivery of the same delivery is a duplicate
			if got := f.post(t, "/webhooks/shopify/customers/redact", "application/json",
				complianceHeaders("customers/redact", shopSecret, redactBody, "r-1"), redactBody); got != 200 {
				t.Fatalf("redact: %d", got)
			}
		}
		for _, email := range []string{"buyer@example.com", "learner@example.com", "555-625-1199"} {
			if where := storetest.Find(t, f.db, email); len(where) > 0 {
				t.Errorf("%s is still in %v", email, where)
			}
		}
		o, err := f.db.FindOrder(ctx, enroll.Shopify, shopDomain, 5834765623456)
		if err != nil || len(o.Items) != 2 || o.Status != enroll.OrderNew {
			t.Errorf("the order lost more than its emails: %+v, %v", o, err)
		}
		requests, _, err := f.db.ListPrivacyRequests(ctx, store.PrivacyFilter{})
		if err != nil || len(requests) != 2 {
			t.Fatalf("privacy requests: %+v, %v", requests, err)
		}
		if r := requests[0]; r.Topic != store.TopicCustomersRedact || r.CustomerID != 191167 || r.DoneAt.IsZero() {
			t.Errorf("redaction: %+v", r)
		}
		red, err := f.db.Delivery(ctx, requests[0].DeliveryID)
		if err != nil || red.HasBody || len(red.BodySHA256) != 64 || !strings.Contains(red.Headers, "customers/redact") ||
			strings.Contains(red.Headers, webhookSignature(redactBody)) {
			t.Errorf("the redaction's delivery: %+v, %v", red, err)
		}
		if d == store.SQLite {
			file, _ := store.SQLitePath(u)
			for _, email := range []string{"buyer@example.com", "learner@example.com"} {
				if storetest.FileHolds(t, f.db, file, email) {
					t.Errorf("the database file still holds %s", email)
				}
			}
		}
		m := metricstest.Scrape(t, f.srv.URL+"/metrics")
		if m[`webhook_receiver_redactions_total{topic="customers/redact"}`] != 1 || m["webhook_receiver_redacted_orders_total"] != 1 {
			t.Errorf("redaction metrics: %v", metricstest.Pick(m, map[string]float64{
				`webhook_receiver_redactions_total{topic="customers/redact"}`: 0, "webhook_receiver_redacted_orders_total": 0}))
		}
	})
}

func TestDataRequestIsRecordedWithoutItsBody(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d)
		if got := f.post(t, "/webhooks/shopify/customers/data_request", "application/json",
			complianceHeaders("customers/data_request", oldSecret, dataRequestBody, "dr-2"), dataRequestBody); got != 200 {
			t.Fatalf("data request: %d", got)
		}
		pending, _, err := f.db.ListPrivacyRequests(ctx, store.PrivacyFilter{Pending: true})
		if err != nil || len(pending) != 1 {
			t.Fatalf("pending: %+v, %v", pending, err)
		}
		r := pending[0]
		if r.Email != "buyer@example.com" || r.Source != shopDomain || r.CustomerID != 191167 || len(r.OrderIDs) != 1 {
			t.Errorf("request: %+v", r)
		}
		if dl, err := f.db.Delivery(ctx, r.DeliveryID); err != nil || dl.HasBody || dl.Status != 200 {
			t.Errorf("delivery: %+v, %v", dl, err)
		}
		if where := storetest.Find(t, f.db, "555-625-1199"); len(where) > 0 {
			t.Errorf("the phone number is in %v", where)
		}
	})
}

func webhookSignature(body string) string {
	return shopifyHeaders(shopDomain, shopSecret, body)["X-Shopify-Hmac-Sha256"]
}
