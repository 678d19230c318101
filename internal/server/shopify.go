package server

import (
	"net/http"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ingest"
)

const shopifyTopicHeader = "X-Shopify-Topic"

// shopifyTopic handles the authenticated deliveries of one Shopify topic.
type shopifyTopic struct {
	// compliance topics (privacy) answer 401 to a missing or invalid
	// signature, as Shopify requires of them; order topics answer as the
	// Django app did (400 missing, 403 invalid).
	compliance bool
	handle     func(in *incoming, shop config.Shop) answer
}

// shopifyTopics are the topics we handle, by X-Shopify-Topic.
func (k *intake) shopifyTopics() map[string]shopifyTopic {
	return map[string]shopifyTopic{
		// The order's life (lifecycle.go).
		ingest.OrdersCreate:    {handle: k.shopifyOrder(ingest.OrdersCreate)},
		ingest.OrdersPaid:      {handle: k.shopifyOrder(ingest.OrdersPaid)},
		ingest.OrdersCancelled: {handle: k.shopifyOrder(ingest.OrdersCancelled)},
		ingest.RefundsCreate:   {handle: k.shopifyRefund},
		// Privacy (privacy.go).
		"customers/redact":       {compliance: true, handle: k.shopifyCustomersRedact},
		"shop/redact":            {compliance: true, handle: k.shopifyShopRedact},
		"customers/data_request": {compliance: true, handle: k.shopifyDataRequest},
	}
}

// shopify handles one topic's endpoint; topic "" is the single endpoint
// for every topic, which dispatches on X-Shopify-Topic.
func (k *intake) shopify(topic string) http.Handler {
	topics := k.shopifyTopics()
	return k.webhookHandler(enroll.Shopify, func(in *incoming) answer {
		name := topic
		if name == "" {
			name = in.header(shopifyTopicHeader)
		}
		t, ok := topics[name]
		if !ok {
			if name == "" {
				return reject(http.StatusBadRequest, missingHeader, "missing "+shopifyTopicHeader+" header")
			}
			return reject(http.StatusBadRequest, badRequest, "unhandled topic "+printable(name, 64))
		}
		a := k.shopifyAuthenticated(in, t)
		if a.status != 0 {
			return a
		}
		shop, _ := k.d.Config.Shop(in.source)
		return t.handle(in, shop)
	})
}

// shopifyAuthenticated finds the delivery's shop and checks its signature;
// it answers nothing (status 0) when both are good.
func (k *intake) shopifyAuthenticated(in *incoming, t shopifyTopic) answer {
	domain := in.header(shopifyDomainHeader)
	if domain == "" {
		return reject(http.StatusBadRequest, missingHeader, "missing X-Shopify-Shop-Domain header")
	}
	shop, ok := k.d.Config.Shop(domain)
	if !ok {
		in.source = printable(domain, maxSentSource)
		return reject(http.StatusForbidden, unknownShop, "unknown shop domain")
	}
	in.source = shop.Domain
	a, ok := in.verify(shopifySignatureHeader, shop.Secrets)
	if ok {
		return answer{}
	}
	if t.compliance && (a.code == badSignature || a.code == missingHeader) {
		a.status, a.code, a.reason = http.StatusUnauthorized, badSignature, "invalid signature"
	}
	return a
}
