package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

const (
	shopifyDomainHeader    = "X-Shopify-Shop-Domain"
	shopifySignatureHeader = "X-Shopify-Hmac-Sha256"
	wooSourceHeader        = "X-Wc-Webhook-Source"
	wooSignatureHeader     = "X-Wc-Webhook-Signature"
)

// intake is what the webhook endpoints share.
type intake struct {
	d Deps
	// bodies bounds the bytes of bodies being read or held at once.
	bodies *inflight
	// rejections records rejected requests, a flood of them as counts.
	rejections *Rejections
}

func newIntake(d Deps) *intake {
	k := &intake{d: d, bodies: newInflight(d.Config.MaxInflightBytes, d.Config.MaxBodyBytes), rejections: d.Rejections}
	if k.rejections == nil { // counted, but the counts are never written
		k.rejections = newRejections(d.Writer, d.Logger)
	}
	return k
}

// Each handler answers what the headers can tell before it reads the body:
// a request from no shop configured here costs no memory.

func (k *intake) wooCommerceOrder() http.Handler {
	d := k.d
	return k.webhookHandler(enroll.WooCommerce, func(in *incoming) answer {
		mediaType, _, _ := mime.ParseMediaType(in.r.Header.Get("Content-Type"))
		switch mediaType {
		case "application/json", "":
		case "application/x-www-form-urlencoded":
			if a := in.readBody(); a.status != 0 {
				return a
			}
			if form, err := url.ParseQuery(string(in.body)); err == nil && form.Has("webhook_id") {
				k.rejections.ping(in.delivery, printable(form.Get("webhook_id"), 32))
				return answer{status: http.StatusOK, code: metrics.Ping, done: true}
			}
			return reject(http.StatusBadRequest, badRequest, "form body without webhook_id: expected a JSON order")
		default:
			return reject(http.StatusBadRequest, badRequest, "content type must be application/json")
		}
		source := in.header(wooSourceHeader)
		if source == "" {
			return reject(http.StatusBadRequest, missingHeader, "missing X-WC-Webhook-Source header")
		}
		site, ok := d.Config.Site(source)
		if !ok {
			in.source = printable(source, maxSentSource)
			return reject(http.StatusForbidden, unknownShop, "unknown webhook source")
		}
		in.source = site.StoredSource()
		if a, ok := in.verify(wooSignatureHeader, site.Secrets); !ok {
			return a
		}
		order, err := webhook.ParseWooCommerceOrder(in.body)
		if err != nil {
			return reject(http.StatusBadRequest, badJSON, err.Error())
		}
		a, refused := k.wooAccepted(order, site)
		if refused.status != 0 {
			return refused
		}
		return in.accept(a)
	})
}

// maxSentSource bounds the shop domain or site URL recorded when it is not
// one configured here: anyone can send one.
const maxSentSource = 200

// answer is how a webhook request ends.
type answer struct {
	status int
	// code is the outcome for the metrics: accepted, duplicate, ping, or
	// for any other status one of the fixed rejection codes below.
	code   string
	reason string
	// keepBody stores the body of a rejected but authenticated delivery.
	keepBody bool
	// done means nothing is left to record.
	done bool
}

func reject(status int, code, reason string) answer {
	return answer{status: status, code: code, reason: reason}
}

// Rejection codes: few and fixed, so that metrics stay small; the reason
// says more, in the delivery's row and the log.
const (
	badRequest    = "bad_request"    // unreadable body, wrong content type
	missingHeader = "missing_header" // shop domain, source or signature
	unknownShop   = "unknown_shop"   // shop domain or site not configured
	badSignature  = "bad_signature"
	badJSON       = "bad_json" // not JSON, or not an order
	tooLarge      = "too_large"
	unpaid        = "unpaid"
	storeError    = "store_error" // the database could not store the delivery
	busy          = "busy"        // more body bytes in flight than MaxInflightBytes
)

