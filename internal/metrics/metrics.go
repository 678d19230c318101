// Package metrics counts what the receiver does, for Prometheus: webhook
// deliveries and their latency, enrollment outcomes, calls to the LMS and
// the backlog of items waiting for it, the shops' webhook subscriptions and
// the orders found only by reconciliation.
//
// Each Metrics has its own registry, so that tests can run several. Every
// method is safe on a nil *Metrics, which counts nothing.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

const namespace = "webhook_receiver"

// Outcomes of a delivery, the outcome label of deliveries_total.
const (
	Accepted  = "accepted"
	Duplicate = "duplicate"
	// Stale: a snapshot of an order older than the one applied; it
	// changed nothing.
	Stale    = "stale"
	Rejected = "rejected"
	Ping     = "ping"
)

// Options configure the metrics.
type Options struct {
	// Version is reported by webhook_receiver_build_info.
	Version string
	// Backlog reads the items waiting for the LMS at each scrape; nil
	// leaves out the queue gauges.
	Backlog func(context.Context) (Backlog, error)
	// BacklogTimeout bounds Backlog and ShopWebhooks (default 2s).
	BacklogTimeout time.Duration
	// ShopWebhooks reads the shops' subscriptions as the last health check
	// stored them, at each scrape; nil leaves out shop_webhook_up.
	ShopWebhooks func(context.Context) ([]ShopWebhook, error)
	// Logger hears of scrape errors; nil discards them.
	Logger *slog.Logger
}

// Metrics are the receiver's collectors on a private registry.
type Metrics struct {
	registry       *prometheus.Registry
	logger         *slog.Logger
	deliveries     *prometheus.CounterVec
	ingest         *prometheus.HistogramVec
	items          *prometheus.CounterVec
	retries        prometheus.Counter
	throttled      prometheus.Counter
	lmsRequests    *prometheus.CounterVec
	lmsDuration    *prometheus.HistogramVec
	tokenRefreshes prometheus.Counter
	reconciled     *prometheus.CounterVec
	privacy        privacy
}

// New registers the receiver's metrics, with the Go runtime's and the
// process's, on a registry of their own.
func New(o Options) *Metrics {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.BacklogTimeout <= 0 {
		o.BacklogTimeout = 2 * time.Second
	}
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		logger:   o.Logger,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "deliveries_total",
			Help: "Webhook deliveries by platform and outcome (accepted, duplicate, stale, rejected, ping); reason names a rejection.",
		}, []string{"platform", "outcome", "reason"}),
		ingest: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "ingest_duration_seconds",
			Help:    "Time from a webhook request's start to its answer.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"platform"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "items_total",
			Help: "Items that reached a final outcome (enrolled, allowed, awaiting_registration, unenrolled, failed).",
		}, []string{"outcome"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "retries_total",
			Help: "Enrollment attempts that failed transiently and will be retried.",
		}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "throttled_total",
			Help: "Enrollment attempts put off by a 429 with Retry-After, without using an attempt.",
		}),
		lmsRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "lms_requests_total",
			Help: "Requests to the LMS by endpoint (token, bulk_enroll, course_lookup, account_lookup, enrollment) and HTTP status (error: no answer).",
		}, []string{"endpoint", "code"}),
		lmsDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "lms_request_duration_seconds",
			Help:    "Duration of requests to the LMS, answered or not.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
		tokenRefreshes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "token_refreshes_total",
			Help: "OAuth2 access tokens obtained from the LMS.",
		}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels tell the version and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": o.Version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	// Final outcomes are few and known: show them at 0 from the start.
	for _, s := range []enroll.ItemStatus{enroll.ItemEnrolled, enroll.ItemAllowed, enroll.ItemAwaitingRegistration,
		enroll.ItemUnenrolled, enroll.ItemFailed} {
		m.items.WithLabelValues(string(s))
	}
	m.reconciled = newReconciled()
	m.privacy = newPrivacy()
	m.registry.MustRegister(m.privacy.collectors()...)
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo, m.deliveries, m.ingest, m.items, m.retries, m.throttled,
		m.lmsRequests, m.lmsDuration, m.tokenRefreshes, m.reconciled,
	)
	if o.Backlog != nil {
		m.registry.MustRegister(newBacklogCollector(o.Backlog, o.BacklogTimeout))
	}
	if o.ShopWebhooks != nil {
		m.registry.MustRegister(newShopsCollector(o.ShopWebhooks, o.BacklogTimeout))
	}
	return m
}

// Handler serves the metrics in the Prometheus formats. A metric that
// cannot be read (the database is down) is left out and logged, and
// promhttp_metric_handler_errors_total counts it; the others are served.
// A nil *Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.InstrumentMetricHandler(m.registry, promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.logger.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.registry,
	}))
}

// Delivery counts a webhook request answered after took. The outcome is
// Accepted, Duplicate, Stale, Rejected or Ping; reason is a short fixed code for
// a rejection (bad_signature, unknown_shop, ...), empty otherwise.
func (m *Metrics) Delivery(p enroll.Platform, outcome, reason string, took time.Duration) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(string(p), outcome, reason).Inc()
	m.ingest.WithLabelValues(string(p)).Observe(took.Seconds())
}

// ItemDone counts an item that reached a final status: enrolled, allowed,
// awaiting_registration, unenrolled or failed.
func (m *Metrics) ItemDone(s enroll.ItemStatus) {
	if m == nil {
		return
	}
	m.items.WithLabelValues(string(s)).Inc()
}

// Retry counts an attempt that failed transiently and will be retried.
func (m *Metrics) Retry() {
	if m == nil {
		return
	}
	m.retries.Inc()
}

// Throttled counts an attempt put off because the LMS answered 429 with Retry-After.
func (m *Metrics) Throttled() {
	if m == nil {
		return
	}
	m.throttled.Inc()
}

// LMSRequest counts a request to an LMS endpoint that took took; status
// is the answer's HTTP status, 0 when no answer came. It makes *Metrics
// an edx.Observer.
func (m *Metrics) LMSRequest(endpoint string, status int, took time.Duration) {
	if m == nil {
		return
	}
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.lmsRequests.WithLabelValues(endpoint, code).Inc()
	m.lmsDuration.WithLabelValues(endpoint).Observe(took.Seconds())
}

// TokenRefreshed counts an access token obtained from the LMS.
func (m *Metrics) TokenRefreshed() {
	if m == nil {
		return
	}
	m.tokenRefreshes.Inc()
}
