package server

import (
	"context"
	"net/http"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/metrics"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// Shopify's compliance topics. Their bodies hold personal data: the
// delivery is stored without its body, and a redaction is carried out
// before the shop is answered 200.

// privacyWait bounds how long a compliance delivery's transaction may take.
// It does not end with the shop's request: a large shop's redaction goes on
// if the shop gave up waiting, and the shop's redelivery then finds it done.
const privacyWait = 5 * time.Minute

func (k *intake) shopifyCustomersRedact(in *incoming, shop config.Shop) answer {
	r, err := webhook.ParseShopifyCustomerRedact(in.body)
	if err != nil {
		return reject(http.StatusBadRequest, badJSON, err.Error())
	}
	return in.acceptPrivacy(store.PrivacyDelivery{Topic: store.TopicCustomersRedact, Redaction: &r})
}

func (k *intake) shopifyShopRedact(in *incoming, shop config.Shop) answer {
	r, err := webhook.ParseShopifyShopRedact(in.body)
	if err != nil {
		return reject(http.StatusBadRequest, badJSON, err.Error())
	}
	return in.acceptPrivacy(store.PrivacyDelivery{Topic: store.TopicShopRedact, Redaction: &r})
}

func (k *intake) shopifyDataRequest(in *incoming, shop config.Shop) answer {
	r, err := webhook.ParseShopifyDataRequest(in.body)
	if err != nil {
		return reject(http.StatusBadRequest, badJSON, err.Error())
	}
	return in.acceptPrivacy(store.PrivacyDelivery{Topic: store.TopicDataRequest, DataRequest: &r})
}

// acceptPrivacy stores a compliance delivery, its privacy request and its
// redaction; only then is the shop answered 200.
func (in *incoming) acceptPrivacy(p store.PrivacyDelivery) answer {
	p.Delivery = in.stored()
	p.Delivery.Status = http.StatusOK
	p.Keys = shopifyDeliveryKeys(in.r.Header)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(in.r.Context()), privacyWait)
	defer cancel()
	res, err := in.d.DB.SavePrivacy(ctx, p)
	if err != nil {
		in.d.Logger.Error("privacy request not stored", "platform", enroll.Shopify, "source", in.source, "topic", p.Topic, "error", err)
		return answer{status: http.StatusServiceUnavailable, code: storeError, reason: "could not store the request: please retry", done: true}
	}
	in.d.Logger.Info("privacy request accepted", "platform", enroll.Shopify, "source", in.source, "topic", p.Topic,
		"delivery_id", res.DeliveryID, "request_id", res.RequestID, "duplicate", res.Duplicate,
		"redacted_orders", res.Redacted.Orders, "redacted_deliveries", res.Redacted.Deliveries)
	if res.Duplicate {
		return answer{status: http.StatusOK, code: metrics.Duplicate, done: true}
	}
	if p.Redaction != nil {
		in.d.Metrics.Redaction(p.Topic, res.Redacted.Orders)
	}
	return answer{status: http.StatusOK, code: metrics.Accepted, done: true}
}

// shopifyDeliveryKeys are a Shopify delivery's dedup keys: its webhook id
// (the same on its retries) and its event id (the same for each
// subscription of one event), each when present.
func shopifyDeliveryKeys(h http.Header) []string {
	var keys []string
	for _, k := range []struct{ prefix, header string }{
		{"webhook:", "X-Shopify-Webhook-Id"}, {"event:", "X-Shopify-Event-Id"},
	} {
		if v := printable(h.Get(k.header), 200); v != "" {
			keys = append(keys, k.prefix+v)
		}
	}
	return keys
}
