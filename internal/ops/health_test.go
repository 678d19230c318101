package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// logLines collects JSON log lines, for what an operator reads in them.
type logLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logLines) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// lines returns the lines with this message.
func (l *logLines) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// healthFixture is both fakes' shops subscribed at base, with the public
// URL configured.
func healthFixture(t *testing.T, db *store.DB) (*fakeShops, *ops.Ops) {
	f := newFakeShops(t)
	f.cfg.PublicURL = base
	f.subscribe(t, false)
	return f, &ops.Ops{DB: db, Config: f.cfg}
}

func checkShops(t *testing.T, o *ops.Ops, f *fakeShops, logs *logLines) []ops.ShopHealth {
	t.Helper()
	hs, err := o.CheckShops(context.Background(), ops.CheckOptions{HTTPClient: f.client, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

// webhooks maps "source topic" to each stored subscription's state.
func webhooks(t *testing.T, db *store.DB) map[string]store.ShopWebhook {
	t.Helper()
	checks, err := db.ShopChecks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.ShopWebhook{}
	for _, c := range checks {
		for _, w := range c.Webhooks {
			out[c.Source+" "+w.Topic] = w
		}
	}
	return out
}

// TestCheckShopsFindsWebhooksDown checks the shops' subscriptions while
// they are right, then after WooCommerce disabled a webhook and the
// Shopify shop lost one and had another pointed elsewhere: one check
// finds each down, stores it, opens its outage and logs it once at ERROR;
// the next check logs it again, and the outage stays one.
func TestCheckShopsFindsWebhooksDown(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		f, o := healthFixture(t, db)
		logs := &logLines{}
		hs := checkShops(t, o, f, logs)
		if len(hs) != 2 {
			t.Fatalf("%d shops checked; want 2", len(hs))
		}
		for key, w := range webhooks(t, db) {
			if !w.Up || w.State != "active" || !strings.HasPrefix(w.Address, base+"/webhooks/") {
				t.Errorf("%s: %+v; want up", key, w)
			}
		}
		if n := len(webhooks(t, db)); n != 6 {
			t.Errorf("%d subscriptions stored; want 6", n)
		}
		if l := logs.lines(t, "shop webhook down"); len(l) != 0 {
			t.Errorf("webhooks down logged while all are up: %s", logs)
		}

		wooCreated := f.woo.Webhooks()[0]
		f.woo.DisableWebhook(wooCreated.ID)
		subs := f.shopify.Subscriptions()
		f.shopify.DeleteSubscription(subs[2].ID)                                       // ORDERS_CANCELLED
		f.shopify.PointSubscription(subs[1].ID, "https://old.example.com/orders/paid") // ORDERS_PAID
		for range 2 {
			checkShops(t, o, f, logs)
		}
		got := webhooks(t, db)
		sh, wc := f.cfg.Shopify[0].Domain, f.cfg.WooCommerce[0].Source
		want := map[string]store.ShopWebhook{
			wc + " order.created":    {State: "disabled", Address: base + "/webhooks/woocommerce/order/create"},
			sh + " ORDERS_CANCELLED": {State: "missing", Address: base + "/webhooks/shopify/order/cancelled"},
			sh + " ORDERS_PAID":      {State: "points elsewhere", Address: "https://old.example.com/orders/paid"},
		}
		for key, w := range got {
			d, down := want[key]
			if w.Up == down || (down && (w.State != d.State || w.Address != d.Address || w.DownSince.IsZero())) {
				t.Errorf("%s: %+v; want down %v %+v", key, w, down, d)
			}
		}
		errs := logs.lines(t, "shop webhook down")
		if len(errs) != 2*len(want) {
			t.Errorf("%d ERROR lines over two checks; want %d:\n%s", len(errs), 2*len(want), logs)
		}
		for _, l := range errs {
			w, ok := want[l["shop"].(string)+" "+l["topic"].(string)]
			if l["level"] != "ERROR" || !ok || l["state"] != w.State || l["address"] != w.Address {
				t.Errorf("log line %v; want ERROR naming a subscription down, its state and address", l)
			}
		}
		for _, secret := range []string{shopifytest.Token, f.woo.ConsumerKey, f.woo.ConsumerSecret, "woo secret"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log shows a secret:\n%s", logs)
			}
		}
		outages, err := db.Outages(context.Background(), time.Time{})
		if err != nil || len(outages) != len(want) {
			t.Fatalf("outages %+v, %v; want one per subscription down", outages, err)
		}
		for _, out := range outages {
			if !out.UpAt.IsZero() || out.Repaired {
				t.Errorf("outage %+v; want open", out)
			}
		}
		// Without repair, nothing was changed.
		if h := f.woo.Webhooks()[0]; h.Status != "disabled" || len(f.shopify.Subscriptions()) != 3 {
			t.Errorf("the check changed the shops: %+v, %+v", h, f.shopify.Subscriptions())
		}

		// Made right by hand: the next check closes the outages, not repaired.
		f.subscribe(t, false)
		checkShops(t, o, f, logs)
		outages, _ = db.Outages(context.Background(), time.Time{})
		for _, out := range outages {
			if out.UpAt.IsZero() || out.Repaired {
				t.Errorf("outage %+v; want closed, not by a repair", out)
			}
		}
	})
}

