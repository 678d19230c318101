package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/server"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// newMetrics returns the process's metrics, with the backlog and the
// configured shops' subscriptions read from db at each scrape. The
// reconciled orders of each shop with API access start at 0.
func newMetrics(cfg config.Config, db *store.DB, logger *slog.Logger) *metrics.Metrics {
	m := metrics.New(metrics.Options{
		Version: version,
		Backlog: func(ctx context.Context) (metrics.Backlog, error) {
			b, err := db.Backlog(ctx)
			return metrics.Backlog{Pending: b.Pending, Retrying: b.Retrying, Oldest: b.Oldest}, err
		},
		ShopWebhooks: func(ctx context.Context) ([]metrics.ShopWebhook, error) {
			checks, err := db.ShopChecks(ctx)
			var out []metrics.ShopWebhook
			for _, c := range checks {
				if !checkedShop(cfg, c.Platform, c.Source) {
					continue // no longer configured, or no longer checked
				}
				for _, w := range c.Webhooks {
					out = append(out, metrics.ShopWebhook{Shop: c.Source, Topic: w.Topic, Up: w.Up})
				}
			}
			return out, err
		},
		Logger: logger,
	})
	for _, s := range cfg.ShopRefs() {
		if s.HasAPI {
			m.Reconciled(s.Name, 0, 0)
		}
	}
	return m
}

// checkedShop reports whether a shop is configured with API access: the
// health check checks it.
func checkedShop(cfg config.Config, p enroll.Platform, source string) bool {
	s, ok := cfg.FindShop(p, source)
	return ok && s.HasAPI
}

// serveMetrics serves /metrics alone on ln, the listener of
// WEBHOOK_RECEIVER_METRICS_LISTEN (nil when that is not set), until the
// returned shutdown is called; an error that ends serving before that is
// sent on failed.
func serveMetrics(ln net.Listener, deps server.Deps, failed chan<- error) (shutdown func(context.Context) error) {
	if ln == nil {
		return func(context.Context) error { return nil }
	}
	srv := newHTTPServer(server.NewMetricsServer(deps), deps.Logger)
	deps.Logger.Info("serving metrics", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("metrics: %w", err)
		}
	}()
	return srv.Shutdown
}
