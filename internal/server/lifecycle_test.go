package server_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/server"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// The life of an order through the webhook endpoints: the whole server,
// with the writer, the job queue and its workers, against the fake LMS.

const (
	lifeShop   = "life.myshopify.com"
	lifeSecret = "life-secret"
	lifeSite   = "https://life.example.com"
	lifeSiteSK = "life-site-secret"
	courseA    = "course-v1:Org+A+1"
	courseB    = "course-v1:Org+B+1"
)

type lifeFixture struct {
	db   *store.DB
	srv  *httptest.Server
	lms  *edxtest.LMS
	logs *logBuffer
	next int // makes webhook ids unique
}

// logBuffer holds the log, written by several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newLifeFixture starts the server with one shop and one site, both
// unenrolling on refund, and enrollment workers retrying after 5 minutes.
func newLifeFixture(t *testing.T, d store.Dialect, edit ...func(*config.Config)) *lifeFixture {
	t.Helper()
	cfg := config.Default()
	cfg.Shopify = []config.Shop{{Domain: lifeShop, Secrets: []config.Secret{lifeSecret}, UnenrollOnRefund: true}}
	cfg.WooCommerce = []config.Site{{Source: lifeSite, Secrets: []config.Secret{lifeSiteSK}, UnenrollOnRefund: true}}
	for _, e := range edit {
		e(&cfg)
	}
	db := storetest.Open(t, d)
	ctx := context.Background()
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	lms := edxtest.New(t)
	client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret, Timeout: 10 * time.Second})
	opts := jobs.Options{Workers: 2, MaxAttempts: 5, RetryDelay: 5 * time.Minute, Logger: logger,
		PollInterval: 50 * time.Millisecond, RegistrationWait: cfg.RegistrationWait}
	if len(cfg.Courses) > 0 { // courses sold in a mode: check registrations often
		opts.RegistrationCheck = 50 * time.Millisecond
	}
	queue, err := jobs.New(db, client, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { queue.Stop(context.Background()) })
	writer := db.NewWriter(queue.Enqueue, 2, 64)
	t.Cleanup(writer.Close)
	srv := httptest.NewServer(server.NewServer(server.Deps{Logger: logger, DB: db, Writer: writer, Config: cfg,
		Metrics: metrics.New(metrics.Options{Logger: logger})}))
	t.Cleanup(srv.Close)
	return &lifeFixture{db: db, srv: srv, lms: lms, logs: logs}
}

// shopify sends a Shopify delivery of a topic to path, with a fresh
// webhook id unless headers name one, and returns the status code.
func (f *lifeFixture) shopify(t *testing.T, path, topic, body string, headers ...string) int {
	t.Helper()
	f.next++
	h := map[string]string{
		"Content-Type":          "application/json",
		"X-Shopify-Shop-Domain": lifeShop,
		"X-Shopify-Hmac-Sha256": webhook.Sign([]byte(lifeSecret), []byte(body)),
		"X-Shopify-Topic":       topic,
		"X-Shopify-Webhook-Id":  fmt.Sprintf("webhook-%d", f.next),
	}
	for i := 0; i+1 < len(headers); i += 2 {
		h[headers[i]] = headers[i+1]
	}
	return f.send(t, path, h, body)
}

// woo sends a WooCommerce order.updated delivery.
func (f *lifeFixture) woo(t *testing.T, body string) int {
	t.Helper()
	return f.send(t, "/webhooks/woocommerce/order/update", map[string]string{
		"Content-Type":           "application/json",
		"X-WC-Webhook-Source":    lifeSite + "/",
		"X-WC-Webhook-Topic":     "order.updated",
		"X-WC-Webhook-Signature": webhook.Sign([]byte(lifeSiteSK), []byte(body)),
	}, body)
}