// TestCheckShopsAPIFailure records a check whose API call failed with the
// error, and keeps the subscriptions as last seen.
func TestCheckShopsAPIFailure(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		f, o := healthFixture(t, db)
		logs := &logLines{}
		checkShops(t, o, f, logs)
		f.shopify.SetToken("another token")
		hs := checkShops(t, o, f, logs)
		if hs[0].Report.Err == nil || hs[0].Check.Error == "" {
			t.Fatalf("check %+v: want the API's error", hs[0])
		}
		checks, err := db.ShopChecks(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range checks {
			if c.Platform == enroll.Shopify && (c.Error == "" || len(c.Webhooks) != 4 || !c.Webhooks[0].Up) {
				t.Errorf("check %+v: want the error, the subscriptions as last seen", c)
			}
			if c.Platform == enroll.Shopify && c.APIVersion == "" || c.Platform == enroll.WooCommerce && c.APIVersion != "wc/v3" {
				t.Errorf("check %+v: no API version", c)
			}
		}
		if len(logs.lines(t, "shop check failed")) != 1 {
			t.Errorf("the failure is not logged:\n%s", logs)
		}
	})
}

// TestCheckShopsRepairsShopify finds a deleted and a moved Shopify
// subscription with repair on: the shop is reconciled, both are made right
// at the public URL, and their outages are closed as repaired.
func TestCheckShopsRepairsShopify(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		f, o := healthFixture(t, db)
		o.Config.Shopify[0].Repair = true
		subs := f.shopify.Subscriptions()
		f.shopify.DeleteSubscription(subs[0].ID)
		f.shopify.PointSubscription(subs[3].ID, "https://old.example.com/webhooks/shopify/refund/create")
		logs := &logLines{}
		hs := checkShops(t, o, f, logs)
		if hs[0].RepairErr != nil || len(hs[0].Repair) != 4 {
			t.Fatalf("repair: %+v", hs[0])
		}
		for key, w := range webhooks(t, db) {
			if !w.Up {
				t.Errorf("%s: %+v; want up after the repair", key, w)
			}
		}
		outages, err := db.Outages(context.Background(), time.Time{})
		if err != nil || len(outages) != 2 {
			t.Fatalf("outages %+v, %v; want two", outages, err)
		}
		for _, out := range outages {
			if out.UpAt.IsZero() || !out.Repaired {
				t.Errorf("outage %+v; want closed by the repair", out)
			}
		}
		byURL := map[string]string{}
		for _, s := range f.shopify.Subscriptions() {
			byURL[s.URI] = s.Topic
		}
		if byURL[base+"/webhooks/shopify/order/create"] != "ORDERS_CREATE" || byURL[base+"/webhooks/shopify/refund/create"] != "REFUNDS_CREATE" {
			t.Errorf("subscriptions after the repair: %+v", f.shopify.Subscriptions())
		}
		if l := logs.lines(t, "shop webhook repaired"); len(l) != 2 || l[0]["level"] != "INFO" {
			t.Errorf("repairs logged: %v\n%s", l, logs)
		}
		runs, err := db.ReconcileRuns(context.Background(), enroll.Shopify, f.cfg.Shopify[0].Domain, 10)
		if err != nil || len(runs) != 1 || runs[0].StartedBy != store.ReconcileRepair {
			t.Errorf("reconciliations %+v, %v; want one, started by the repair", runs, err)
		}
		// The next check finds them up and does nothing.
		checkShops(t, o, f, logs)
		if l := logs.lines(t, "shop webhook repaired"); len(l) != 2 {
			t.Errorf("repaired again: %s", logs)
		}
	})
}

