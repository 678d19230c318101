package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

func TestInflightKeepsRoomForSmallBodies(t *testing.T) {
	b := newInflight(32<<20, 5<<20) // a quarter kept: 24 MiB for large bodies
	for i := range 4 {
		if !b.reserve(0, 5<<20) {
			t.Fatalf("large body %d refused with %d bytes in use", i, b.used)
		}
	}
	if b.reserve(0, 5<<20) {
		t.Fatal("a fifth large body fits in the three quarters of the budget")
	}
	if !b.reserve(0, smallBody) || !b.reserve(smallBody/2, smallBody/2) {
		t.Fatal("small bodies refused while large ones hold three quarters")
	}
	b.release(smallBody + smallBody/2)
	for range 4 {
		b.release(5 << 20)
	}
	if b.used != 0 {
		t.Fatalf("%d bytes in use after every release", b.used)
	}
	// A budget of one largest body keeps nothing back.
	b = newInflight(5<<20, 5<<20)
	if !b.reserve(0, 5<<20) || b.reserve(0, 1) {
		t.Errorf("budget of one body: used %d", b.used)
	}
}

// held is a request body that sends all but its last byte, then waits.
type held struct {
	r       io.Reader
	last    []byte
	release chan struct{}
	once    sync.Once
}

func newHeld(t *testing.T, body string) *held {
	h := &held{r: strings.NewReader(body[:len(body)-1]), last: []byte(body[len(body)-1:]), release: make(chan struct{})}
	t.Cleanup(h.send) // before the server closes, which waits for its requests
	return h
}

// send lets the last byte go.
func (h *held) send() { h.once.Do(func() { close(h.release) }) }

func (h *held) Read(p []byte) (int, error) {
	if n, err := h.r.Read(p); n > 0 || err != io.EOF {
		return n, err
	}
	if h.last == nil {
		return 0, io.EOF
	}
	<-h.release
	n := copy(p, h.last)
	h.last = nil
	return n, nil
}

func (b *inflight) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// The body bytes being read at once are bounded: past the budget a large
// webhook is answered 503 with Retry-After before it is read, while small
// orders still find room; once the large ones are done, all is as before.
func TestBodyBudget(t *testing.T) {
	const (
		domain = "first.myshopify.com"
		secret = "shopify-secret"
		path   = "/webhooks/shopify/order/create"
	)
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		cfg := config.Default()
		cfg.Shopify = []config.Shop{{Domain: domain, Secrets: []config.Secret{secret}}}
		cfg.MaxBodyBytes, cfg.MaxInflightBytes = 1<<20, 4<<20 // three held bodies fill what large ones may use
		db := storetest.Open(t, d)
		if err := jobs.Migrate(context.Background(), db); err != nil {
			t.Fatal(err)
		}
		queue, err := jobs.New(db, nil, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		writer := db.NewWriter(queue.Enqueue, 2, 64)
		k := newIntake(Deps{DB: db, Writer: writer, Config: cfg, Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), Now: time.Now})
		srv := httptest.NewServer(k.shopify("orders/create"))
		t.Cleanup(srv.Close)
		t.Cleanup(writer.Close)

		post := func(body io.Reader, size int64, sig string) *http.Response {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+path, body)
			req.ContentLength = size
			req.Header.Set("X-Shopify-Shop-Domain", domain)
			req.Header.Set("X-Shopify-Hmac-Sha256", sig)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		large := func(id int) string {
			return fmt.Sprintf(`{"id": %d, "note": "%s", "line_items": [{"id": 1, "sku": "course-v1:Org+A+1",
			 "properties": [{"name": "email", "value": "big%d@example.com"}]}]}`, id, strings.Repeat("x", 1<<20-300), id)
		}
		sign := func(body string) string { return webhook.Sign([]byte(secret), []byte(body)) }

		// Three large signed orders hold their bytes.
		var wg sync.WaitGroup
		var holders []*held
		var holding int64
		for i := range 3 {
			body := large(100 + i)
			holding += int64(len(body))
			h := newHeld(t, body)
			holders = append(holders, h)
			wg.Go(func() {
				if resp := post(h, int64(len(body)), sign(body)); resp.StatusCode != 200 {
					t.Errorf("held order %d answered %d once sent whole; want 200", i, resp.StatusCode)
				}
			})
		}
		deadline := time.Now().Add(30 * time.Second)
		for k.bodies.inUse() < holding {
			if time.Now().After(deadline) {
				t.Fatalf("the held orders hold %d bytes; want %d", k.bodies.inUse(), holding)
			}
			time.Sleep(5 * time.Millisecond)
		}
		// A fourth large body: refused before it is read, with or without a
		// Content-Length.
		fourth := large(200)
		if resp := post(strings.NewReader(fourth), int64(len(fourth)), sign(fourth)); resp.StatusCode != http.StatusServiceUnavailable ||
			resp.Header.Get("Retry-After") == "" {
			t.Errorf("large body past the budget = %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		if resp := post(io.MultiReader(strings.NewReader(fourth)), -1, sign(fourth)); resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("chunked large body past the budget = %d; want 503", resp.StatusCode)
		}
		// A small order still gets in.
		small := `{"id": 7, "line_items": [{"id": 1, "sku": "course-v1:Org+A+1", "properties": [{"name": "email", "value": "s@example.com"}]}]}`
		if resp := post(strings.NewReader(small), int64(len(small)), sign(small)); resp.StatusCode != 200 {
			t.Errorf("small order while large ones hold the budget = %d; want 200", resp.StatusCode)
		}
		for _, h := range holders {
			h.send()
		}
		wg.Wait()
		if used := k.bodies.inUse(); used != 0 {
			t.Errorf("%d bytes still held after every request ended", used)
		}
		if resp := post(strings.NewReader(fourth), int64(len(fourth)), sign(fourth)); resp.StatusCode != 200 {
			t.Errorf("large order once the budget is free = %d; want 200", resp.StatusCode)
		}
		// The 413 of a body over the limit is as before.
		tooBig := large(300) + strings.Repeat(" ", 1000)
		if resp := post(strings.NewReader(tooBig), int64(len(tooBig)), sign(tooBig)); resp.StatusCode != 413 {
			t.Errorf("body over the limit = %d; want 413", resp.StatusCode)
		}
		ds, _ := db.Deliveries(context.Background(), 100)
		var busy []store.DeliveryRecord
		for _, rec := range ds {
			if rec.Status == http.StatusServiceUnavailable {
				busy = append(busy, rec)
			}
		}
		if len(busy) != 2 || busy[0].Body != nil || busy[0].BodySHA256 != "" || busy[1].BodySize != int64(len(fourth)) {
			t.Fatalf("503 deliveries: %+v", busy)
		}
		var headers map[string][]string
		if err := json.Unmarshal([]byte(busy[1].Headers), &headers); err != nil || headers["X-Shopify-Hmac-Sha256"][0] != masked {
			t.Errorf("503 delivery headers: %s (%v)", busy[1].Headers, err)
		}
	})
}
