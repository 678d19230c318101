package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ShopWebhook is a subscription a shop needs, as the last health check
// stored it.
type ShopWebhook struct {
	Shop, Topic string
	Up          bool
}

// shopsCollector reads the shops' subscriptions from the database at each
// scrape, so that every replica reports what the last check saw, whichever
// replica ran it.
type shopsCollector struct {
	read    func(context.Context) ([]ShopWebhook, error)
	timeout time.Duration
	up      *prometheus.Desc
}

func newShopsCollector(read func(context.Context) ([]ShopWebhook, error), timeout time.Duration) *shopsCollector {
	return &shopsCollector{read: read, timeout: timeout,
		up: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "shop_webhook_up"),
			"1 when the shop's webhook subscription of a topic was active at the receiver's address at the last health check, 0 when it was down (disabled, paused, missing, pointing elsewhere).",
			[]string{"shop", "topic"}, nil)}
}

func (c *shopsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.up }

func (c *shopsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	hooks, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.up, err)
		return
	}
	for _, h := range hooks {
		v := 0.0
		if h.Up {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, v, h.Shop, h.Topic)
	}
}

// The reasons of reconciled_orders_total.
const (
	// ReconciledMissing: an order the store did not have at all.
	ReconciledMissing = "missing"
	// ReconciledStale: an order stored with an older snapshot than the
	// shop's, which said something else.
	ReconciledStale = "stale"
)

func newReconciled() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "reconciled_orders_total",
		Help: "Orders that reached the store only through reconciliation against the shop's API, by shop and reason (missing, stale); 0 in a healthy system.",
	}, []string{"shop", "reason"})
}

// Reconciled counts the orders a reconciliation of a shop found missing
// and stale (and stored).
func (m *Metrics) Reconciled(shop string, missing, stale int) {
	if m == nil {
		return
	}
	m.reconciled.WithLabelValues(shop, ReconciledMissing).Add(float64(missing))
	m.reconciled.WithLabelValues(shop, ReconciledStale).Add(float64(stale))
}