// TestCheckShopsRepairsWooCommerce: WooCommerce disabled a webhook after
// failed deliveries, and orders were placed meanwhile. One check with
// repair finds it down, reconciles the orders placed (stored, their items
// enqueued), re-enables the webhook, and closes the outage as repaired.
func TestCheckShopsRepairsWooCommerce(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f, _ := healthFixture(t, db)
		o := newOps(t, db, f.cfg)
		o.Config.WooCommerce[0].Repair = true
		o.Now = func() time.Time { return f.woo.Now().Add(time.Hour) } // the lookback reaches the site's orders
		hook := f.woo.Webhooks()[0]
		f.woo.DisableWebhook(hook.ID)
		var ids []int64
		for _, email := range []string{"a@example.com", "b@example.com"} {
			id, _ := f.woo.AddOrder(wootest.NewOrder{Email: email, Paid: true,
				Lines: []wootest.Line{{SKU: "course-v1:Org+Missed+1", Meta: map[string]any{"email": email}}}})
			ids = append(ids, id)
		}
		logs := &logLines{}
		hs := checkShops(t, o, f, logs)
		var h ops.ShopHealth
		for _, x := range hs {
			if x.Report.Platform == enroll.WooCommerce {
				h = x
			}
		}
		if h.RepairErr != nil || len(h.Reconciled) != 1 || h.Reconciled[0].Run.Missing != 2 {
			t.Fatalf("repair %+v; want the two orders reconciled", h)
		}
		for _, id := range ids {
			order, err := db.FindOrder(ctx, enroll.WooCommerce, strings.TrimRight(f.cfg.WooCommerce[0].Source, "/"), id)
			if err != nil || len(order.Items) != 1 {
				t.Errorf("order %d: %+v, %v; want it stored with its item", id, order, err)
			}
		}
		if n := jobCount(t, db); n != 2 {
			t.Errorf("%d jobs enqueued; want one per item", n)
		}
		if got := f.woo.Webhooks()[0]; got.ID != hook.ID || got.Status != "active" {
			t.Errorf("webhook %+v; want re-enabled", got)
		}
		outages, err := db.Outages(ctx, time.Time{})
		if err != nil || len(outages) != 1 || !outages[0].Repaired || outages[0].UpAt.IsZero() || outages[0].State != "disabled" {
			t.Errorf("outages %+v, %v; want one, disabled, closed by the repair", outages, err)
		}
		l := logs.lines(t, "shop webhook repaired")
		if len(l) != 1 || l[0]["topic"] != "order.created" || l[0]["reconciled_missing"] != float64(2) || l[0]["was"] != "disabled" {
			t.Errorf("repair logged as %v:\n%s", l, logs)
		}
		if len(logs.lines(t, "shop webhook down")) != 1 {
			t.Errorf("the subscription down is not logged once:\n%s", logs)
		}
	})
}