func (f *lifeFixture) send(t *testing.T, path string, h map[string]string, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// mustShopify is shopify that fails the test unless the answer is 200.
func (f *lifeFixture) mustShopify(t *testing.T, path, topic, body string, headers ...string) {
	t.Helper()
	if got := f.shopify(t, path, topic, body, headers...); got != http.StatusOK {
		t.Fatalf("%s %s: %d; want 200", path, topic, got)
	}
}

func (f *lifeFixture) order(t *testing.T, p enroll.Platform, id int64) store.OrderRecord {
	t.Helper()
	source := lifeShop
	if p == enroll.WooCommerce {
		source = lifeSite
	}
	o, err := f.db.FindOrder(context.Background(), p, source, id)
	if err != nil {
		t.Fatalf("order %d: %v", id, err)
	}
	return o
}

// settled waits until every item of the order is done, and returns it.
func (f *lifeFixture) settled(t *testing.T, p enroll.Platform, id int64) store.OrderRecord {
	t.Helper()
	var o store.OrderRecord
	waitFor(t, fmt.Sprintf("order %d to settle", id), func() bool {
		o = f.order(t, p, id)
		for _, it := range o.Items {
			if !it.Status.Done() {
				return false
			}
		}
		return len(o.Items) > 0
	})
	return o
}

// deliveries returns the order's deliveries, oldest first.
func (f *lifeFixture) deliveries(t *testing.T, orderID int64) []store.DeliveryRecord {
	t.Helper()
	d, err := f.db.OrderDetail(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	return d.Deliveries
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A Shopify line item as a payload writes it.
type line struct {
	id       int64
	sku      string
	quantity int
	email    string // the "email" property; "" for none
}

// shopifyOrderAt is an order's payload: updated_at (omitted when empty),
// financial_status, and cancelled_at when cancelled.
func shopifyOrderAt(id int64, updatedAt, financialStatus string, cancelled bool, lines ...line) string {
	var items []string
	for _, l := range lines {
		props := "[]"
		if l.email != "" {
			props = fmt.Sprintf(`[{"name": "email", "value": %q}]`, l.email)
		}
		items = append(items, fmt.Sprintf(`{"id": %d, "sku": %q, "quantity": %d, "properties": %s}`, l.id, l.sku, l.quantity, props))
	}
	fields := []string{fmt.Sprintf(`"id": %d`, id), `"email": "buyer@example.com"`,
		fmt.Sprintf(`"financial_status": %q`, financialStatus)}
	if updatedAt != "" {
		fields = append(fields, fmt.Sprintf(`"updated_at": %q`, updatedAt))
	}
	if cancelled {
		fields = append(fields, fmt.Sprintf(`"cancelled_at": %q`, updatedAt))
	}
	return "{" + strings.Join(fields, ", ") + `, "line_items": [` + strings.Join(items, ", ") + "]}"
}

// shopifyRefundOf is a refunds/create payload refunding seats of lines.
func shopifyRefundOf(id, orderID int64, lineSeats ...int64) string {
	var lines []string
	for i := 0; i+1 < len(lineSeats); i += 2 {
		lines = append(lines, fmt.Sprintf(`{"line_item_id": %d, "quantity": %d}`, lineSeats[i], lineSeats[i+1]))
	}
	return fmt.Sprintf(`{"id": %d, "order_id": %d, "created_at": "2026-12-01T12:00:00Z", "refund_line_items": [%s]}`,
		id, orderID, strings.Join(lines, ", "))
}

// wooOrderAt is a WooCommerce order's payload in a status.
func wooOrderAt(id int64, status, modified string, paid bool, refunds string) string {
	datePaid := "null"
	if paid {
		datePaid = `"2026-12-01T09:00:00"`
	}
	return fmt.Sprintf(`{"id": %d, "status": %q, "date_modified_gmt": %q, "date_paid_gmt": %s, "refunds": %s,
 "billing": {"email": "buyer@example.com"},
 "line_items": [{"id": 7, "sku": %q, "quantity": 1, "meta_data": []}]}`, id, status, modified, datePaid, refunds, courseA)
}

var twoLines = []line{{1, courseA, 1, "a@example.com"}, {2, courseB, 1, "b@example.com"}}

// Every topic of an order's life has its endpoint, and is reached through
// the single endpoint too.
func TestShopifyLifecycleEndpoints(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		tests := []struct {
			path, topic, body string
			want              int
		}{
			{"/webhooks/shopify/order/create", "orders/create", shopifyOrderAt(11, "2026-12-01T10:00:00Z", "paid", false, twoLines...), 200},
			{"/webhooks/shopify/order/paid", "orders/paid", shopifyOrderAt(12, "2026-12-01T10:00:00Z", "paid", false, twoLines...), 200},
			{"/webhooks/shopify/order/cancelled", "orders/cancelled", shopifyOrderAt(13, "2026-12-01T10:00:00Z", "voided", true, twoLines...), 200},
			{"/webhooks/shopify/refund/create", "refunds/create", shopifyRefundOf(900, 14, 1, 1), 200},
			{"/webhooks/shopify/order/paid/", "orders/paid", shopifyOrderAt(15, "", "paid", false, twoLines...), 200},
			{"/webhooks/shopify", "orders/create", shopifyOrderAt(21, "2026-12-01T10:00:00Z", "paid", false, twoLines...), 200},
			{"/webhooks/shopify", "orders/paid", shopifyOrderAt(22, "2026-12-01T10:00:00Z", "paid", false, twoLines...), 200},
			{"/webhooks/shopify", "orders/cancelled", shopifyOrderAt(23, "2026-12-01T10:00:00Z", "voided", false, twoLines...), 200},
			{"/webhooks/shopify", "refunds/create", shopifyRefundOf(900, 24, 1, 1), 200},
			{"/webhooks/shopify/refund/create", "refunds/create", `{"id": 900, "refund_line_items": []}`, 400},
			{"/webhooks/shopify/refund/create", "refunds/create", `[1, 2]`, 400},
			{"/webhooks/shopify/order/paid", "orders/paid", `{"note": "no id"}`, 400},
			{"/webhooks/shopify", "orders/updated", shopifyOrderAt(31, "", "paid", false), 400},
		}
		f := newLifeFixture(t, d)
		for _, tt := range tests {
			if got := f.shopify(t, tt.path, tt.topic, tt.body); got != tt.want {
				t.Errorf("%s %s: %d; want %d", tt.path, tt.topic, got, tt.want)
			}
		}
		for _, id := range []int64{13, 23} { // cancelled by its topic, whatever cancelled_at says
			if o := f.order(t, enroll.Shopify, id); !o.Snapshot.Cancelled || o.Snapshot.ShopStatus != "voided" {
				t.Errorf("order %d: %+v; want cancelled, voided", id, o.Snapshot)
			}
		}
		for _, id := range []int64{14, 24} { // a refund of an order not seen yet
			o := f.order(t, enroll.Shopify, id)
			detail, err := f.db.OrderDetail(context.Background(), o.ID)
			if err != nil || o.Status != enroll.OrderAwaitingPayment || len(detail.Refunds) != 1 || detail.Refunds[0].LineItemID != 1 {
				t.Errorf("order %d of a refund: %+v, refunds %+v, %v", id, o, detail.Refunds, err)
			}
		}
	})
}

// With require_payment, an orders/create that is not paid waits for
// orders/paid; paid_statuses says which financial statuses count as paid.
func TestShopifyRequirePayment(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d, func(c *config.Config) {
			c.Shopify[0].RequirePayment = true
			c.Shopify[0].PaidStatuses = []string{"paid", "authorized"}
		})
		for _, tt := range []struct {
			id     int64
			status string
			items  int
		}{{41, "pending", 0}, {42, "authorized", 2}, {43, "paid", 2}, {44, "partially_paid", 0}} {
			f.mustShopify(t, "/webhooks/shopify", "orders/create", shopifyOrderAt(tt.id, "2026-12-01T10:00:00Z", tt.status, false, twoLines...))
			o := f.order(t, enroll.Shopify, tt.id)
			if len(o.Items) != tt.items || (tt.items == 0) != (o.Status == enroll.OrderAwaitingPayment) {
				t.Errorf("order %d, %s: %s with %d items; want %d", tt.id, tt.status, o.Status, len(o.Items), tt.items)
			}
		}
		// orders/paid is paid whatever its financial status says.
		f.mustShopify(t, "/webhooks/shopify/order/paid", "orders/paid", shopifyOrderAt(44, "2026-12-01T10:05:00Z", "partially_paid", false, twoLines...))
		if o := f.order(t, enroll.Shopify, 44); len(o.Items) != 2 {
			t.Errorf("order 44 once paid: %+v; want its items", o)
		}
	})
}

