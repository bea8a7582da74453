package webhooks

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the service's Prometheus series.
type metrics struct {
	attempts *prometheus.CounterVec // by outcome: success, retry, fail, disable, interrupted
	messages *prometheus.CounterVec // messages finished, by status: delivered, failed
	latency  prometheus.Histogram
	disabled prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, s *Service) (*metrics, error) {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasker_webhook_attempts_total",
			Help: "Webhook delivery attempts, by outcome (success, retry, fail, disable, interrupted).",
		}, []string{"outcome"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tasker_webhook_deliveries_total",
			Help: "Webhook messages finished, by outcome (delivered, failed).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tasker_webhook_attempt_duration_seconds",
			Help:    "Duration of webhook delivery attempts, from sending to the end of the response.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		disabled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tasker_webhook_endpoints_disabled_total",
			Help: "Webhook endpoints disabled by the delivery path (410 Gone or consecutive failures).",
		}),
	}
	for _, c := range []prometheus.Collector{m.attempts, m.messages, m.latency, m.disabled, &stateCollector{s: s}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// stateCollector reads, at scrape time, what only Redis knows across
// replicas: pending messages and disabled endpoints of every workspace.
// The sweep reports each workspace with work to totals kept in one key
// (activity.go), so a scrape is one read whatever the number of
// workspaces and subscriptions; the gauges trail the deliveries by at most
// one sweep (ReapInterval).
type stateCollector struct{ s *Service }

var (
	pendingDesc = prometheus.NewDesc("tasker_webhook_pending_messages",
		"Webhook messages not yet delivered or failed for good (the delivery queue depth).", nil, nil)
	disabledDesc = prometheus.NewDesc("tasker_webhook_endpoints_disabled",
		"Webhook endpoints currently disabled.", nil, nil)
)

// Describe sends the gauges' descriptions.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- disabledDesc
}

// Collect reads the totals; a Redis error skips the scrape's gauges.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pending, disabled, err := c.s.store.totals(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(disabledDesc, prometheus.GaugeValue, float64(disabled))
}
