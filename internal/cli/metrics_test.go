package cli_test

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics/metricstest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// waitItemsDone scrapes url until n items have reached a final outcome.
func waitItemsDone(t *testing.T, url string, n float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := metricstest.Scrape(t, url)
		done := got[`webhook_receiver_items_total{outcome="enrolled"}`] + got[`webhook_receiver_items_total{outcome="allowed"}`] +
			got[`webhook_receiver_items_total{outcome="failed"}`]
		if done >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v of %v items done; metrics: %v", done, n, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMetricsCountWhatHappened(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		lms.AddSKU("sku/LOOKUP-1", "course-v1:Org+Lookup+1")
		lms.SetIdentifier("allowed@example.com", edxtest.NoAccount)
		lms.SetIdentifier("invalid@example.com", edxtest.Invalid)
		lms.FailNext(1, http.StatusServiceUnavailable) // one item is retried
		e := baseEnv(t, lms, d)
		e["WEBHOOK_RECEIVER_SKU_PREFIX"] = "sku/"
		s := serve(t, e)
		const domain, secret = "first.myshopify.com", "shopify-webhook-secret"
		const wooSource, wooSecret = "https://shop.example.com/", "woo,commerce secret"

		// One course per order: one job and one bulk-enroll call per item.
		first := shopifyOrder(1001, "course-v1:Org+A+1", "enrolled@example.com")
		other := shopifyOrder(1004, "course-v1:Org+A+1", "x@example.com")
		for _, step := range []struct {
			name   string
			send   func() int
			status int
		}{
			{"enrolled", func() int { return s.postShopify(t, domain, secret, first) }, 200},
			{"allowed", func() int {
				return s.postShopify(t, domain, secret, shopifyOrder(1002, "course-v1:Org+B+1", "allowed@example.com"))
			}, 200},
			{"failed, course looked up", func() int {
				return s.postShopify(t, domain, secret, shopifyOrder(1003, "LOOKUP-1", "invalid@example.com"))
			}, 200},
			{"duplicate", func() int { return s.postShopify(t, domain, secret, first) }, 200},
			{"bad signature", func() int { return s.postShopify(t, domain, "wrong secret", other) }, 403},
			{"unknown shop", func() int { return s.postShopify(t, "other.myshopify.com", secret, other) }, 403},
			{"missing header", func() int { return s.post(t, "/webhooks/shopify/order/create", nil, other) }, 400},
			{"woocommerce ping", func() int {
				return s.post(t, "/webhooks/woocommerce/order/create",
					map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "webhook_id=12")
			}, 200},
			{"woocommerce unpaid", func() int {
				return s.postWoo(t, wooSource, wooSecret, `{"id": 77, "date_paid_gmt": null, "billing": {"email": "b@example.com"},
					"line_items": [{"id": 1, "sku": "course-v1:Org+W+1"}]}`)
			}, 402},
		} {
			if got := step.send(); got != step.status {
				t.Fatalf("%s: status %d, want %d", step.name, got, step.status)
			}
		}

		got := waitItemsDone(t, s.url+"/metrics", 3)
		want := map[string]float64{
			`webhook_receiver_deliveries_total{outcome="accepted",platform="shopify"}`:                         3,
			`webhook_receiver_deliveries_total{outcome="duplicate",platform="shopify"}`:                        1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="shopify",reason="bad_signature"}`:  1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="shopify",reason="unknown_shop"}`:   1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="shopify",reason="missing_header"}`: 1,
			`webhook_receiver_deliveries_total{outcome="ping",platform="woocommerce"}`:                         1,
			`webhook_receiver_deliveries_total{outcome="rejected",platform="woocommerce",reason="unpaid"}`:     1,
			`webhook_receiver_ingest_duration_seconds_count{platform="shopify"}`:                               7,
			`webhook_receiver_ingest_duration_seconds_count{platform="woocommerce"}`:                           2,

			`webhook_receiver_items_total{outcome="enrolled"}`: 1,
			`webhook_receiver_items_total{outcome="allowed"}`:  1,
			`webhook_receiver_items_total{outcome="failed"}`:   1,
			`webhook_receiver_retries_total`:                   1,
			`webhook_receiver_throttled_total`:                 0,

			`webhook_receiver_lms_requests_total{code="200",endpoint="token"}`:              1,
			`webhook_receiver_lms_requests_total{code="200",endpoint="course_lookup"}`:      1,
			`webhook_receiver_lms_requests_total{code="200",endpoint="bulk_enroll"}`:        3,
			`webhook_receiver_lms_requests_total{code="503",endpoint="bulk_enroll"}`:        1,
			`webhook_receiver_lms_request_duration_seconds_count{endpoint="bulk_enroll"}`:   4,
			`webhook_receiver_lms_request_duration_seconds_count{endpoint="token"}`:         1,
			`webhook_receiver_lms_request_duration_seconds_count{endpoint="course_lookup"}`: 1,
			`webhook_receiver_token_refreshes_total`:                                        1,

			`webhook_receiver_queue_items{status="pending"}`:  0,
			`webhook_receiver_queue_items{status="retrying"}`: 0,
			`webhook_receiver_oldest_pending_age_seconds`:     0,
		}
		if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
			t.Errorf("metrics after the first orders (-want +got):\n%s", diff)
		}
		if n := len(got); n < len(want)+10 {
			t.Errorf("only %d series: the Go and process metrics are missing", n)
		}
		if _, ok := got[`webhook_receiver_build_info{goversion="`+goVersion(got)+`",version="dev"}`]; !ok {
			t.Errorf("build_info missing")
		}

		// Enrollment logs carry what joins them with the orders in the database.
		var logged bool
		for _, line := range strings.Split(s.logs.String(), "\n") {
			var rec struct {
				Msg     string `json:"msg"`
				OrderID int64  `json:"order_id"`
				ItemID  int64  `json:"item_id"`
				Attempt int    `json:"attempt"`
				Outcome string `json:"outcome"`
			}
			if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "enrollment attempt" {
				continue
			}
			if rec.OrderID == 0 || rec.ItemID == 0 || rec.Attempt < 1 || rec.Outcome == "" {
				t.Errorf("enrollment log lacks order_id, item_id, attempt or outcome: %s", line)
			}
			logged = logged || rec.OrderID == 1002 && rec.Outcome == "allowed"
		}
		if !logged {
			t.Errorf("no enrollment log for order 1002:\n%s", s.logs)
		}

		// A 429 with Retry-After puts the item off without using an attempt.
		lms.FailNext(1, http.StatusTooManyRequests)
		if got := s.postShopify(t, domain, secret, shopifyOrder(1007, "course-v1:Org+C+1", "later@example.com")); got != 200 {
			t.Fatalf("order after throttling: status %d", got)
		}
		got = waitItemsDone(t, s.url+"/metrics", 4)
		want = map[string]float64{
			`webhook_receiver_items_total{outcome="enrolled"}`:                       2,
			`webhook_receiver_throttled_total`:                                       1,
			`webhook_receiver_retries_total`:                                         1,
			`webhook_receiver_lms_requests_total{code="429",endpoint="bulk_enroll"}`: 1,
			`webhook_receiver_lms_requests_total{code="200",endpoint="bulk_enroll"}`: 4,
		}
		if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
			t.Errorf("metrics after a throttled call (-want +got):\n%s", diff)
		}
	})
}

// goVersion finds the goversion label of build_info.
func goVersion(samples map[string]float64) string {
	for series := range samples {
		if v, ok := strings.CutPrefix(series, `webhook_receiver_build_info{goversion="`); ok {
			v, _, _ = strings.Cut(v, `"`)
			return v
		}
	}
	return ""
}

