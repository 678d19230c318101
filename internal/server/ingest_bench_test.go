package server_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/server"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// BenchmarkIngest sends unique signed Shopify orders (the 4 KB sample
// order) over HTTP to the whole server on SQLite, with enrollment workers
// running against the fake LMS, as `serve` runs. It is the in-process
// view of `go run ./cmd/bench`, for profiles:
//
//	go test -run - -bench Ingest -benchtime 20000x -cpuprofile cpu.out ./internal/server
func BenchmarkIngest(b *testing.B) {
	template, err := os.ReadFile("../webhook/testdata/shopify_order.json")
	if err != nil {
		b.Fatal(err)
	}
	const sampleID = "5834765623456"
	db := storetest.Open(b, store.SQLite)
	ctx := context.Background()
	if err := jobs.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	lms := edxtest.Start()
	defer lms.Close()
	client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret, Timeout: 10 * time.Second})
	logger := slog.New(slog.DiscardHandler)
	queue, err := jobs.New(db, client, jobs.Options{Workers: 4, MaxAttempts: 3, Logger: logger, BatchSize: 50})
	if err != nil {
		b.Fatal(err)
	}
	if err := queue.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer queue.Stop(ctx)
	writer := db.NewWriter(queue.Enqueue, 4, 256)
	defer writer.Close()
	cfg := config.Default()
	cfg.Shopify = []config.Shop{{Domain: shopDomain, Secrets: []config.Secret{shopSecret}}}
	srv := httptest.NewServer(server.NewServer(server.Deps{Logger: logger, DB: db, Writer: writer, Config: cfg}))
	defer srv.Close()
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var next atomic.Int64
	next.Store(1_000_000_000_000)
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := strconv.FormatInt(next.Add(1), 10)
			body := bytes.ReplaceAll(template, []byte(sampleID), []byte(id))
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/shopify/order/create", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Shopify-Topic", "orders/create")
			req.Header.Set("X-Shopify-Webhook-Id", "bench-webhook-"+id) // deduplicated by these two
			req.Header.Set("X-Shopify-Event-Id", "bench-event-"+id)
			req.Header.Set("X-Shopify-Shop-Domain", shopDomain)
			req.Header.Set("X-Shopify-Hmac-Sha256", webhook.Sign([]byte(shopSecret), body))
			resp, err := httpClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
