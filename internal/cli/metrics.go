package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

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
