package cli_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// proxy forwards TCP connections to a database server and can be cut off
// and restored, as if the server went away and came back.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{addr: freeAddr(t), target: target}
	p.up(t)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

// down refuses new connections and breaks the open ones.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func ready(s *service) int {
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDatabaseOutage(t *testing.T) {
	lms := edxtest.New(t)
	e := baseEnv(t, lms, store.Postgres)
	u, err := url.Parse(storetest.URL(t, store.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.addr
	e["WEBHOOK_RECEIVER_DATABASE_URL"] = u.String()
	s := serve(t, e)

	var acknowledged []string
	order := func(i int) int {
		email := fmt.Sprintf("o%d@example.com", i)
		status := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret", shopifyOrder(int64(700+i), "course-v1:Org+Out+1", email))
		if status == 200 {
			acknowledged = append(acknowledged, email)
		}
		return status
	}
	for i := range 5 {
		if got := order(i); got != 200 {
			t.Fatalf("before the outage: %d", got)
		}
	}

	p.down()
	for i := 5; i < 10; i++ {
		if got := order(i); got != http.StatusServiceUnavailable {
			t.Errorf("webhook during the outage = %d; want 503 so the shop delivers it again", got)
		}
	}
	if got := ready(s); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage = %d; want 503", got)
	}

	p.up(t)
	deadline := time.Now().Add(30 * time.Second)
	for ready(s) != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not recover:\n%s", s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i := 5; i < 15; i++ { // the shop's redeliveries, and new orders
		if got := order(i); got != 200 {
			t.Errorf("after the outage: %d", got)
		}
	}
	for _, email := range acknowledged {
		waitEnrolled(t, lms, "course-v1:Org+Out+1", email)
	}
}
