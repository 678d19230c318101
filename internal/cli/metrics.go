package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/server"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// newMetrics returns the process's metrics, with the backlog read from db
// at each scrape.
func newMetrics(db *store.DB, logger *slog.Logger) *metrics.Metrics {
	return metrics.New(metrics.Options{
		Version: version,
		Backlog: func(ctx context.Context) (metrics.Backlog, error) {
			b, err := db.Backlog(ctx)
			return metrics.Backlog{Pending: b.Pending, Retrying: b.Retrying, Oldest: b.Oldest}, err
		},
		Logger: logger,
	})
}

// serveMetrics serves /metrics alone on WEBHOOK_RECEIVER_METRICS_LISTEN,
// when it is set, until the returned shutdown is called; an error that
// ends serving before that is sent on failed.
func serveMetrics(cfg config.Config, deps server.Deps, failed chan<- error) (shutdown func(context.Context) error, err error) {
	if cfg.MetricsListen == "" {
		return func(context.Context) error { return nil }, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (WEBHOOK_RECEIVER_METRICS_LISTEN): %w", cfg.MetricsListen, err)
	}
	srv := newHTTPServer(server.NewMetricsServer(deps), deps.Logger)
	deps.Logger.Info("serving metrics", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("metrics: %w", err)
		}
	}()
	return srv.Shutdown, nil
}
