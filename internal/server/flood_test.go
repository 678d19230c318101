package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// lines is a log that counts its lines.
type lines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newWriter(t *testing.T, d store.Dialect) (*store.DB, *store.Writer) {
	t.Helper()
	db := storetest.Open(t, d)
	if err := jobs.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	queue, err := jobs.New(db, nil, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := db.NewWriter(queue.Enqueue, 2, 64)
	t.Cleanup(w.Close)
	return db, w
}

func rejected(ip, reason string, status int) store.Delivery {
	return store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Path: "/webhooks/shopify/order/create",
		SourceIP: ip, Headers: http.Header{"User-Agent": {"x"}}, Body: []byte("{}"), Status: status, Reason: reason}
}

// Per address and reason, the first rejections of a minute are stored and
// logged whole and the rest counted in one row and one line; authenticated
// rejections are all stored.
func TestFloodIsCountedPerAddressAndReason(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		db, w := newWriter(t, d)
		log := &lines{}
		r := newRejections(w, slog.New(slog.NewTextHandler(log, nil))) // the minute ends at Flush
		ctx := context.Background()
		for range 1000 {
			r.reject(ctx, rejected("203.0.113.1", "invalid signature", 403), badSignature, false)
		}
		for range 5 {
			r.reject(ctx, rejected("203.0.113.1", "unknown shop domain", 403), unknownShop, false)
			r.reject(ctx, rejected("203.0.113.2", "invalid signature", 403), badSignature, false)
		}
		for range 15 {
			r.reject(ctx, rejected("203.0.113.1", "order is not paid", 402), unpaid, true)
		}
		r.Flush()
		ds, err := db.Deliveries(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		byKind := map[string]int64{}
		for _, rec := range ds {
			kind := fmt.Sprintf("%s %d whole", rec.SourceIP, rec.Status)
			n := int64(1)
			if rec.Folded > 0 {
				kind, n = fmt.Sprintf("%s %d folded", rec.SourceIP, rec.Status), rec.Folded
				if rec.Body != nil || rec.BodySHA256 != "" || rec.Reason != "invalid signature" || rec.Headers != "{}" {
					t.Errorf("folded row: %+v", rec)
				}
			}
			byKind[kind] += n
		}
		want := map[string]int64{"203.0.113.1 403 whole": 15, "203.0.113.1 403 folded": 990, "203.0.113.2 403 whole": 5,
			"203.0.113.1 402 whole": 15}
		if fmt.Sprint(byKind) != fmt.Sprint(want) {
			t.Errorf("stored %v; want %v", byKind, want)
		}
		out := log.String()
		if n := strings.Count(out, "\n"); n != 15+5+15+1 {
			t.Errorf("%d log lines; want 36:\n%s", n, out)
		}
		if !strings.Contains(out, `msg="webhook rejections folded"`) || !strings.Contains(out, "count=990") {
			t.Errorf("no summary line with the count:\n%s", out)
		}
		// The next minute starts from zero.
		if !r.admit(floodKey{"203.0.113.1", enroll.Shopify, badSignature}, rejected("203.0.113.1", "invalid signature", 403)) {
			t.Error("the first rejection of a new minute is not kept")
		}
	})
}

// However many addresses send, the counts held in memory stay bounded:
// past maxFloodKeys, new addresses are counted together.
func TestFloodStateIsBounded(t *testing.T) {
	db, w := newWriter(t, store.SQLite)
	r := newRejections(w, slog.New(slog.DiscardHandler))
	const addresses = maxFloodKeys + 5000
	for i := range addresses {
		ip := fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff) // one /64 each
		r.admit(floodKey{ip, enroll.Shopify, badSignature}, rejected(ip, "invalid signature", 403))
	}
	r.mu.Lock()
	held := len(r.counts)
	others := r.counts[floodKey{floodOthers, enroll.Shopify, badSignature}]
	r.mu.Unlock()
	if held > maxFloodKeys+1 {
		t.Errorf("%d counts held for %d addresses; want at most %d", held, addresses, maxFloodKeys+1)
	}
	if others == nil || others.seen != addresses-maxFloodKeys {
		t.Fatalf("addresses past the bound: %+v", others)
	}
	r.Flush()
	ds, err := db.Deliveries(context.Background(), 2*maxFloodKeys)
	if err != nil {
		t.Fatal(err)
	}
	// Whole rows are stored by reject, not admit: only folded rows here,
	// one for each address past the minute's whole rows, and one for the rest.
	if len(ds) != maxFloodKeys-maxKeptPerMinute+1 {
		t.Errorf("%d rows; want %d", len(ds), maxFloodKeys-maxKeptPerMinute+1)
	}
	for _, d := range ds {
		if d.SourceIP == floodOthers && d.Folded != addresses-maxFloodKeys {
			t.Errorf("the addresses past the bound folded %d; want %d", d.Folded, addresses-maxFloodKeys)
		}
	}
}

// However many addresses send, at most maxKeptPerMinute rejections of a
// minute are stored whole; the hosts of one IPv6 /64 count as one address.
func TestFloodKeepsFewWholeRows(t *testing.T) {
	db, w := newWriter(t, store.SQLite)
	log := &lines{}
	r := newRejections(w, slog.New(slog.NewTextHandler(log, nil)))
	ctx := context.Background()
	for i := range 1000 {
		ip := fmt.Sprintf("198.51.%d.%d", i/250, i%250)
		r.reject(ctx, rejected(ip, "invalid signature", 403), badSignature, false)
	}
	for i := range 1000 {
		ip := fmt.Sprintf("2001:db8:0:1::%x", i+1) // one /64
		r.reject(ctx, rejected(ip, "invalid signature", 403), badSignature, false)
	}
	r.Flush()
	ds, err := db.Deliveries(ctx, 5000)
	if err != nil {
		t.Fatal(err)
	}
	whole, folded := 0, int64(0)
	for _, d := range ds {
		if d.Folded == 0 {
			whole++
			continue
		}
		folded += d.Folded
		if d.SourceIP == "2001:db8:0:1::/64" && d.Folded != 1000 {
			t.Errorf("the /64 folded %d; want all 1000 (the whole rows of the minute were taken)", d.Folded)
		}
	}
	if whole != maxKeptPerMinute || int64(whole)+folded != 2000 {
		t.Errorf("%d whole rows and %d folded; want %d whole and the rest of 2000 folded", whole, folded, maxKeptPerMinute)
	}
	if n := strings.Count(log.String(), "\n"); n > maxKeptPerMinute+len(ds) {
		t.Errorf("%d log lines for %d rows", n, len(ds))
	}
}

func TestFloodAddress(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"::ffff:203.0.113.7":   "::ffff:203.0.113.7",
		"not an address":       "not an address",
	} {
		if got := floodAddress(in); got != want {
			t.Errorf("floodAddress(%q) = %q; want %q", in, got, want)
		}
	}
}
