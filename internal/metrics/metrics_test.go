package metrics_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics/metricstest"
)

func serve(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCounters(t *testing.T) {
	m := metrics.New(metrics.Options{Version: "v1.2.3"})
	m.Delivery(enroll.Shopify, metrics.Accepted, "", 3*time.Millisecond)
	m.Delivery(enroll.Shopify, metrics.Accepted, "", 5*time.Millisecond)
	m.Delivery(enroll.Shopify, metrics.Duplicate, "", time.Millisecond)
	m.Delivery(enroll.Shopify, metrics.Stale, "", time.Millisecond)
	m.Delivery(enroll.Shopify, metrics.Rejected, "bad_signature", time.Millisecond)
	m.Delivery(enroll.WooCommerce, metrics.Ping, "", time.Millisecond)
	m.ItemDone(enroll.ItemEnrolled)
	m.ItemDone(enroll.ItemEnrolled)
	m.ItemDone(enroll.ItemFailed)
	m.Retry()
	m.Throttled()
	m.Throttled()
	m.LMSRequest("token", 200, 20*time.Millisecond)
	m.LMSRequest("bulk_enroll", 200, 100*time.Millisecond)
	m.LMSRequest("bulk_enroll", 503, 100*time.Millisecond)
	m.LMSRequest("bulk_enroll", 0, 30*time.Second)
	m.TokenRefreshed()

	got := metricstest.Scrape(t, serve(t, m))
	want := map[string]float64{
		`webhook_receiver_build_info{goversion="` + runtime.Version() + `",version="v1.2.3"}`: 1,

		`webhook_receiver_deliveries_total{outcome="accepted",platform="shopify"}`:                        2,
		`webhook_receiver_deliveries_total{outcome="duplicate",platform="shopify"}`:                       1,
		`webhook_receiver_deliveries_total{outcome="stale",platform="shopify"}`:                           1,
		`webhook_receiver_deliveries_total{outcome="rejected",platform="shopify",reason="bad_signature"}`: 1,
		`webhook_receiver_deliveries_total{outcome="ping",platform="woocommerce"}`:                        1,
		`webhook_receiver_ingest_duration_seconds_count{platform="shopify"}`:                              5,
		`webhook_receiver_ingest_duration_seconds_sum{platform="shopify"}`:                                0.011,
		`webhook_receiver_ingest_duration_seconds_count{platform="woocommerce"}`:                          1,

		`webhook_receiver_items_total{outcome="enrolled"}`: 2,
		`webhook_receiver_items_total{outcome="allowed"}`:  0, // shown before the first
		`webhook_receiver_items_total{outcome="failed"}`:   1,
		`webhook_receiver_retries_total`:                   1,
		`webhook_receiver_throttled_total`:                 2,

		`webhook_receiver_lms_requests_total{code="200",endpoint="token"}`:            1,
		`webhook_receiver_lms_requests_total{code="200",endpoint="bulk_enroll"}`:      1,
		`webhook_receiver_lms_requests_total{code="503",endpoint="bulk_enroll"}`:      1,
		`webhook_receiver_lms_requests_total{code="error",endpoint="bulk_enroll"}`:    1,
		`webhook_receiver_lms_request_duration_seconds_count{endpoint="bulk_enroll"}`: 3,
		`webhook_receiver_lms_request_duration_seconds_sum{endpoint="bulk_enroll"}`:   30.2,
		`webhook_receiver_token_refreshes_total`:                                      1,
	}
	if diff := cmp.Diff(want, metricstest.Pick(got, want), cmp.Comparer(approx)); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
	// Without a backlog reader there are no queue gauges; the runtime's and
	// the process's metrics are there.
	for _, name := range []string{"webhook_receiver_queue_items", "webhook_receiver_oldest_pending_age_seconds"} {
		for series := range got {
			if strings.HasPrefix(series, name) {
				t.Errorf("%s reported without a backlog reader", series)
			}
		}
	}
	for _, series := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := got[series]; !ok {
			t.Errorf("%s missing", series)
		}
	}
}

// approx compares sums of float seconds, which need not add up exactly.
func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