// storeWait bounds how long a request waits for its delivery to be stored.
// Shops count a delivery failed after about 5 seconds and send it again, so
// past this the shop is answered 503 instead; the delivery may still be
// stored, and the redelivery is then a duplicate.
const storeWait = 5 * time.Second

// busyRetryAfter is the Retry-After of a 503 for too many bytes in flight.
const busyRetryAfter = "5"

// incoming is one webhook request on its way through a handler.
type incoming struct {
	k        *intake
	d        Deps
	w        http.ResponseWriter
	r        *http.Request
	start    time.Time
	delivery store.Delivery
	source   string
	body     []byte
	// read tells that body holds the whole body.
	read bool
	// authenticated tells that the body's signature was verified.
	authenticated bool
	// held is what this request holds of the intake's body budget.
	held int64
}

func (k *intake) webhookHandler(p enroll.Platform, handle func(*incoming) answer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := &incoming{k: k, d: k.d, w: w, r: r, start: time.Now(), delivery: store.Delivery{
			ReceivedAt: k.d.Now(), Platform: p, Path: r.URL.Path, SourceIP: ClientIP(r, k.d.Config.TrustedProxies),
		}}
		defer in.releaseBody()
		a := in.checkDeclaredSize()
		if a.status == 0 {
			a = handle(in)
		}
		in.finish(w, a)
	})
}

func (in *incoming) header(name string) string { return strings.TrimSpace(in.r.Header.Get(name)) }

func (in *incoming) tooLarge() answer {
	return reject(http.StatusRequestEntityTooLarge, tooLarge, fmt.Sprintf("body larger than %d bytes", in.d.Config.MaxBodyBytes))
}

// checkDeclaredSize refuses a body whose Content-Length is over the limit.
func (in *incoming) checkDeclaredSize() answer {
	if in.r.ContentLength > in.d.Config.MaxBodyBytes {
		in.delivery.DeclaredSize = in.r.ContentLength
		return in.tooLarge()
	}
	return answer{}
}

// reserve takes n more bytes of the body budget for this request.
func (in *incoming) reserve(n int64) bool {
	if !in.k.bodies.reserve(in.held, n) {
		return false
	}
	in.held += n
	return true
}

func (in *incoming) releaseBody() {
	in.body = nil
	in.k.bodies.release(in.held)
	in.held = 0
}

// minChunk is the first buffer of a body sent without Content-Length.
const minChunk = 16 << 10

// readBody reads the whole body unless it is over the limit, or over what
// the body budget has room for: a body with a Content-Length reserves its
// bytes before it is read, one without reserves as it is read.
func (in *incoming) readBody() answer {
	limit := in.d.Config.MaxBodyBytes
	body := http.MaxBytesReader(in.w, in.r.Body, limit)
	over := func(read int64) answer {
		in.delivery.DeclaredSize = max(in.r.ContentLength, read)
		return answer{status: http.StatusServiceUnavailable, code: busy,
			reason: "too many webhook bytes being received at once: retry later"}
	}
	var buf []byte
	if n := in.r.ContentLength; n >= 0 { // at most limit: checkDeclaredSize
		if !in.reserve(n) {
			return over(0)
		}
		buf = make([]byte, n)
		if _, err := io.ReadFull(body, buf); err != nil {
			return reject(http.StatusBadRequest, badRequest, "could not read the body")
		}
	} else {
		for {
			if len(buf) == cap(buf) { // grow: the old and the new buffer are both held while copying
				old := int64(cap(buf))
				grown := min(max(2*old, minChunk), limit+1) // room to see a body go over the limit
				if !in.reserve(grown) {
					return over(int64(len(buf)))
				}
				buf = append(make([]byte, 0, grown), buf...)
				in.k.bodies.release(old)
				in.held -= old
			}
			n, err := body.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			var tooBig *http.MaxBytesError
			switch {
			case err == io.EOF:
			case errors.As(err, &tooBig):
				in.delivery.DeclaredSize = limit + 1 // sent without a Content-Length: at least this
				return in.tooLarge()
			case err != nil:
				return reject(http.StatusBadRequest, badRequest, "could not read the body")
			default:
				continue
			}
			break
		}
	}
	in.body, in.read = buf, true
	return answer{}
}

