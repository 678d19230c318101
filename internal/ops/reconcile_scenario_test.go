package ops_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/server"
	shopapi "github.com/openedx-webhook-receiver/webhook-receiver/internal/shop"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/woo"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// The whole way: the shops' fakes, the store, the enrollment workers and
// the fake LMS, and the real webhook endpoints for webhooks that come late.

type liveFixture struct {
	*fakeShops
	db  *store.DB
	o   *ops.Ops
	lms *edxtest.LMS
	srv *httptest.Server
	// next numbers the Shopify webhooks sent.
	next int
}

const (
	courseS = "course-v1:Org+Shopify+1"
	courseT = "course-v1:Org+Shopify+2"
	courseW = "course-v1:Org+Woo+1"
	courseX = "course-v1:Org+Woo+2"
)

// newLiveFixture configures the Shopify shop with require_payment and
// unenroll_on_refund, and the WooCommerce site likewise (refusing unpaid
// orders), with workers enrolling in the fake LMS.
func newLiveFixture(t *testing.T, db *store.DB) *liveFixture {
	t.Helper()
	f := &liveFixture{fakeShops: newFakeShops(t), db: db, lms: edxtest.New(t)}
	cfg := config.Default()
	cfg.Shopify, cfg.WooCommerce = f.cfg.Shopify, f.cfg.WooCommerce
	cfg.WooCommerce[0].RequirePayment, cfg.WooCommerce[0].UnenrollOnRefund = true, true
	f.cfg = cfg
	ctx := context.Background()
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	client := edx.New(edx.Options{BaseURL: f.lms.URL, ClientID: f.lms.ClientID, ClientSecret: f.lms.ClientSecret, Timeout: 10 * time.Second})
	queue, err := jobs.New(db, client, jobs.Options{Workers: 4, MaxAttempts: 5, RetryDelay: 5 * time.Minute, Logger: logger,
		PollInterval: 50 * time.Millisecond, RegistrationWait: cfg.RegistrationWait})
	if err != nil {
		t.Fatal(err)
	}
	if err := queue.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { queue.Stop(context.Background()) })
	writer := db.NewWriter(queue.Enqueue, 2, 64)
	t.Cleanup(writer.Close)
	f.srv = httptest.NewServer(server.NewServer(server.Deps{Logger: logger, DB: db, Writer: writer, Config: cfg,
		Metrics: metrics.New(metrics.Options{Logger: logger})}))
	t.Cleanup(f.srv.Close)
	f.o = &ops.Ops{DB: db, Enqueue: queue.Enqueue, Config: cfg}
	return f
}

