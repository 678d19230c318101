package enroll

import (
	"slices"
	"strings"
	"time"
)

// The life of an order after it is bought: every payload a shop sends is a
// snapshot of the order's current state, and every item has a desired state
// that its enrollment job drives the LMS towards. The rules that turn
// snapshots, refunds and settings into desired states are here, and only here.

// Want is an item's desired state.
type Want string

const (
	// WantEnrolled: the learner should be enrolled (in the item's mode).
	WantEnrolled Want = "enrolled"
	// WantUnenrolled: the learner should not be enrolled: the order was
	// cancelled or refunded, with unenroll_on_refund on.
	WantUnenrolled Want = "unenrolled"
)

// Action is the bulk enrollment API's action for a desired state.
func (w Want) Action() string {
	if w == WantUnenrolled {
		return "unenroll"
	}
	return "enroll"
}

// Snapshot is the state of an order a payload shows, beyond its items.
type Snapshot struct {
	// At is the time of the snapshot: Shopify's updated_at (or, without it,
	// X-Shopify-Triggered-At), WooCommerce's date_modified_gmt; zero when the
	// payload does not say. An older snapshot than one applied changes nothing.
	At time.Time `json:"at,omitzero"`
	// ShopStatus is Shopify's financial_status or WooCommerce's status.
	ShopStatus string `json:"shop_status,omitempty"`
	// Cancelled: Shopify's cancelled_at is set, or WooCommerce's status is cancelled.
	Cancelled bool `json:"cancelled,omitempty"`
	// Refunded: the whole order was refunded (WooCommerce status refunded).
	Refunded bool `json:"refunded,omitempty"`
	// PartialRefund: some of the order was refunded, and the payload does not
	// say which lines (WooCommerce's refunds list holds totals only).
	PartialRefund bool `json:"partial_refund,omitempty"`
}

// Stale reports whether a snapshot taken at at is older than the one applied
// at applied. A snapshot with no time is never stale; neither is one of the
// same time (applying it again changes nothing).
func Stale(at, applied time.Time) bool {
	return !at.IsZero() && !applied.IsZero() && at.Before(applied)
}

// Desired is the desired state of an item: not enrolled once a refund took
// its seat, or once the order is cancelled or wholly refunded and the shop
// unenrolls on refund; enrolled otherwise. With unenrollOnRefund off, refunds
// and cancellations are recorded and the learners stay enrolled.
func Desired(s Snapshot, itemRefunded, unenrollOnRefund bool) Want {
	if unenrollOnRefund && (itemRefunded || s.Cancelled || s.Refunded) {
		return WantUnenrolled
	}
	return WantEnrolled
}

// RefundedSeats returns how many of a line's assigned learners lose their
// seat when refunded of its quantity seats are refunded: unassigned seats
// go first, then the learners listed last. A line of 5 seats with 2
// learners loses none to a refund of 3 seats, and one to a refund of 4.
func RefundedSeats(quantity, learners, refunded int) int {
	quantity = max(quantity, learners)
	return min(learners, max(0, learners-(quantity-refunded)))
}

// Refund is one refund of an order (Shopify refunds/create).
type Refund struct {
	// ID is the shop's refund id.
	ID int64 `json:"id"`
	// OrderID is the shop's order id.
	OrderID int64 `json:"order_id"`
	// At is when the shop made the refund; zero when the payload does not say.
	At    time.Time    `json:"at,omitzero"`
	Lines []RefundLine `json:"lines"`
}

// RefundLine is the refunded quantity of one line item.
type RefundLine struct {
	LineItemID int64 `json:"line_item_id"`
	Quantity   int   `json:"quantity"`
}

// PaidStatuses are the Shopify financial statuses that count as paid when a
// shop requires payment and does not list its own.
func PaidStatuses() []string { return []string{"paid"} }

// IsPaid reports whether a Shopify financial status is one of accepted
// (PaidStatuses when empty). Case and surrounding spaces do not count.
func IsPaid(financialStatus string, accepted []string) bool {
	if len(accepted) == 0 {
		accepted = PaidStatuses()
	}
	s := strings.ToLower(strings.TrimSpace(financialStatus))
	return slices.ContainsFunc(accepted, func(a string) bool { return strings.EqualFold(strings.TrimSpace(a), s) })
}

// Redaction asks to erase a customer's personal data (Shopify
// customers/redact, or an operator's privacy redact), or a whole shop's
// (shop/redact). It never unenrolls anyone.
type Redaction struct {
	// Email is the customer's email; empty for a whole shop.
	Email string `json:"email,omitempty"`
	// CustomerID is Shopify's customer id, 0 when unknown.
	CustomerID int64 `json:"customer_id,omitempty"`
	// OrderIDs are the shop order ids to redact; with Email, the orders and
	// items holding that email are redacted too.
	OrderIDs []int64 `json:"order_ids,omitempty"`
	// WholeShop redacts every order of the shop (shop/redact).
	WholeShop bool `json:"whole_shop,omitempty"`
}

// DataRequest is a customer's request for the data stored about them
// (Shopify customers/data_request).
type DataRequest struct {
	Email      string  `json:"email"`
	CustomerID int64   `json:"customer_id,omitempty"`
	OrderIDs   []int64 `json:"order_ids,omitempty"`
	// RequestID is Shopify's data_request.id.
	RequestID int64 `json:"request_id,omitempty"`
}
