package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// The Shopify topics of an order's life. Each payload is a snapshot of the
// order, or a refund of it; the handlers parse it and choose, by the
// shop's settings, what the store is handed. The rules that apply it are
// enroll's and the store's.

// orderTopic is what a Shopify topic whose payload is the order says
// beyond the payload.
type orderTopic int

const (
	orderCreated   orderTopic = iota // orders/create: paid or not
	orderPaid                        // orders/paid: paid, whatever its financial status says
	orderCancelled                   // orders/cancelled: cancelled, whatever its cancelled_at says
)

// shopifyTriggeredAtHeader is when Shopify triggered the delivery: the
// snapshot's time, when the payload has no updated_at.
const shopifyTriggeredAtHeader = "X-Shopify-Triggered-At"

// shopifyOrder handles a topic whose payload is the order.
func (k *intake) shopifyOrder(topic orderTopic) func(in *incoming, shop config.Shop) answer {
	return func(in *incoming, shop config.Shop) answer {
		order, err := webhook.ParseShopifyOrder(in.body)
		if err != nil {
			return reject(http.StatusBadRequest, badJSON, err.Error())
		}
		if order.At.IsZero() {
			order.At = shopifyTriggeredAt(in.header(shopifyTriggeredAtHeader))
		}
		if topic == orderCancelled {
			order.Cancelled = true
		}
		return in.accept(store.Accepted{Order: order, Keys: shopifyDeliveryKeys(in.r.Header),
			AwaitingPayment: topic != orderPaid && shop.AwaitsPayment(order.ShopStatus), UnenrollOnRefund: shop.UnenrollOnRefund})
	}
}

// shopifyRefund handles refunds/create.
func (k *intake) shopifyRefund(in *incoming, shop config.Shop) answer {
	refund, err := webhook.ParseShopifyRefund(in.body)
	if err != nil {
		return reject(http.StatusBadRequest, badJSON, err.Error())
	}
	return in.accept(store.Accepted{Order: enroll.Order{Platform: enroll.Shopify, ID: refund.OrderID}, Refund: &refund,
		Keys: shopifyDeliveryKeys(in.r.Header), UnenrollOnRefund: shop.UnenrollOnRefund})
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

// wooCommerceOrder chooses what the store is handed of a WooCommerce
// order (order.created or order.updated), or the 402 of an unpaid order
// the site refuses (config.Site.RefusesUnpaid).
func wooCommerceOrder(order enroll.Order, site config.Site) (store.Accepted, answer) {
	if site.RefusesUnpaid(order) {
		return store.Accepted{}, answer{status: http.StatusPaymentRequired, code: unpaid, reason: "order is not paid", keepBody: true}
	}
	return store.Accepted{Order: order, Keys: wooDeliveryKeys(order), UnenrollOnRefund: site.UnenrollOnRefund,
		AwaitingPayment: site.AwaitsPayment(order)}, answer{}
}

// wooDateGMT is the layout of WooCommerce's date_modified_gmt.
const wooDateGMT = "2006-01-02T15:04:05"

// wooDeliveryKeys is a WooCommerce delivery's dedup key: WooCommerce has
// no stable delivery id, but the order's id, status and modification time
// name one state of the order. An order without a modification time has
// none.
func wooDeliveryKeys(o enroll.Order) []string {
	if o.At.IsZero() {
		return nil
	}
	return []string{"order:" + strconv.FormatInt(o.ID, 10) + ":" + printable(o.ShopStatus, 64) + ":" + o.At.UTC().Format(wooDateGMT)}
}
