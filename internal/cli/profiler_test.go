package cli_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// TestPprofListen: with WEBHOOK_RECEIVER_PPROF_LISTEN, the profiler is
// served on that address only, and stops with the service.
func TestPprofListen(t *testing.T) {
	e := baseEnv(t, edxtest.New(t), store.SQLite)
	addr := freeAddr(t)
	e["WEBHOOK_RECEIVER_PPROF_LISTEN"] = addr
	s := serve(t, e)
	for _, tt := range []struct {
		url  string
		want int
	}{
		{"http://" + addr + "/debug/pprof/", http.StatusOK},
		{"http://" + addr + "/debug/pprof/profile?seconds=1", http.StatusOK},
		{s.url + "/debug/pprof/", http.StatusNotFound},
	} {
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: %d, want %d", tt.url, resp.StatusCode, tt.want)
		}
	}
	s.stop(t)
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Errorf("the profiler's address still accepts connections after shutdown")
	}
}
