package enroll

import (
	"fmt"
	"strings"
)

// What operators read about statuses, desired states, orders and seats:
// the console and the command line show the same words.

// Describe says in a few words what an item in status s is waiting for or
// has reached; "" for a status that is not one of ItemStatuses.
func (s ItemStatus) Describe() string {
	switch s {
	case ItemPending:
		return "waits for its first attempt"
	case ItemRetrying:
		return "failed for a passing reason; tried again after a pause"
	case ItemEnrolled:
		return "enrolled in the course"
	case ItemAllowed:
		return "no account yet: the LMS enrolls the learner on registration"
	case ItemAwaitingRegistration:
		return "no account yet: allowed, and enrolled in the mode bought once the learner registers"
	case ItemUnenrolled:
		return "not enrolled, as its order asks: cancelled or refunded"
	case ItemFailed:
		return "failed for good, or ran out of attempts"
	case ItemResolved:
		return "marked resolved by an operator, with a note"
	}
	return ""
}

// Towards returns the desired state w of an item in status s when the item
// is on its way there and its status alone does not say so: to be
// unenrolled and not unenrolled yet, or unenrolled and to be enrolled again
// (its order re-opened). "" otherwise: an item that is pending, retrying or
// failed on its way to being enrolled says so by its status, and a resolved
// one goes nowhere (an operator decided it needs nothing more).
func (s ItemStatus) Towards(w Want) Want {
	if s.Reached(w) || s == ItemResolved || w != WantUnenrolled && s != ItemUnenrolled {
		return ""
	}
	return w
}

// PartialRefundNote is what operators are told of an order refunded in
// part without the refunded lines (a WooCommerce partial refund).
const PartialRefundNote = "partially refunded — learners kept; the shop's API integration can read the refunded lines"

// Notes lists what a snapshot says beyond the shop's status: cancelled,
// refunded, and a partial refund with PartialRefundNote. Empty for an order
// that is none of these, or whose shop status says it already (WooCommerce's
// "cancelled" and "refunded").
func (s Snapshot) Notes() []string {
	var notes []string
	add := func(note string) {
		if !strings.EqualFold(strings.TrimSpace(s.ShopStatus), note) {
			notes = append(notes, note)
		}
	}
	if s.Cancelled {
		add("cancelled")
	}
	if s.Refunded {
		add("refunded")
	}
	if s.PartialRefund && !s.Refunded {
		add(PartialRefundNote)
	}
	return notes
}

// Seats tells how the seats of one line item are used: Quantity seats
// bought, Assigned of them to learners (one item each), Refunded of those
// learners' seats taken back by a refund.
type Seats struct {
	Quantity   int `json:"quantity"`
	Assigned   int `json:"assigned"`
	Unassigned int `json:"unassigned"`
	Refunded   int `json:"refunded"`
}

// LineSeats counts the seats of a line of quantity seats whose items are
// learners, refunded of them refunded. A line naming more learners than
// seats counts as that many seats (as RefundedSeats does): no learner is
// left out, none is invented.
func LineSeats(quantity, learners, refunded int) Seats {
	quantity = max(quantity, learners, 1)
	return Seats{Quantity: quantity, Assigned: learners, Unassigned: quantity - learners, Refunded: refunded}
}

// String reads "2 of 5 seats assigned", or "1 seat" for a line of one
// seat and one learner.
func (s Seats) String() string {
	if s.Quantity == 1 && s.Assigned == 1 {
		return "1 seat"
	}
	seats := "seats"
	if s.Quantity == 1 {
		seats = "seat"
	}
	return fmt.Sprintf("%d of %d %s assigned", s.Assigned, s.Quantity, seats)
}