func (f *liveFixture) post(t *testing.T, path string, headers map[string]string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// shopifyHook sends a signed Shopify webhook of topic, as Shopify would.
func (f *liveFixture) shopifyHook(t *testing.T, topic string, body []byte) int {
	t.Helper()
	f.next++
	path := map[string]string{"orders/create": "/webhooks/shopify/order/create", "orders/paid": "/webhooks/shopify/order/paid",
		"refunds/create": "/webhooks/shopify/refund/create"}[topic]
	return f.post(t, path, map[string]string{"X-Shopify-Shop-Domain": f.shopify.Domain(), "X-Shopify-Topic": topic,
		"X-Shopify-Hmac-Sha256": webhook.Sign([]byte(f.cfg.Shopify[0].Secrets[0]), body),
		"X-Shopify-Webhook-Id":  fmt.Sprintf("late-%d", f.next)}, body)
}

// wooHook sends a signed WooCommerce order.updated webhook.
func (f *liveFixture) wooHook(t *testing.T, body []byte) int {
	t.Helper()
	return f.post(t, "/webhooks/woocommerce/order/update", map[string]string{"X-WC-Webhook-Source": f.woo.URL + "/",
		"X-WC-Webhook-Topic": "order.updated", "X-WC-Webhook-Signature": webhook.Sign([]byte(f.cfg.WooCommerce[0].Secrets[0]), body)}, body)
}

// wooBodies are the site's orders as its webhooks would send them now, by id.
func (f *liveFixture) wooBodies(t *testing.T) map[int64][]byte {
	t.Helper()
	c, err := woo.New(woo.Options{BaseURL: f.woo.URL, ConsumerKey: f.woo.ConsumerKey, ConsumerSecret: f.woo.ConsumerSecret, HTTPClient: f.woo.Client()})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]byte{}
	if _, err := c.Orders(t.Context(), time.Time{}, func(page []shopapi.Found) error {
		for _, found := range page {
			out[found.Order.ID] = found.Body
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// settle waits until no item waits for an attempt.
func (f *liveFixture) settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows, err := f.db.SQL().QueryContext(context.Background(), `SELECT status FROM items`)
		if err != nil {
			t.Fatal(err)
		}
		busy := 0
		for rows.Next() {
			var s enroll.ItemStatus
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			if !s.Done() {
				busy++
			}
		}
		rows.Close()
		if busy == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %d item(s) to settle", busy)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// items is every item's state, to compare before and after.
func (f *liveFixture) items(t *testing.T) string {
	t.Helper()
	rows, err := f.db.SQL().QueryContext(context.Background(), `SELECT id, status, want, refunded, attempts FROM items ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, attempts int64
		var status, want string
		var refunded bool
		if err := rows.Scan(&id, &status, &want, &refunded, &attempts); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%d %s %s %v %d\n", id, status, want, refunded, attempts)
	}
	return b.String()
}

// learner is one learner of the scenario and where they must end.
type learner struct {
	platform enroll.Platform
	order    int64
	course   string
	email    string
	kind     string // what happens to the order: paid, paid later, never paid, refunded, partly refunded
	// enrolled: enrolled in the end; enrolls: how many enrollments the
	// LMS saw; noItem: the order is stored without an item for them.
	enrolled bool
	enrolls  int
	noItem   bool
}

// The receiver is down while 300 orders are placed, some paid later, some
// refunded in whole or in part; a few webhooks got through before. The
// next reconciliation, through Shopify's throttle and a 429, puts every
// learner in the right state, each enrolled once; the webhooks that then
// arrive late change nothing; a second reconciliation finds nothing.
func TestReconcileAfterAnOutage(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newLiveFixture(t, db)
		sh, wc := f.shopify, f.woo
		var want []learner
		var shopifyRefunds [][2]int64

		// While the receiver is up: a few orders arrive by webhook.
		var early []int64
		for i := range 150 {
			a, b := fmt.Sprintf("s%d-a@example.com", i), fmt.Sprintf("s%d-b@example.com", i)
			o := shopifytest.Order{Email: fmt.Sprintf("buyer-s%d@example.com", i),
				Lines: []shopifytest.Line{{SKU: courseS, Learners: []string{a}}}}
			switch i % 5 {
			case 1, 2:
				o.FinancialStatus = "PENDING"
			case 4:
				o.Lines = append(o.Lines, shopifytest.Line{SKU: courseT, Learners: []string{b}})
			}
			o = sh.AddOrder(o)
			switch i % 5 {
			case 0:
				want = append(want, learner{platform: enroll.Shopify, order: o.ID, kind: "paid", course: courseS, email: a, enrolled: true, enrolls: 1})
			case 1: // the first ones' orders/create got through, unpaid
				if i < 50 {
					early = append(early, o.ID)
				}
				want = append(want, learner{platform: enroll.Shopify, order: o.ID, kind: "paid later", course: courseS, email: a, enrolled: true, enrolls: 1})
			case 2:
				want = append(want, learner{platform: enroll.Shopify, order: o.ID, kind: "never paid", course: courseS, email: a, noItem: true})
			case 3:
				want = append(want, learner{platform: enroll.Shopify, order: o.ID, kind: "refunded", course: courseS, email: a})
			case 4:
				want = append(want, learner{platform: enroll.Shopify, order: o.ID, kind: "partly refunded", course: courseS, email: a, enrolled: true, enrolls: 1},
					learner{platform: enroll.Shopify, order: o.ID, kind: "partly refunded", course: courseT, email: b})
			}
		}
		var wooPartial []int64
		wooLines := map[int64][]int64{}
		for i := range 150 {
			a, b := fmt.Sprintf("w%d-a@example.com", i), fmt.Sprintf("w%d-b@example.com", i)
			o := wootest.NewOrder{Email: fmt.Sprintf("buyer-w%d@example.com", i), Paid: i%5 != 1 && i%5 != 2,
				Lines: []wootest.Line{{SKU: courseW, Meta: map[string]any{"email": a}}}}
			if i%5 == 4 {
				o.Lines = append(o.Lines, wootest.Line{SKU: courseX, Meta: map[string]any{"email": b}})
			}
			id, lines := wc.AddOrder(o)
			wooLines[id] = lines
			switch i % 5 {
			case 0:
				want = append(want, learner{platform: enroll.WooCommerce, order: id, kind: "paid", course: courseW, email: a, enrolled: true, enrolls: 1})
			case 1:
				want = append(want, learner{platform: enroll.WooCommerce, order: id, kind: "paid later", course: courseW, email: a, enrolled: true, enrolls: 1})
			case 2: // the site refuses it unpaid
				want = append(want, learner{platform: enroll.WooCommerce, order: id, kind: "never paid", course: courseW, email: a, noItem: true})
			case 3:
				want = append(want, learner{platform: enroll.WooCommerce, order: id, kind: "refunded", course: courseW, email: a})
			case 4: // the first ones enrolled by their webhook before the refund
				if i < 50 {
					wooPartial = append(wooPartial, id)
				}
				second := learner{platform: enroll.WooCommerce, order: id, kind: "partly refunded", course: courseX, email: b}
				if i < 50 {
					second.enrolls = 1
				}
				want = append(want, learner{platform: enroll.WooCommerce, order: id, kind: "partly refunded", course: courseW, email: a, enrolled: true, enrolls: 1}, second)
			}
		}
		for _, id := range early {
			if got := f.shopifyHook(t, "orders/create", sh.OrderWebhook(id)); got != http.StatusOK {
				t.Fatalf("orders/create of order %d: %d", id, got)
			}
		}
		bodies := f.wooBodies(t)
		for _, id := range wooPartial {
			if got := f.wooHook(t, bodies[id]); got != http.StatusOK {
				t.Fatalf("order.created of order %d: %d", id, got)
			}
		}
		f.settle(t)

		// The receiver is down: orders are paid and refunded.
		sh.Advance(time.Second)
		wc.Advance(time.Minute)
		for _, o := range sh.Orders() {
			switch kindOf(want, enroll.Shopify, o.ID) {
			case "paid later":
				sh.Pay(o.ID)
			case "refunded":
				r := sh.RefundLines(o.ID)
				shopifyRefunds = append(shopifyRefunds, [2]int64{o.ID, r.ID})
			case "partly refunded":
				r := sh.RefundLines(o.ID, shopifytest.RefundLine{LineItemID: o.Lines[1].ID, Quantity: 1})
				shopifyRefunds = append(shopifyRefunds, [2]int64{o.ID, r.ID})
			}
		}
		for id, lines := range wooLines {
			switch kindOf(want, enroll.WooCommerce, id) {
			case "paid later":
				wc.Pay(id)
			case "refunded":
				wc.Refund(id, map[int64]int{lines[0]: 1})
			case "partly refunded":
				wc.Refund(id, map[int64]int{lines[1]: 1})
			}
		}

		// The next reconciliation, slowed by Shopify's throttle.
		sh.SetThrottle(300, 50)
		sh.Answer429(1, time.Second)
		reports := f.reconcile(t, f.o, ops.ReconcileOptions{StartedBy: store.ReconcilePeriodic})
		if len(reports) != 2 {
			t.Fatalf("%d reports", len(reports))
		}
		s, w := reports[0].Run, reports[1]
		if s.Seen != 150 || s.Missing != 150-len(early) || s.Stale != len(early) || s.Refunds != 60 {
			t.Errorf("Shopify: seen %d, missing %d, stale %d, refunds %d; want 150, %d, %d, 60", s.Seen, s.Missing, s.Stale, s.Refunds,
				150-len(early), len(early))
		}
		if !strings.Contains(strings.Join(s.Warnings, "\n"), "waited") {
			t.Errorf("Shopify: no wait for the throttle in %q", s.Warnings)
		}
		if w.Run.Seen != 150 || w.Run.Missing != 120-len(wooPartial) || w.Run.Stale != len(wooPartial) || w.Run.Refunds != 60 || w.Unpaid != 30 {
			t.Errorf("WooCommerce: seen %d, missing %d, stale %d, refunds %d, unpaid %d; want 150, %d, %d, 60, 30",
				w.Run.Seen, w.Run.Missing, w.Run.Stale, w.Run.Refunds, w.Unpaid, 120-len(wooPartial), len(wooPartial))
		}
		f.settle(t)
		f.check(t, want)

		// The webhooks come late: each a duplicate or stale.
		before, lmsCalls := f.items(t), len(f.lms.Calls())
		var last int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM deliveries`).Scan(&last); err != nil {
			t.Fatal(err)
		}
		for _, o := range sh.Orders() {
			if got := f.shopifyHook(t, "orders/create", sh.OrderWebhook(o.ID)); got != http.StatusOK {
				t.Errorf("late orders/create of %d: %d", o.ID, got)
			}
			if o.FinancialStatus != "PENDING" {
				if got := f.shopifyHook(t, "orders/paid", sh.OrderWebhook(o.ID)); got != http.StatusOK {
					t.Errorf("late orders/paid of %d: %d", o.ID, got)
				}
			}
		}
		for _, r := range shopifyRefunds {
			if got := f.shopifyHook(t, "refunds/create", sh.RefundWebhook(r[0], r[1])); got != http.StatusOK {
				t.Errorf("late refunds/create of %d: %d", r[0], got)
			}
		}
		for id, body := range f.wooBodies(t) {
			wantStatus := http.StatusOK
			if kindOf(want, enroll.WooCommerce, id) == "never paid" {
				wantStatus = http.StatusPaymentRequired
			}
			if got := f.wooHook(t, body); got != wantStatus {
				t.Errorf("late order.updated of %d: %d, want %d", id, got, wantStatus)
			}
		}
		rows, err := db.SQL().QueryContext(ctx, `SELECT id, status, reason FROM deliveries WHERE id > $1`, last)
		if err != nil {
			t.Fatal(err)
		}
		late := 0
		for rows.Next() {
			var id int64
			var status int
			var reason string
			if err := rows.Scan(&id, &status, &reason); err != nil {
				t.Fatal(err)
			}
			late++
			if status == http.StatusOK && reason != store.ReasonDuplicate && reason != store.ReasonStale {
				t.Errorf("late delivery %d changed its order (reason %q)", id, reason)
			}
		}
		rows.Close()
		if late == 0 {
			t.Error("no late delivery stored")
		}
		f.settle(t)
		if after := f.items(t); after != before {
			t.Errorf("late webhooks changed items:\nbefore\n%s\nafter\n%s", before, after)
		}
		if n := len(f.lms.Calls()); n != lmsCalls {
			t.Errorf("late webhooks made %d LMS calls", n-lmsCalls)
		}
		f.check(t, want)

		// The next run finds nothing.
		for _, r := range f.reconcile(t, f.o, ops.ReconcileOptions{StartedBy: store.ReconcilePeriodic}) {
			if r.Run.Missing+r.Run.Stale+r.Run.Refunds != 0 || len(r.Found) != 0 {
				t.Errorf("%s: the second run found %+v", r.Shop, r.Found)
			}
		}
	})
}

// kindOf is what happens to an order of the scenario.
func kindOf(want []learner, p enroll.Platform, id int64) string {
	for _, l := range want {
		if l.platform == p && l.order == id {
			return l.kind
		}
	}
	panic(fmt.Sprintf("no order %d", id))
}

// check checks every learner's item and the LMS's enrollments.
func (f *liveFixture) check(t *testing.T, want []learner) {
	t.Helper()
	ctx := context.Background()
	orders := map[int64]store.OrderRecord{}
	for _, l := range want {
		o, ok := orders[l.order]
		if !ok {
			source := f.shopify.Domain()
			if l.platform == enroll.WooCommerce {
				source = f.woo.URL
			}
			var err error
			if o, err = f.db.FindOrder(ctx, l.platform, source, l.order); err != nil {
				if l.kind == "never paid" && l.platform == enroll.WooCommerce {
					continue // refused unpaid: not stored
				}
				t.Fatalf("%s order %d (%s): %v", l.platform, l.order, l.kind, err)
			}
			orders[l.order] = o
		}
		var item *store.ItemRecord
		for i := range o.Items {
			if o.Items[i].SKU == l.course && o.Items[i].Email == l.email {
				item = &o.Items[i]
			}
		}
		switch {
		case l.noItem:
			if item != nil || o.Status != enroll.OrderAwaitingPayment {
				t.Errorf("%s order %d (%s): %s with %d items, want awaiting payment without", l.platform, l.order, l.kind, o.Status, len(o.Items))
			}
			continue
		case item == nil:
			t.Errorf("%s order %d (%s): no item for %s in %s", l.platform, l.order, l.kind, l.email, l.course)
			continue
		}
		wantStatus := enroll.ItemUnenrolled
		if l.enrolled {
			wantStatus = enroll.ItemEnrolled
		}
		if item.Status != wantStatus || f.lms.Enrolled(l.course, l.email) != l.enrolled || f.lms.EnrollCount(l.course, l.email) != l.enrolls {
			t.Errorf("%s order %d (%s): %s in %s is %s (in the LMS: enrolled %v, %d enrollment(s)); want %s, %v, %d",
				l.platform, l.order, l.kind, l.email, l.course, item.Status, f.lms.Enrolled(l.course, l.email),
				f.lms.EnrollCount(l.course, l.email), wantStatus, l.enrolled, l.enrolls)
		}
	}
}