// A payload without updated_at is dated by X-Shopify-Triggered-At.
func TestShopifyTriggeredAt(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d)
		body := shopifyOrderAt(51, "", "paid", false, twoLines...)
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", body, "X-Shopify-Triggered-At", "2026-12-01T10:05:00.123+01:00")
		o := f.order(t, enroll.Shopify, 51)
		if want := time.Date(2026, 12, 1, 9, 5, 0, 123e6, time.UTC); !o.Snapshot.At.Equal(want) {
			t.Errorf("snapshot at %v; want %v", o.Snapshot.At, want)
		}
		older := shopifyOrderAt(51, "", "paid", true, twoLines...)
		f.mustShopify(t, "/webhooks/shopify/order/cancelled", "orders/cancelled", older, "X-Shopify-Triggered-At", "2026-12-01T09:00:00Z")
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", body, "X-Shopify-Triggered-At", "yesterday")
		ds := f.deliveries(t, o.ID)
		if len(ds) != 3 || ds[1].Reason != store.ReasonStale || ds[2].Reason != store.ReasonDuplicate {
			t.Fatalf("deliveries %+v; want the first, a stale one, a duplicate without a time", ds)
		}
		if o := f.order(t, enroll.Shopify, 51); o.Snapshot.Cancelled {
			t.Errorf("a stale cancellation was applied: %+v", o.Snapshot)
		}
	})
}