func TestMetricsListenServesMetricsAlone(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		e := baseEnv(t, lms, d)
		e["WEBHOOK_RECEIVER_WORKERS"] = "0" // the item stays pending
		metricsAddr := freeAddr(t)
		e["WEBHOOK_RECEIVER_METRICS_LISTEN"] = metricsAddr
		s := serve(t, e)
		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
			shopifyOrder(2001, "course-v1:Org+A+1", "learner@example.com")); got != 200 {
			t.Fatalf("order: status %d", got)
		}

		// With an address of their own, metrics leave the listen address.
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /metrics on the listen address: %d, want 404", resp.StatusCode)
		}
		for _, url := range []string{"http://" + metricsAddr + "/metrics"} {
			got := metricstest.Scrape(t, url)
			want := map[string]float64{
				`webhook_receiver_deliveries_total{outcome="accepted",platform="shopify"}`: 1,
				`webhook_receiver_queue_items{status="pending"}`:                           1,
				`webhook_receiver_queue_items{status="retrying"}`:                          0,
			}
			if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", url, diff)
			}
			if age, ok := got["webhook_receiver_oldest_pending_age_seconds"]; !ok || age < 0 || age > 60 {
				t.Errorf("%s: oldest_pending_age_seconds = %v (reported: %t)", url, age, ok)
			}
		}
		// The metrics address serves nothing else.
		for _, path := range []string{"/healthz", "/readyz", "/webhooks/shopify/order/create"} {
			resp, err := http.Get("http://" + metricsAddr + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s on the metrics address: %d, want 404", path, resp.StatusCode)
			}
		}

		s.stop(t)
		if conn, err := net.Dial("tcp", metricsAddr); err == nil {
			conn.Close()
			t.Errorf("the metrics address still accepts connections after shutdown")
		}
	})
}

func TestWorkerServesItsOwnMetrics(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		e := baseEnv(t, lms, d)
		s, addr := serveWithWorker(t, e)

		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
			shopifyOrder(3001, "course-v1:Org+Split+1", "w@example.com")); got != 200 {
			t.Fatalf("order: %d", got)
		}
		waitEnrolled(t, lms, "course-v1:Org+Split+1", "w@example.com")
		// The worker counts enrollments, the intake process deliveries.
		got := waitItemsDone(t, "http://"+addr+"/metrics", 1)
		want := map[string]float64{
			`webhook_receiver_items_total{outcome="enrolled"}`:                       1,
			`webhook_receiver_lms_requests_total{code="200",endpoint="bulk_enroll"}`: 1,
			`webhook_receiver_queue_items{status="pending"}`:                         0,
		}
		if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
			t.Errorf("worker metrics (-want +got):\n%s", diff)
		}
		got = metricstest.Scrape(t, s.url+"/metrics")
		want = map[string]float64{
			`webhook_receiver_deliveries_total{outcome="accepted",platform="shopify"}`: 1,
			`webhook_receiver_items_total{outcome="enrolled"}`:                         0,
		}
		if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
			t.Errorf("intake metrics (-want +got):\n%s", diff)
		}
	})
}
