// Package enroll holds the vocabulary shared by every part of the receiver:
// orders bought in a shop, the items each of them asks to enroll, and their
// statuses. It imports the standard library only.
package enroll

import (
	"errors"
	"net/url"
	"slices"
	"strings"
)

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
	// Snapshot is the order's state beyond its items, as the payload shows it.
	Snapshot
}

// Item is one line item: one learner to enroll in the course a SKU names.
type Item struct {
	LineItemID int64  `json:"line_item_id"`
	SKU        string `json:"sku"`
	// Email is the learner's email with the shop's fallbacks already applied;
	// empty when the order carries none. A line naming several learners
	// gives one Item each, with the same LineItemID.
	Email string `json:"email"`
	// Quantity is the seats bought on the item's line (at least 1): seats
	// beyond the line's learners are unassigned, never guessed.
	Quantity int `json:"quantity,omitempty"`
	// Mode is the enrollment mode (certificate track) bought, from the
	// course settings; empty for the course's default.
	Mode string `json:"mode,omitempty"`
	// CourseID is the course, when the course settings name it; empty to
	// look it up by SKU.
	CourseID string `json:"course_id,omitempty"`
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
	// ItemAwaitingRegistration is allowed (as ItemAllowed) in a course bought
	// in a mode other than the default: a periodic check sets the mode once
	// the learner's account exists.
	ItemAwaitingRegistration ItemStatus = "awaiting_registration"
	// ItemUnenrolled is not enrolled, as its desired state asks: its order
	// was cancelled or refunded.
	ItemUnenrolled ItemStatus = "unenrolled"
	// ItemFailed failed permanently or ran out of attempts.
	ItemFailed ItemStatus = "failed"
	// ItemResolved was marked resolved by an operator, with a note: it needs
	// nothing more, and does not make its order an error.
	ItemResolved ItemStatus = "resolved"
)

// ItemStatuses lists every item status, in the order of an item's life.
func ItemStatuses() []ItemStatus {
	return []ItemStatus{ItemPending, ItemRetrying, ItemEnrolled, ItemAllowed, ItemAwaitingRegistration,
		ItemUnenrolled, ItemFailed, ItemResolved}
}

// OrderStatuses lists every order status, in the order of an order's life.
func OrderStatuses() []OrderStatus {
	return []OrderStatus{OrderAwaitingPayment, OrderNew, OrderProcessing, OrderProcessed, OrderError}
}

// Valid reports whether s is one of the item statuses.
func (s ItemStatus) Valid() bool { return slices.Contains(ItemStatuses(), s) }

// Valid reports whether s is one of the order statuses.
func (s OrderStatus) Valid() bool { return slices.Contains(OrderStatuses(), s) }

// What an operator may do to an item in each status. These lists are the
// only statement of the rule: the store builds its WHERE clauses from them,
// the console shows its buttons by them, the command line prints them.

// RetryableStatuses are the statuses of items an operator may retry: a
// failed or resolved item gets a new chance, a retrying one is tried now
// instead of after its backoff. Pending items are waiting for their first
// attempt already; enrolled and allowed ones need nothing.
func RetryableStatuses() []ItemStatus {
	return []ItemStatus{ItemFailed, ItemResolved, ItemRetrying}
}

// ResolvableStatuses are the statuses of items an operator may mark
// resolved by hand: those the LMS has not enrolled and no operator has
// resolved yet. A resolved item keeps its first note; retry it to reopen it.
func ResolvableStatuses() []ItemStatus {
	return []ItemStatus{ItemPending, ItemRetrying, ItemAwaitingRegistration, ItemFailed}
}

// Retryable reports whether an operator may retry an item in status s.
func (s ItemStatus) Retryable() bool { return slices.Contains(RetryableStatuses(), s) }

// Resolvable reports whether an operator may mark an item in status s resolved.
func (s ItemStatus) Resolvable() bool { return slices.Contains(ResolvableStatuses(), s) }

// Done reports whether the item needs no more attempts.
func (s ItemStatus) Done() bool {
	return s == ItemEnrolled || s == ItemAllowed || s == ItemAwaitingRegistration || s == ItemUnenrolled ||
		s == ItemFailed || s == ItemResolved
}

// Reached reports whether an item in status s is in its desired state w, so
// that a change of w needs a new attempt only when it does not.
func (s ItemStatus) Reached(w Want) bool {
	switch s {
	case ItemEnrolled, ItemAllowed, ItemAwaitingRegistration:
		return w == WantEnrolled
	case ItemUnenrolled:
		return w == WantUnenrolled
	}
	return false
}

// Or joins statuses for a sentence: "failed, resolved or retrying".
func Or[S ~string](statuses []S) string {
	words := make([]string, len(statuses))
	for i, s := range statuses {
		words[i] = string(s)
	}
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// Outcome names what one attempt at enrolling an item ended with; it is
// stored with the attempt and shown to operators.
type Outcome string

const (
	// OutcomeEnrolled: the LMS enrolled the learner.
	OutcomeEnrolled Outcome = "enrolled"
	// OutcomeAllowed: the learner has no account yet; the LMS enrolls them
	// when they register.
	OutcomeAllowed Outcome = "allowed"
	// OutcomeUnenrolled: the LMS unenrolled the learner (or removed the
	// email from the learners allowed to enroll on registration).
	OutcomeUnenrolled Outcome = "unenrolled"
	// OutcomeRetry: a transient failure (no answer, a 5xx, an unconfirmed
	// result); the item is tried again after a backoff.
	OutcomeRetry Outcome = "retry"
	// OutcomeThrottled: the LMS answered 429 with Retry-After; the attempt
	// is put off without using the item's attempt budget.
	OutcomeThrottled Outcome = "throttled"
	// OutcomeFailed: a permanent failure, or the attempts ran out.
	OutcomeFailed Outcome = "failed"
)

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

// SourceKey is the form in which two names of one shop compare equal: a
// Shopify domain ignores case; a WooCommerce site URL ignores the case of
// its scheme and host and a trailing slash, but not the case of its path
// (WordPress paths are case-sensitive). Surrounding spaces never count.
func SourceKey(p Platform, source string) string {
	source = strings.TrimSpace(source)
	if p == Shopify {
		return strings.ToLower(source)
	}
	u, err := url.Parse(source)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return strings.TrimSuffix(source, "/")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u.String()
}

// SameSource reports whether a and b name the same shop of platform p.
func SameSource(p Platform, a, b string) bool { return SourceKey(p, a) == SourceKey(p, b) }