// WooCommerce refunds and cancellations arrive as order.updated. They are
// taken on a site that requires payment, unpaid or not; an unpaid order
// that is neither is still refused (402), or waits for payment.
func TestWooCommerceLifecycle(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d, func(c *config.Config) { c.WooCommerce[0].RequirePayment = true })
		tests := []struct {
			name   string
			id     int64
			body   string
			want   int
			status enroll.OrderStatus
			items  int
			check  func(enroll.Snapshot) bool
		}{
			{"unpaid", 61, wooOrderAt(61, "pending", "2026-12-01T10:00:00", false, "[]"), 402, "", 0, nil},
			{"unpaid cancelled", 62, wooOrderAt(62, "cancelled", "2026-12-01T10:00:00", false, "[]"), 200, enroll.OrderAwaitingPayment, 0,
				func(s enroll.Snapshot) bool { return s.Cancelled }},
			{"refunded", 63, wooOrderAt(63, "refunded", "2026-12-01T10:00:00", true, `[{"id": 5, "total": "-10.00"}]`), 200, enroll.OrderProcessed, 1,
				func(s enroll.Snapshot) bool { return s.Refunded && !s.PartialRefund }},
			{"partially refunded", 64, wooOrderAt(64, "processing", "2026-12-01T10:00:00", true, `[{"id": 5, "total": "-1.00"}]`), 200, enroll.OrderNew, 1,
				func(s enroll.Snapshot) bool { return s.PartialRefund && s.ShopStatus == "processing" }},
		}
		for _, tt := range tests {
			if got := f.woo(t, tt.body); got != tt.want {
				t.Errorf("%s: %d; want %d", tt.name, got, tt.want)
			}
			if tt.check == nil {
				continue
			}
			o := f.order(t, enroll.WooCommerce, tt.id)
			// The workers run: a new order may be enrolled by the time it is read.
			moving := tt.status == enroll.OrderNew && (o.Status == enroll.OrderProcessing || o.Status == enroll.OrderProcessed)
			if o.Status != tt.status && !moving || len(o.Items) != tt.items || !tt.check(o.Snapshot) {
				t.Errorf("%s: %s with %d items, %+v", tt.name, o.Status, len(o.Items), o.Snapshot)
			}
		}
		// The same state of the order again (WooCommerce's redelivery of a
		// failed delivery, or two webhooks): a duplicate, without its body.
		body := wooOrderAt(64, "processing", "2026-12-01T10:00:00", true, `[{"id": 5, "total": "-1.00"}]`)
		if got := f.woo(t, body); got != 200 {
			t.Fatalf("redelivery: %d", got)
		}
		ds := f.deliveries(t, f.order(t, enroll.WooCommerce, 64).ID)
		if len(ds) != 2 || ds[1].Reason != store.ReasonDuplicate || ds[1].HasBody || !ds[0].HasBody {
			t.Errorf("deliveries %+v; want the first with its body, the redelivery a duplicate without", ds)
		}
	})
}
