package metrics

import "github.com/prometheus/client_golang/prometheus"

// privacy counts redactions and what retention purged.
type privacy struct {
	redactions     *prometheus.CounterVec
	redactedOrders prometheus.Counter
	purgedRows     prometheus.Counter
	purgedBytes    prometheus.Counter
}

func newPrivacy() privacy {
	return privacy{
		redactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "redactions_total",
			Help: "Privacy redactions carried out, by topic (customers/redact, shop/redact); redactions by hand are recorded as actions.",
		}, []string{"topic"}),
		redactedOrders: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "redacted_orders_total",
			Help: "Orders whose personal data a redaction erased.",
		}),
		purgedRows: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "purged_deliveries_total",
			Help: "Deliveries whose body, parsed order and headers retention dropped.",
		}),
		purgedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "purged_bytes_total",
			Help: "Bytes of bodies, parsed orders and headers retention dropped.",
		}),
	}
}

func (p privacy) collectors() []prometheus.Collector {
	return []prometheus.Collector{p.redactions, p.redactedOrders, p.purgedRows, p.purgedBytes}
}

// Redaction counts a redaction of a topic that erased orders' personal data.
func (m *Metrics) Redaction(topic string, orders int64) {
	if m == nil {
		return
	}
	m.privacy.redactions.WithLabelValues(topic).Inc()
	m.privacy.redactedOrders.Add(float64(orders))
}

// Purged counts what a purge dropped.
func (m *Metrics) Purged(deliveries, bytes int64) {
	if m == nil {
		return
	}
	m.privacy.purgedRows.Add(float64(deliveries))
	m.privacy.purgedBytes.Add(float64(bytes))
}
