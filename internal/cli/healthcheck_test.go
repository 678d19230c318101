package cli_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/cli"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// TestHealthcheckAsksTheRunningService runs healthcheck against a real
// serve: it asks /readyz (or /healthz with --live) on the configured listen
// address, from the environment, --config or --listen, asks a wildcard
// address on loopback, and prints one line.
func TestHealthcheckAsksTheRunningService(t *testing.T) {
	lms := edxtest.New(t)
	e := baseEnv(t, lms, store.SQLite)
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	// Listening on every address, as in a container: the healthcheck
	// finds it on loopback.
	e["WEBHOOK_RECEIVER_LISTEN"] = ":" + port
	svc := start(t, e, addr, "serve")

	tests := []struct {
		name string
		env  env
		args []string
		want string
	}{
		{"wildcard from the environment", e, nil, "healthy: GET http://127.0.0.1:" + port + "/readyz answered 200 OK: ready\n"},
		{"--live", e, []string{"--live"}, "healthy: GET http://127.0.0.1:" + port + "/healthz answered 200 OK: ok\n"},
		{"0.0.0.0 from --listen", env{}, []string{"--listen", "0.0.0.0:" + port}, "healthy: GET http://127.0.0.1:" + port + "/readyz answered 200 OK: ready\n"},
		{"[::] from --listen", env{}, []string{"--listen", "[::]:" + port}, "healthy: GET http://[::1]:" + port + "/readyz answered 200 OK: ready\n"},
		{"--config", env{}, []string{"--config", writeTemp(t, "listen: 127.0.0.1:"+port+"\n")}, "healthy: GET http://127.0.0.1:" + port + "/readyz answered 200 OK: ready\n"},
		{"WEBHOOK_RECEIVER_CONFIG", env{"WEBHOOK_RECEIVER_CONFIG": writeTemp(t, "listen: localhost:"+port+"\n")}, nil, "healthy: GET http://localhost:" + port + "/readyz answered 200 OK: ready\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := runCmd(t, tt.env, "", append([]string{"healthcheck"}, tt.args...)...)
			if err != nil || out != tt.want {
				t.Errorf("healthcheck = %v, %q (stderr %q); want success, %q", err, out, errOut, tt.want)
			}
		})
	}

	// Once the service has stopped, the healthcheck fails, saying why.
	svc.stop(t)
	_, _, err := runCmd(t, e, "", "healthcheck")
	want := "unhealthy: GET http://127.0.0.1:" + port + "/readyz: dial tcp 127.0.0.1:" + port + ": connect: connection refused"
	if err == nil || err.Error() != want {
		t.Errorf("healthcheck of a stopped service = %v; want %q", err, want)
	}
}

// TestHealthcheckFailures: an answer other than 200 fails with the status
// and the body on one line, a service that does not answer in time fails
// after --timeout, and a bad listen address names its source.
func TestHealthcheckFailures(t *testing.T) {
	notReady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
	}))
	defer notReady.Close()
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the client gives up
	}))
	defer hanging.Close()
	hangingAddr := strings.TrimPrefix(hanging.URL, "http://")
	notReadyAddr := strings.TrimPrefix(notReady.URL, "http://")

	tests := []struct {
		name string
		env  env
		args []string
		want string
	}{
		{"503", env{"WEBHOOK_RECEIVER_LISTEN": notReadyAddr}, nil,
			"unhealthy: GET " + notReady.URL + "/readyz answered 503 Service Unavailable: database unavailable"},
		{"timeout", env{}, []string{"--listen", hangingAddr, "--timeout", "100ms"},
			"unhealthy: GET " + hanging.URL + "/readyz: context deadline exceeded"},
		{"bad address", env{"WEBHOOK_RECEIVER_LISTEN": "8000"}, nil,
			`configuration: WEBHOOK_RECEIVER_LISTEN: must be host:port or :port, got "8000"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runCmd(t, tt.env, "", append([]string{"healthcheck"}, tt.args...)...)
			if err == nil || err.Error() != tt.want || out != "" {
				t.Errorf("healthcheck = %v, stdout %q; want %q", err, out, tt.want)
			}
		})
	}
	if _, _, err := runCmd(t, env{}, "", "healthcheck", "--timeout", "0s"); !errors.Is(err, cli.ErrUsage) {
		t.Errorf("healthcheck --timeout 0s = %v; want a usage error", err)
	}
}