// verify checks the signature header against every secret of the shop,
// reading the body only when there is a signature to check.
func (in *incoming) verify(header string, secrets []config.Secret) (answer, bool) {
	sig := in.header(header)
	if sig == "" {
		return reject(http.StatusBadRequest, missingHeader, "missing "+header+" header"), false
	}
	if a := in.readBody(); a.status != 0 {
		return a, false
	}
	values := make([]string, len(secrets))
	for i, s := range secrets {
		values[i] = s.Value()
	}
	if !webhook.Verify(in.body, sig, values) {
		return reject(http.StatusForbidden, badSignature, "invalid signature"), false
	}
	in.authenticated = true
	return answer{}, true
}

// stored is the request's delivery as the database keeps it: an
// authenticated one with all its headers, others with those an operator
// needs only, credentials masked either way; the body's size and digest
// as far as it was read.
func (in *incoming) stored() store.Delivery {
	d := in.delivery
	d.Source, d.Body = in.source, in.body
	if in.authenticated {
		d.Headers = maskHeaders(in.r.Header)
	} else {
		d.Headers = operatorHeaders(in.r.Header)
	}
	if !in.read {
		d.Body, d.Unread = nil, true
		d.DeclaredSize = max(d.DeclaredSize, in.r.ContentLength, 0)
	}
	return d
}

// accept stores the delivery and applies it to its order (its items
// created, their desired states set, what needs an attempt enqueued) in
// one transaction; only then is the shop answered 200.
func (in *incoming) accept(a store.Accepted) answer {
	a.Order.Source = in.source
	a.Delivery = in.stored()
	a.Delivery.Status = http.StatusOK
	o := a.Order
	ctx, cancel := context.WithTimeout(in.r.Context(), storeWait)
	defer cancel()
	res, err := in.d.Writer.SaveAccepted(ctx, a)
	if err != nil {
		in.d.Logger.Error("webhook not stored", "platform", o.Platform, "order_id", o.ID, "error", err)
		return answer{status: http.StatusServiceUnavailable, code: storeError, reason: "could not store the order: please retry", done: true}
	}
	attrs := []any{"platform", o.Platform, "source", in.source, "order_id", o.ID, "delivery_id", res.DeliveryID,
		"new_order", res.NewOrder, "enqueued", len(res.Enqueued), "awaiting_payment", a.AwaitingPayment,
		"stale", res.Stale, "duplicate", res.Duplicate(), "redacted", res.Redacted}
	if a.Refund != nil {
		attrs = append(attrs, "refund_id", a.Refund.ID)
	}
	in.d.Logger.Info("webhook accepted", attrs...)
	code := metrics.Accepted
	switch {
	case res.Stale:
		code = metrics.Stale
	case res.Duplicate():
		code = metrics.Duplicate
	}
	return answer{status: http.StatusOK, code: code, done: true}
}

// finish records a rejection, writes the answer and counts it.
func (in *incoming) finish(w http.ResponseWriter, a answer) {
	defer in.count(a)
	if !a.done {
		d := in.stored()
		d.KeepBody, d.Status, d.Reason = a.keepBody, a.status, a.reason
		in.k.rejections.reject(in.r.Context(), d, a.code, in.authenticated)
	}
	if a.code == busy {
		w.Header().Set("Retry-After", busyRetryAfter)
	}
	if a.status != http.StatusOK {
		http.Error(w, a.reason, a.status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// count adds the answered request to the metrics.
func (in *incoming) count(a answer) {
	outcome, reason := a.code, ""
	if a.status != http.StatusOK {
		outcome, reason = metrics.Rejected, a.code
	}
	in.d.Metrics.Delivery(in.delivery.Platform, outcome, reason, time.Since(in.start))
}
