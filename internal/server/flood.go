package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Anyone who knows the webhook URL can send requests without a secret, as
// fast as the network carries them. What an operator needs from them is
// the first few of each kind, to see what a misconfigured shop sends, and
// how many came: so, per source address and reason, the first
// keptPerMinute rejections of a minute are stored and logged one by one,
// and the rest are counted, then written as one row and logged as one line
// when the minute ends. Metrics count every request all the same. An IPv6
// client counts by its /64, the block one host is usually given, and no
// more than maxKeptPerMinute are kept whole in a minute, however many
// addresses send.
const (
	keptPerMinute    = 10
	maxKeptPerMinute = 100
	// maxFloodKeys bounds the (address, platform, reason) counted at once,
	// and so the rows of folded counts written each minute: past it, new
	// addresses are counted together under floodOthers.
	maxFloodKeys = 256
	// floodOthers stands for the addresses past maxFloodKeys.
	floodOthers = "*"
)

type floodKey struct {
	ip       string
	platform enroll.Platform
	code     string // a rejection code, or metrics.Ping
}

// floodCount is what a key did in the current minute.
type floodCount struct {
	seen int
	// first is the first request not kept, which the row and the line
	// describe; its Folded counts the requests not kept.
	first store.Delivery
}

// Rejections records and logs rejected webhook requests: authenticated
// ones one by one, the others as counts past the first of a minute. The
// minute ends for every key at once: a goroutine started by NewRejections
// writes the counts then, until Close, which writes the last ones.
type Rejections struct {
	writer *store.Writer
	logger *slog.Logger

	mu     sync.Mutex
	counts map[floodKey]*floodCount
	kept   int // whole rejections this minute, of every key

	stop    chan struct{} // nil without the minute's goroutine
	done    chan struct{}
	closing sync.Once
}

// NewRejections starts the writing of each minute's counts through writer;
// Close stops it.
func NewRejections(writer *store.Writer, logger *slog.Logger) *Rejections {
	r := newRejections(writer, logger)
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go r.run()
	return r
}

// newRejections returns Rejections whose minute ends only when Flush is
// called.
func newRejections(writer *store.Writer, logger *slog.Logger) *Rejections {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Rejections{writer: writer, logger: logger, counts: map[floodKey]*floodCount{}}
}

func (r *Rejections) run() {
	defer close(r.done)
	for {
		now := time.Now()
		timer := time.NewTimer(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
		select {
		case <-timer.C:
			r.Flush()
		case <-r.stop:
			timer.Stop()
			return
		}
	}
}

// Close stops the minute's goroutine and writes what is counted. The writer
// must still be open.
func (r *Rejections) Close() {
	if r.stop != nil {
		r.closing.Do(func() { close(r.stop) })
		<-r.done
	}
	r.Flush()
}

// admit counts a request of key, and reports whether it is one of the
// first of its minute, to be stored and logged whole.
func (r *Rejections) admit(k floodKey, d store.Delivery) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.counts[k]
	if !ok && len(r.counts) >= maxFloodKeys {
		k.ip = floodOthers
		c, ok = r.counts[k]
	}
	if !ok {
		c = &floodCount{}
		r.counts[k] = c
	}
	c.seen++
	if c.seen <= keptPerMinute && r.kept < maxKeptPerMinute {
		r.kept++
		return true
	}
	if c.first.Folded == 0 {
		c.first = d
		c.first.SourceIP, c.first.Headers, c.first.Body, c.first.KeepBody = k.ip, http.Header{}, nil, false
		c.first.Unread, c.first.DeclaredSize = true, 0
	}
	c.first.Folded++
	return false
}

// Flush ends the minute: it writes a row for each key with requests that
// were not kept, and logs one line for it, then counts from zero.
func (r *Rejections) Flush() {
	r.mu.Lock()
	counts := r.counts
	r.counts, r.kept = map[floodKey]*floodCount{}, 0
	r.mu.Unlock()
	var wg sync.WaitGroup
	slots := make(chan struct{}, flushers)
	for k, c := range counts {
		d := c.first
		switch {
		case d.Folded == 0:
		case k.code == metrics.Ping:
			r.logger.Info("woocommerce pings folded", "source_ip", k.ip, "count", d.Folded, "since", d.ReceivedAt)
		default:
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				r.writeFolded(d)
			})
		}
	}
	wg.Wait()
}

// flushers is how many rows Flush hands to the writer at once, for it to
// write them in batches.
const flushers = 64

func (r *Rejections) writeFolded(d store.Delivery) {
	ctx, cancel := context.WithTimeout(context.Background(), storeWait)
	defer cancel()
	id, err := r.writer.SaveDelivery(ctx, d)
	if err != nil {
		r.logger.Error("folded rejections not recorded", "platform", d.Platform, "source_ip", d.SourceIP,
			"reason", d.Reason, "count", d.Folded, "error", err)
		return
	}
	r.logger.Warn("webhook rejections folded", "platform", d.Platform, "path", d.Path, "source_ip", d.SourceIP,
		"status", d.Status, "reason", d.Reason, "count", d.Folded, "since", d.ReceivedAt, "delivery_id", id)
}

// reject records a rejected request, whole or as a count, and logs it if
// it is recorded whole. An authenticated request is always recorded whole.
func (r *Rejections) reject(ctx context.Context, d store.Delivery, code string, authenticated bool) {
	if !authenticated && !r.admit(floodKey{floodAddress(d.SourceIP), d.Platform, code}, d) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, storeWait)
	defer cancel()
	if _, err := r.writer.SaveDelivery(ctx, d); err != nil {
		r.logger.Error("rejected delivery not recorded", "platform", d.Platform, "error", err)
	}
	r.logger.Warn("webhook rejected", "platform", d.Platform, "path", d.Path, "source_ip", d.SourceIP,
		"status", d.Status, "reason", d.Reason)
}

// ping logs a WooCommerce ping, unless too many came from its address
// this minute.
func (r *Rejections) ping(d store.Delivery, webhookID string) {
	if r.admit(floodKey{floodAddress(d.SourceIP), d.Platform, metrics.Ping}, d) {
		r.logger.Info("woocommerce ping", "webhook_id", webhookID, "source_ip", d.SourceIP)
	}
}

// floodAddress is the address a client's rejections are counted under: an
// IPv6 address by its /64, anything else as it is.
func floodAddress(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is6() || addr.Is4In6() {
		return ip
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}
