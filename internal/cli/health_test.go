package cli

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics/metricstest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// lockedBuffer collects a running service's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serveShops runs serve with the shops' fakes reachable, until the
// returned stop is called (or the test ends).
func serveShops(t *testing.T, f *shopsFixture, vars map[string]string) (url string, logs *lockedBuffer, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"WEBHOOK_RECEIVER_LISTEN": addr}
	for k, v := range vars {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs = &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runCommand(ctx, []string{"webhook-receiver", "serve"}, &environment{
			getenv: func(k string) string { return env[k] }, stdout: logs, stderr: logs, httpClient: f.client})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("serve did not stop:\n%s", logs)
		}
	}
	t.Cleanup(stop)
	url = "http://" + addr
	waitFor(t, "serve to be ready", logs, func() bool {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return url, logs, stop
}

func waitFor(t *testing.T, what string, logs *lockedBuffer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s:\n%s", what, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeFindsAndRepairsADisabledWebhook: WooCommerce disabled the
// site's order.created webhook after failed deliveries. serve's health
// check finds it (metric 0, an ERROR line); orders are placed while it is
// down; with repair: true, serve reconciles them (their learners are
// enrolled) and re-enables the webhook (metric 1, reconciled orders
// counted), and check says so.
func TestServeFindsAndRepairsADisabledWebhook(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newShopsFixture(t)
		f.woo.Advance(time.Since(f.woo.Now())) // the site's clock is ours: the lookback reaches its orders
		created := f.woo.AddWebhook(wootest.Webhook{Topic: "order.created", Secret: "woo,commerce secret",
			DeliveryURL: shopsURL + "/webhooks/woocommerce/order/create"})
		f.woo.AddWebhook(wootest.Webhook{Topic: "order.updated", Secret: "woo,commerce secret",
			DeliveryURL: shopsURL + "/webhooks/woocommerce/order/update"})
		f.woo.DisableWebhook(created)
		lms := edxtest.New(t)
		config := func(repair bool) string {
			yaml := "public_url: " + shopsURL + "\nshop_check_every: 1s\nreconcile_every: 0\n" +
				"woocommerce:\n  - source: https://shop.example.com/\n    secrets: [\"woo,commerce secret\"]\n" +
				"    consumer_key: " + wooKey + "\n    consumer_secret: " + wooSecret + "\n"
			if repair {
				yaml += "    repair: true\n"
			}
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			return path
		}
		vars := map[string]string{"WEBHOOK_RECEIVER_DATABASE_URL": storetest.URL(t, d),
			"WEBHOOK_RECEIVER_LMS_BASE_URL": lms.URL, "WEBHOOK_RECEIVER_OAUTH2_KEY": lms.ClientID,
			"WEBHOOK_RECEIVER_OAUTH2_SECRET": lms.ClientSecret, "WEBHOOK_RECEIVER_CONFIG": config(false)}
		const (
			upCreated = `webhook_receiver_shop_webhook_up{shop="https://shop.example.com/",topic="order.created"}`
			upUpdated = `webhook_receiver_shop_webhook_up{shop="https://shop.example.com/",topic="order.updated"}`
			missing   = `webhook_receiver_reconciled_orders_total{reason="missing",shop="https://shop.example.com/"}`
		)

		url, logs, stop := serveShops(t, f, vars)
		waitFor(t, "the check", logs, func() bool {
			m := metricstest.Scrape(t, url+"/metrics")
			_, checked := m[upCreated]
			return checked
		})
		m := metricstest.Scrape(t, url+"/metrics")
		if m[upCreated] != 0 || m[upUpdated] != 1 || m[missing] != 0 {
			t.Errorf("metrics: %s %v, %s %v, %s %v; want down, up, none reconciled", upCreated, m[upCreated],
				upUpdated, m[upUpdated], missing, m[missing])
		}
		if !strings.Contains(logs.String(), `level=ERROR msg="shop webhook down" platform=woocommerce shop=https://shop.example.com/ topic=order.created state=disabled address=`+shopsURL+`/webhooks/woocommerce/order/create`) {
			t.Errorf("no ERROR line for the webhook down:\n%s", logs)
		}
		stop()

		// Orders placed while WooCommerce sends nothing.
		emails := []string{"missed-1@example.com", "missed-2@example.com"}
		const course = "course-v1:Org+Missed+1"
		for _, email := range emails {
			f.woo.AddOrder(wootest.NewOrder{Email: email, Paid: true,
				Lines: []wootest.Line{{SKU: course, Meta: map[string]any{"email": email}}}})
		}
		vars["WEBHOOK_RECEIVER_CONFIG"] = config(true)
		url, logs, stop = serveShops(t, f, vars)
		waitFor(t, "the learners enrolled and the webhook repaired", logs, func() bool {
			m := metricstest.Scrape(t, url+"/metrics")
			return lms.Enrolled(course, emails[0]) && lms.Enrolled(course, emails[1]) && m[upCreated] == 1
		})
		if m := metricstest.Scrape(t, url+"/metrics"); m[missing] != 2 {
			t.Errorf("%s = %v; want 2", missing, m[missing])
		}
		for _, h := range f.woo.Webhooks() {
			if h.Status != "active" {
				t.Errorf("webhook %+v; want re-enabled", h)
			}
		}
		if !strings.Contains(logs.String(), `level=INFO msg="shop webhook repaired" platform=woocommerce shop=https://shop.example.com/ topic=order.created was=disabled did="re-enabled (was disabled)"`) ||
			!strings.Contains(logs.String(), "reconciled_missing=2") {
			t.Errorf("the repair is not logged:\n%s", logs)
		}
		for _, secret := range []string{wooKey, wooSecret, "woo,commerce secret", lms.ClientSecret} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the log shows a secret:\n%s", logs)
			}
		}
		stop()
		if n := lms.Enrollments(); n != 2 {
			t.Errorf("%d enrollments; want each learner once", n)
		}
	})
}
