// Package ingest holds the rules that turn what a shop says of an order (a
// webhook, a delivery replayed, an order read from the shop's API) into
// what the store is handed: a snapshot of the order or a refund of it,
// whether it awaits payment, whether refunds unenroll, its courses as
// configured, the keys that make a copy of it a duplicate. The webhook
// endpoints (internal/server), Replay and Reconcile (internal/ops) all
// call these functions, so that an order reads the same whichever way it
// arrives. The rules that apply what the store is handed are the store's
// and enroll's.
package ingest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// The Shopify topics whose payload is the order or a refund of it.
const (
	// OrdersCreate: a new order, paid or not.
	OrdersCreate = "orders/create"
	// OrdersPaid: the order is paid, whatever its financial status says.
	OrdersPaid = "orders/paid"
	// OrdersCancelled: the order is cancelled, whatever its cancelled_at says.
	OrdersCancelled = "orders/cancelled"
	// OrdersUpdated: the order as it is now; what reconciliation reads from
	// the shop's API, and stores under this topic so that a replay reads it
	// the same way.
	OrdersUpdated = "orders/updated"
	// RefundsCreate: a refund of the order's lines.
	RefundsCreate = "refunds/create"
)

// ErrNotOrderTopic is returned for a Shopify topic whose payload is not an
// order ("topic %q is not an order's").
var ErrNotOrderTopic = errors.New("is not an order's")

// ErrUnpaid is returned for a WooCommerce order the site refuses unpaid
// (config.Site.RefusesUnpaid): it is stored when the site sends it paid.
var ErrUnpaid = errors.New("order is not paid")

// ShopifyOrder is what the store is handed of a snapshot of a Shopify
// order delivered under topic ("" is orders/create, the only topic once
// handled): paid by orders/paid, cancelled by orders/cancelled, awaiting
// payment when the shop requires it and the financial status is not a paid
// one. An order read as it is now (OrdersUpdated) that was refunded was
// paid: it awaits no payment. Keys are left to the caller.
func ShopifyOrder(cfg config.Config, shop config.Shop, topic string, order enroll.Order) (store.Accepted, error) {
	if err := ShopifyOrderTopic(topic); err != nil {
		return store.Accepted{}, err
	}
	if topic == OrdersCancelled {
		order.Cancelled = true
	}
	awaiting := topic != OrdersPaid && shop.AwaitsPayment(order.ShopStatus)
	if topic == OrdersUpdated && refundedStatus(order.ShopStatus) {
		awaiting = false
	}
	cfg.ApplyCourses(order.Items)
	return store.Accepted{Order: order, AwaitingPayment: awaiting, UnenrollOnRefund: shop.UnenrollOnRefund}, nil
}

// ShopifyOrderTopic returns ErrNotOrderTopic for a Shopify topic whose
// payload is not an order, and nil for one whose payload is.
func ShopifyOrderTopic(topic string) error {
	switch topic {
	case "", OrdersCreate, OrdersPaid, OrdersCancelled, OrdersUpdated:
		return nil
	}
	return fmt.Errorf("topic %q %w", topic, ErrNotOrderTopic)
}

// refundedStatus reports whether a Shopify financial status says money
// was paid back, so was paid.
func refundedStatus(financialStatus string) bool {
	s := strings.ToLower(strings.TrimSpace(financialStatus))
	return s == "refunded" || s == "partially_refunded"
}

// ShopifyRefund is what the store is handed of a Shopify refund
// (refunds/create): a refund of the order it names.
func ShopifyRefund(shop config.Shop, refund enroll.Refund) store.Accepted {
	return store.Accepted{Order: enroll.Order{Platform: enroll.Shopify, ID: refund.OrderID}, Refund: &refund,
		UnenrollOnRefund: shop.UnenrollOnRefund}
}

// WooCommerceOrder is what the store is handed of a WooCommerce order
// (order.created, order.updated, or read from the site's API), with its
// dedup keys (WooDeliveryKeys); ErrUnpaid for an unpaid order the site
// refuses (config.Site.RefusesUnpaid).
func WooCommerceOrder(cfg config.Config, site config.Site, order enroll.Order) (store.Accepted, error) {
	if site.RefusesUnpaid(order) {
		return store.Accepted{}, ErrUnpaid
	}
	cfg.ApplyCourses(order.Items)
	return store.Accepted{Order: order, Keys: WooDeliveryKeys(order), UnenrollOnRefund: site.UnenrollOnRefund,
		AwaitingPayment: site.AwaitsPayment(order)}, nil
}

// WooCommerceRefund is what the store is handed of a refund of a
// WooCommerce order read from the site's /orders/<id>/refunds: the
// lines it refunded, which the order's webhooks do not name.
func WooCommerceRefund(site config.Site, refund enroll.Refund) store.Accepted {
	return store.Accepted{Order: enroll.Order{Platform: enroll.WooCommerce, ID: refund.OrderID}, Refund: &refund,
		UnenrollOnRefund: site.UnenrollOnRefund}
}

// wooDateGMT is the layout of WooCommerce's date_modified_gmt.
const wooDateGMT = "2006-01-02T15:04:05"

// WooDeliveryKeys is a WooCommerce order's dedup key: WooCommerce has no
// stable delivery id, but the order's id, status and modification time
// name one state of the order, whichever way it arrives. An order without
// a modification time has none.
func WooDeliveryKeys(o enroll.Order) []string {
	if o.At.IsZero() {
		return nil
	}
	return []string{"order:" + strconv.FormatInt(o.ID, 10) + ":" + Printable(o.ShopStatus, 64) + ":" + o.At.UTC().Format(wooDateGMT)}
}

// Printable returns s for storing and showing although nobody vouches for
// it: control characters, invisible formatting characters and bytes that
// are not UTF-8 escaped as \xNN or \uNNNN, cut to at most max bytes (and an
// ellipsis).
func Printable(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && width == 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case r == '\\':
			piece = `\\`
		case unicode.IsPrint(r):
			piece = s[i : i+width]
		case r < 0x100:
			piece = fmt.Sprintf(`\x%02x`, r)
		default:
			piece = fmt.Sprintf(`\u%04x`, r)
		}
		if b.Len()+len(piece) > max {
			b.WriteString("…")
			break
		}
		b.WriteString(piece)
		i += width
	}
	return b.String()
}
