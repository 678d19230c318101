package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Backlog is the enrollment work waiting for the LMS.
type Backlog struct {
	Pending, Retrying int64
	// Oldest is when the oldest pending or retrying item was stored; zero
	// when there is none.
	Oldest time.Time
}

// backlogCollector reads the backlog from the database at each scrape, so
// that every replica reports the whole queue as it is, not what it saw.
type backlogCollector struct {
	read    func(context.Context) (Backlog, error)
	timeout time.Duration
	items   *prometheus.Desc
	oldest  *prometheus.Desc
}

func newBacklogCollector(read func(context.Context) (Backlog, error), timeout time.Duration) *backlogCollector {
	return &backlogCollector{
		read:    read,
		timeout: timeout,
		items: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "queue_items"),
			"Items waiting for the LMS, by status (pending, retrying).", []string{"status"}, nil),
		oldest: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "oldest_pending_age_seconds"),
			"Age of the oldest pending or retrying item, since it was stored; 0 when there is none.", nil, nil),
	}
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.items
	ch <- c.oldest
}

// Collect has no context of its own: the scrape's is not passed down, so
// the query gets a short one.
func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	b, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.items, err)
		ch <- prometheus.NewInvalidMetric(c.oldest, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.items, prometheus.GaugeValue, float64(b.Pending), string(enroll.ItemPending))
	ch <- prometheus.MustNewConstMetric(c.items, prometheus.GaugeValue, float64(b.Retrying), string(enroll.ItemRetrying))
	var age time.Duration
	if !b.Oldest.IsZero() {
		age = max(time.Since(b.Oldest), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age.Seconds())
}
