// Package enroll holds the vocabulary shared by every part of the receiver:
// orders bought in a shop, the items each of them asks to enroll, and their
// statuses. It imports the standard library only.
package enroll

import "errors"

// Platform is the shop software an order comes from.
type Platform string

const (
	Shopify     Platform = "shopify"
	WooCommerce Platform = "woocommerce"
)

// Order is a shop order reduced to what enrollment needs.
type Order struct {
	Platform Platform `json:"platform"`
	// Source is the shop domain (Shopify) or site URL (WooCommerce) that sent it.
	Source string `json:"source"`
	// ID is the shop's own order id; shops use ids above 2^31.
	ID int64 `json:"id"`
	// Email is the buyer's email, when the order has one.
	Email string `json:"email,omitempty"`
	// Paid is false when the shop says the order is not paid yet
	// (WooCommerce: date_paid_gmt is empty). Shopify orders are always Paid.
	Paid  bool   `json:"paid"`
	Items []Item `json:"items"`
}

// Item is one line item: one learner to enroll in the course a SKU names.
type Item struct {
	LineItemID int64  `json:"line_item_id"`
	SKU        string `json:"sku"`
	// Email is the learner's email with the shop's fallbacks already applied;
	// empty when the order carries none.
	Email string `json:"email"`
}

// OrderStatus is where an order is in its life.
type OrderStatus string

const (
	OrderAwaitingPayment OrderStatus = "AWAITING_PAYMENT"
	OrderNew             OrderStatus = "NEW"
	OrderProcessing      OrderStatus = "PROCESSING"
	OrderProcessed       OrderStatus = "PROCESSED"
	OrderError           OrderStatus = "ERROR"
)

// ItemStatus is where one enrollment is in its life.
type ItemStatus string

const (
	// ItemPending waits for its first attempt.
	ItemPending ItemStatus = "pending"
	// ItemRetrying had a transient failure and waits for another attempt.
	ItemRetrying ItemStatus = "retrying"
	// ItemEnrolled is enrolled in the course.
	ItemEnrolled ItemStatus = "enrolled"
	// ItemAllowed has no LMS account yet; the LMS enrolls the learner on registration.
	ItemAllowed ItemStatus = "allowed"
	// ItemFailed failed permanently or ran out of attempts.
	ItemFailed ItemStatus = "failed"
	// ItemResolved was marked resolved by an operator, with a note: it needs
	// nothing more, and does not make its order an error.
	ItemResolved ItemStatus = "resolved"
)

// Done reports whether the item needs no more attempts.
func (s ItemStatus) Done() bool {
	return s == ItemEnrolled || s == ItemAllowed || s == ItemFailed || s == ItemResolved
}

// StatusOf derives an order's status from its items' statuses.
func StatusOf(items []ItemStatus) OrderStatus {
	if len(items) == 0 {
		return OrderNew
	}
	started, failed := false, false
	for _, s := range items {
		switch s {
		case ItemPending:
		case ItemRetrying:
			started = true
		case ItemFailed:
			started, failed = true, true
		default:
			started = true
		}
	}
	for _, s := range items {
		if !s.Done() {
			if started {
				return OrderProcessing
			}
			return OrderNew
		}
	}
	if failed {
		return OrderError
	}
	return OrderProcessed
}

// ErrNotFound is returned when a requested record does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned for an action the item's state does not allow
// now, such as resolving an enrolled item or one a job is enrolling.
var ErrConflict = errors.New("not possible in the item's current state")
