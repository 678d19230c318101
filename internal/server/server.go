// Package server is the receiver's HTTP face: the webhook endpoints and the
// health checks. Handlers verify, parse and store; they never call the LMS.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Deps are what the server needs.
type Deps struct {
	Logger *slog.Logger
	DB     *store.DB
	// Writer stores deliveries, orders and items and enqueues the items,
	// committing before a webhook is answered.
	Writer *store.Writer
	Config config.Config
	// Metrics count deliveries and serve /metrics; nil counts nothing.
	Metrics *metrics.Metrics
	// Admin is the operator console, served under /admin/; nil when it is
	// not configured.
	Admin http.Handler
	// Rejections records rejected webhook requests, a flood of them as
	// counts (NewRejections); nil counts them without ever writing the
	// counts.
	Rejections *Rejections
	// Now tells the time; defaults to time.Now.
	Now func() time.Time
}

// NewServer returns the receiver's HTTP handler.
func NewServer(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	addRoutes(mux, d)
	return recoverPanics(d.Logger, mux)
}

// NewHealthServer returns a handler with the health endpoints only, for
// processes that run enrollment workers without taking webhooks.
func NewHealthServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	addHealthRoutes(mux, d)
	return recoverPanics(d.Logger, mux)
}

// NewMetricsServer returns a handler that serves /metrics alone, for
// WEBHOOK_RECEIVER_METRICS_LISTEN.
func NewMetricsServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.Metrics.Handler())
	return recoverPanics(d.Logger, mux)
}

func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
}

func handleReady(logger *slog.Logger, db *store.DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err != nil {
			logger.Warn("not ready", "error", err)
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ready\n"))
	})
}

// recoverPanics answers 500 instead of dropping the connection when a
// handler panics, and logs the panic.
func recoverPanics(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.Error("handler panic", "path", r.URL.Path, "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
