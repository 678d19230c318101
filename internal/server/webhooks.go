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

func handleShopifyOrder(d Deps) http.Handler {
	return webhookHandler(d, enroll.Shopify, func(in *incoming) answer {
		domain := in.header(shopifyDomainHeader)
		if domain == "" {
			return reject(http.StatusBadRequest, missingHeader, "missing X-Shopify-Shop-Domain header")
		}
		shop, ok := d.Config.Shop(domain)
		if !ok {
			return reject(http.StatusForbidden, unknownShop, "unknown shop domain")
		}
		in.source = shop.Domain
		if a, ok := in.verify(shopifySignatureHeader, shop.Secrets); !ok {
			return a
		}
		order, err := webhook.ParseShopifyOrder(in.body)
		if err != nil {
			return reject(http.StatusBadRequest, badJSON, err.Error())
		}
		return in.accept(order, false)
	})
}

func handleWooCommerceOrder(d Deps) http.Handler {
	return webhookHandler(d, enroll.WooCommerce, func(in *incoming) answer {
		mediaType, _, _ := mime.ParseMediaType(in.r.Header.Get("Content-Type"))
		switch mediaType {
		case "application/json", "":
		case "application/x-www-form-urlencoded":
			if form, err := url.ParseQuery(string(in.body)); err == nil && form.Has("webhook_id") {
				d.Logger.Info("woocommerce ping", "webhook_id", form.Get("webhook_id"))
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
			return reject(http.StatusForbidden, unknownShop, "unknown webhook source")
		}
		in.source = strings.TrimRight(site.Source, "/")
		if a, ok := in.verify(wooSignatureHeader, site.Secrets); !ok {
			return a
		}
		order, err := webhook.ParseWooCommerceOrder(in.body)
		if err != nil {
			return reject(http.StatusBadRequest, badJSON, err.Error())
		}
		if site.RequirePayment && !order.Paid {
			if site.AcceptUnpaid {
				return in.accept(order, true)
			}
			return answer{status: http.StatusPaymentRequired, code: unpaid, reason: "order is not paid", keepBody: true}
		}
		return in.accept(order, false)
	})
}

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
)

// storeWait bounds how long a request waits for its delivery to be stored.
// Shops count a delivery failed after about 5 seconds and send it again, so
// past this the shop is answered 503 instead; the delivery may still be
// stored, and the redelivery is then a duplicate.
const storeWait = 5 * time.Second

// incoming is one webhook request on its way through a handler.
type incoming struct {
	d        Deps
	r        *http.Request
	start    time.Time
	delivery store.Delivery
	source   string
	body     []byte
}

func webhookHandler(d Deps, p enroll.Platform, handle func(*incoming) answer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := &incoming{d: d, r: r, start: time.Now(), delivery: store.Delivery{
			ReceivedAt: d.Now(), Platform: p, Path: r.URL.Path,
			SourceIP: ClientIP(r, d.Config.TrustedProxies), Headers: maskHeaders(r.Header),
		}}
		a := in.readBody(w)
		if a.status == 0 {
			a = handle(in)
		}
		in.finish(w, a)
	})
}

func (in *incoming) header(name string) string { return strings.TrimSpace(in.r.Header.Get(name)) }

// readBody reads the whole body unless it is over the limit.
func (in *incoming) readBody(w http.ResponseWriter) answer {
	limit := in.d.Config.MaxBodyBytes
	overLimit := reject(http.StatusRequestEntityTooLarge, tooLarge, fmt.Sprintf("body larger than %d bytes", limit))
	if in.r.ContentLength > limit {
		in.delivery.DeclaredSize = in.r.ContentLength
		return overLimit
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, in.r.Body, limit))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		in.delivery.DeclaredSize = limit + 1 // sent without a Content-Length: at least this
		return overLimit
	case err != nil:
		return reject(http.StatusBadRequest, badRequest, "could not read the body")
	}
	in.body = body
	return answer{}
}

// verify checks the signature header against every secret of the shop.
func (in *incoming) verify(header string, secrets []config.Secret) (answer, bool) {
	sig := in.header(header)
	if sig == "" {
		return reject(http.StatusBadRequest, missingHeader, "missing "+header+" header"), false
	}
	values := make([]string, len(secrets))
	for i, s := range secrets {
		values[i] = s.Value()
	}
	if !webhook.Verify(in.body, sig, values) {
		return reject(http.StatusForbidden, badSignature, "invalid signature"), false
	}
	return answer{}, true
}

// accept stores the delivery, its order and items and enqueues their
// enrollment in one transaction; only then is the shop answered 200.
func (in *incoming) accept(order enroll.Order, awaitingPayment bool) answer {
	order.Source = in.source
	in.delivery.Source, in.delivery.Body, in.delivery.Status = in.source, in.body, http.StatusOK
	ctx, cancel := context.WithTimeout(in.r.Context(), storeWait)
	defer cancel()
	res, err := in.d.Writer.SaveAccepted(ctx, store.Accepted{
		Delivery: in.delivery, Order: order, AwaitingPayment: awaitingPayment,
	})
	if err != nil {
		in.d.Logger.Error("webhook not stored", "platform", order.Platform, "order_id", order.ID, "error", err)
		return answer{status: http.StatusServiceUnavailable, code: storeError, reason: "could not store the order: please retry", done: true}
	}
	in.d.Logger.Info("webhook accepted", "platform", order.Platform, "source", in.source, "order_id", order.ID,
		"delivery_id", res.DeliveryID, "new_order", res.NewOrder, "enqueued", len(res.Enqueued),
		"awaiting_payment", awaitingPayment)
	code := metrics.Accepted
	if res.Duplicate() {
		code = metrics.Duplicate
	}
	return answer{status: http.StatusOK, code: code, done: true}
}

// finish records a rejection, writes the answer and counts it.
func (in *incoming) finish(w http.ResponseWriter, a answer) {
	defer in.count(a)
	if !a.done {
		d := in.delivery
		d.Source, d.Body, d.KeepBody, d.Status, d.Reason = in.source, in.body, a.keepBody, a.status, a.reason
		ctx, cancel := context.WithTimeout(in.r.Context(), storeWait)
		defer cancel()
		if _, err := in.d.Writer.SaveDelivery(ctx, d); err != nil {
			in.d.Logger.Error("rejected delivery not recorded", "platform", d.Platform, "error", err)
		}
		in.d.Logger.Warn("webhook rejected", "platform", d.Platform, "path", d.Path, "source_ip", d.SourceIP,
			"status", a.status, "reason", a.reason)
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
