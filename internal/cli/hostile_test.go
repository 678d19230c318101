package cli_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

func TestSlowAndIdleClientsDoNotStopWebhooks(t *testing.T) {
	lms := edxtest.New(t)
	s := serve(t, baseEnv(t, lms, store.SQLite))
	addr := s.url[len("http://"):]

	// A client that sends its headers one byte at a time.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	cut := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		for _, b := range []byte("POST /webhooks/shopify/order/create HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 200)) {
			if _, err := slow.Write([]byte{b}); err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		slow.SetReadDeadline(time.Now().Add(30 * time.Second))
		slow.Read(make([]byte, 1)) // returns when the server hangs up
		cut <- time.Since(start)
	}()

	// A thousand connections that never send anything.
	var idle []net.Conn
	for range 1000 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(idle), err)
		}
		idle = append(idle, c)
	}
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()

	// Valid webhooks are still served.
	for i := range 10 {
		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
			shopifyOrder(int64(900+i), "course-v1:Org+Busy+1", fmt.Sprintf("b%d@example.com", i))); got != http.StatusOK {
			t.Fatalf("webhook %d beside slow and idle clients: %d", i, got)
		}
	}
	select {
	case d := <-cut:
		if d < 4*time.Second || d > 15*time.Second {
			t.Errorf("slow client cut off after %v; want about the 5 s ReadHeaderTimeout", d)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the slow client was never cut off")
	}
}
