package cli

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// serveProfiler serves Go's profiler on ln, a loopback address
// (WEBHOOK_RECEIVER_PPROF_LISTEN), when it is not nil. Its server has no
// write timeout: a CPU profile answers after the seconds it was asked for.
// The returned function stops it.
func serveProfiler(ln net.Listener, logger *slog.Logger) (stop func()) {
	if ln == nil {
		return func() {}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	logger.Info("serving the profiler", "addr", ln.Addr().String())
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			logger.Warn("profiler", "error", err)
		}
	}()
	return func() {
		srv.Close()
		<-done
	}
}