func TestEachMetricsHasItsOwnRegistry(t *testing.T) {
	a, b := metrics.New(metrics.Options{}), metrics.New(metrics.Options{})
	a.Retry()
	if got := metricstest.Scrape(t, serve(t, b))["webhook_receiver_retries_total"]; got != 0 {
		t.Errorf("retries of the second = %v, want 0", got)
	}
	if got := metricstest.Scrape(t, serve(t, a))["webhook_receiver_retries_total"]; got != 1 {
		t.Errorf("retries of the first = %v, want 1", got)
	}
}

func TestNilMetricsCountNothing(t *testing.T) {
	var m *metrics.Metrics
	m.Delivery(enroll.Shopify, metrics.Accepted, "", time.Millisecond)
	m.ItemDone(enroll.ItemEnrolled)
	m.Retry()
	m.Throttled()
	m.LMSRequest("token", 200, time.Millisecond)
	m.TokenRefreshed()
	resp, err := http.Get(serve(t, m))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("nil metrics served %d, want 404", resp.StatusCode)
	}
}

func TestBacklog(t *testing.T) {
	oldest := time.Now().Add(-90 * time.Second)
	m := metrics.New(metrics.Options{Backlog: func(ctx context.Context) (metrics.Backlog, error) {
		if _, ok := ctx.Deadline(); !ok {
			return metrics.Backlog{}, errors.New("the backlog query has no deadline")
		}
		return metrics.Backlog{Pending: 7, Retrying: 2, Oldest: oldest}, nil
	}})
	got := metricstest.Scrape(t, serve(t, m))
	if p, r := got[`webhook_receiver_queue_items{status="pending"}`], got[`webhook_receiver_queue_items{status="retrying"}`]; p != 7 || r != 2 {
		t.Errorf("queue_items pending %v, retrying %v; want 7, 2", p, r)
	}
	age, ok := got["webhook_receiver_oldest_pending_age_seconds"]
	if !ok || age < 90 || age > float64(time.Since(oldest)/time.Second)+1 {
		t.Errorf("oldest_pending_age_seconds = %v (reported: %t), want about 90", age, ok)
	}

	empty := metrics.New(metrics.Options{Backlog: func(context.Context) (metrics.Backlog, error) {
		return metrics.Backlog{}, nil
	}})
	got = metricstest.Scrape(t, serve(t, empty))
	want := map[string]float64{
		`webhook_receiver_queue_items{status="pending"}`:  0,
		`webhook_receiver_queue_items{status="retrying"}`: 0,
		`webhook_receiver_oldest_pending_age_seconds`:     0,
	}
	if diff := cmp.Diff(want, metricstest.Pick(got, want)); diff != "" {
		t.Errorf("empty backlog (-want +got):\n%s", diff)
	}
}

func TestBacklogErrorLeavesTheRest(t *testing.T) {
	var logs strings.Builder
	m := metrics.New(metrics.Options{
		Backlog: func(context.Context) (metrics.Backlog, error) {
			return metrics.Backlog{}, errors.New("database is locked")
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	m.Retry()
	got := metricstest.Scrape(t, serve(t, m))
	if got["webhook_receiver_retries_total"] != 1 {
		t.Errorf("retries_total = %v, want 1: a failed backlog must not hide the other metrics", got["webhook_receiver_retries_total"])
	}
	for series := range got {
		if strings.HasPrefix(series, "webhook_receiver_queue_items") || strings.HasPrefix(series, "webhook_receiver_oldest_pending_age_seconds") {
			t.Errorf("%s reported although the backlog could not be read", series)
		}
	}
	// The error is counted at the next scrape, and logged.
	got = metricstest.Scrape(t, serve(t, m))
	if n := got[`promhttp_metric_handler_errors_total{cause="gathering"}`]; n < 1 {
		t.Errorf("promhttp_metric_handler_errors_total{cause=\"gathering\"} = %v, want at least 1", n)
	}
	if !strings.Contains(logs.String(), "database is locked") {
		t.Errorf("backlog error not logged; logs:\n%s", logs.String())
	}
}
