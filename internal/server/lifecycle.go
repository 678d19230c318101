package server

import (
	"errors"
	"net/http"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ingest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// The Shopify topics of an order's life. Each payload is a snapshot of the
// order, or a refund of it; the handlers parse it, and package ingest chooses, by
// the shop's settings, what the store is handed. The rules that apply it
// are enroll's and the store's.

// shopifyTriggeredAtHeader is when Shopify triggered the delivery: the
// snapshot's time, when the payload has no updated_at.
const shopifyTriggeredAtHeader = "X-Shopify-Triggered-At"

// shopifyOrder handles a topic whose payload is the order (ingest.OrdersCreate,
// OrdersPaid, OrdersCancelled).
func (k *intake) shopifyOrder(topic string) func(in *incoming, shop config.Shop) answer {
	return func(in *incoming, shop config.Shop) answer {
		order, err := webhook.ParseShopifyOrder(in.body)
		if err != nil {
			return reject(http.StatusBadRequest, badJSON, err.Error())
		}
		if order.At.IsZero() {
			order.At = shopifyTriggeredAt(in.header(shopifyTriggeredAtHeader))
		}
		a, err := ingest.ShopifyOrder(k.d.Config, shop, topic, order)
		if err != nil {
			return reject(http.StatusBadRequest, badRequest, err.Error())
		}
		a.Keys = shopifyDeliveryKeys(in.r.Header)
		return in.accept(a)
	}
}

// shopifyRefund handles refunds/create.
func (k *intake) shopifyRefund(in *incoming, shop config.Shop) answer {
	refund, err := webhook.ParseShopifyRefund(in.body)
	if err != nil {
		return reject(http.StatusBadRequest, badJSON, err.Error())
	}
	a := ingest.ShopifyRefund(shop, refund)
	a.Keys = shopifyDeliveryKeys(in.r.Header)
	return in.accept(a)
}

// shopifyTriggeredAt reads X-Shopify-Triggered-At (RFC 3339); zero when
// it is missing or not a time.
func shopifyTriggeredAt(header string) time.Time {
	t, err := time.Parse(time.RFC3339, header)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// wooAccepted chooses what the store is handed of a WooCommerce
// order (order.created or order.updated), or the 402 of an unpaid order
// the site refuses (config.Site.RefusesUnpaid).
func (k *intake) wooAccepted(order enroll.Order, site config.Site) (store.Accepted, answer) {
	a, err := ingest.WooCommerceOrder(k.d.Config, site, order)
	if errors.Is(err, ingest.ErrUnpaid) {
		return store.Accepted{}, answer{status: http.StatusPaymentRequired, code: unpaid, reason: "order is not paid", keepBody: true}
	}
	return a, answer{}
}
