package store_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// BenchmarkWriter stores unique two-item orders with ~3 KB bodies and two
// delivery keys through the group-commit writer and the real job queue,
// from many goroutines, as the webhook handlers do. Run with -cpuprofile to see the writer's
// share: go test -run - -bench Writer -cpuprofile cpu.out ./internal/store
func BenchmarkWriter(b *testing.B) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			db := storetest.Open(b, d)
			if err := jobs.Migrate(context.Background(), db); err != nil {
				b.Fatal(err)
			}
			q, err := jobs.New(db, nil, jobs.Options{})
			if err != nil {
				b.Fatal(err)
			}
			w := db.NewWriter(q.Enqueue, 4, 256)
			defer w.Close()
			body := []byte(`{"note": "` + strings.Repeat("x", 3000) + `"}`)
			headers := http.Header{"Content-Type": {"application/json"}, "X-Shopify-Hmac-Sha256": {"[masked]"},
				"X-Shopify-Shop-Domain": {"bench.myshopify.com"}, "X-Shopify-Topic": {"orders/create"}}
			var next atomic.Int64
			b.SetParallelism(16) // 16 × GOMAXPROCS concurrent requests
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := next.Add(1)
					a := store.Accepted{
						Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: "bench.myshopify.com",
							Path: "/webhooks/shopify/order/create", SourceIP: "192.0.2.1", Headers: headers, Body: body, Status: 200},
						Order: enroll.Order{Platform: enroll.Shopify, Source: "bench.myshopify.com", ID: id, Paid: true, Items: []enroll.Item{
							{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: fmt.Sprintf("a%d@example.com", id)},
							{LineItemID: 2, SKU: "course-v1:Org+B+1", Email: fmt.Sprintf("b%d@example.com", id)},
						}},
						Keys: []string{fmt.Sprintf("webhook:%d", id), fmt.Sprintf("event:%d", id)}, // as Shopify's headers give them
					}
					if _, err := w.SaveAccepted(context.Background(), a); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
