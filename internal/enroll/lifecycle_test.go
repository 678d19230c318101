package enroll

import (
	"testing"
	"time"
)

func TestStale(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		at, applied time.Time
		want        bool
	}{
		{t0, time.Time{}, false},
		{time.Time{}, t0, false},
		{t0, t0, false},
		{t0.Add(time.Second), t0, false},
		{t0.Add(-time.Second), t0, true},
	}
	for _, tt := range tests {
		if got := Stale(tt.at, tt.applied); got != tt.want {
			t.Errorf("Stale(%v, %v) = %v; want %v", tt.at, tt.applied, got, tt.want)
		}
	}
}

func TestDesired(t *testing.T) {
	tests := []struct {
		name             string
		s                Snapshot
		refunded, unroll bool
		want             Want
	}{
		{"paid order", Snapshot{ShopStatus: "paid"}, false, true, WantEnrolled},
		{"cancelled", Snapshot{Cancelled: true}, false, true, WantUnenrolled},
		{"refunded order", Snapshot{Refunded: true}, false, true, WantUnenrolled},
		{"refunded line", Snapshot{}, true, true, WantUnenrolled},
		{"partial refund keeps learners", Snapshot{PartialRefund: true}, false, true, WantEnrolled},
		{"cancelled, unenroll off", Snapshot{Cancelled: true}, true, false, WantEnrolled},
	}
	for _, tt := range tests {
		if got := Desired(tt.s, tt.refunded, tt.unroll); got != tt.want {
			t.Errorf("%s: Desired = %s; want %s", tt.name, got, tt.want)
		}
	}
}

func TestRefundedSeats(t *testing.T) {
	tests := []struct{ quantity, learners, refunded, want int }{
		{1, 1, 1, 1},
		{1, 1, 0, 0},
		{5, 2, 3, 0},
		{5, 2, 4, 1},
		{5, 2, 5, 2},
		{5, 2, 9, 2},
		{1, 3, 1, 1}, // a line of one seat naming three learners has three seats
		{0, 1, 1, 1},
	}
	for _, tt := range tests {
		if got := RefundedSeats(tt.quantity, tt.learners, tt.refunded); got != tt.want {
			t.Errorf("RefundedSeats(%d, %d, %d) = %d; want %d", tt.quantity, tt.learners, tt.refunded, got, tt.want)
		}
	}
}

func TestIsPaid(t *testing.T) {
	tests := []struct {
		status   string
		accepted []string
		want     bool
	}{
		{"paid", nil, true},
		{"PAID ", nil, true},
		{"pending", nil, false},
		{"authorized", nil, false},
		{"authorized", []string{"paid", "authorized"}, true},
		{"partially_paid", []string{"paid"}, false},
	}
	for _, tt := range tests {
		if got := IsPaid(tt.status, tt.accepted); got != tt.want {
			t.Errorf("IsPaid(%q, %v) = %v; want %v", tt.status, tt.accepted, got, tt.want)
		}
	}
}

func TestReached(t *testing.T) {
	for _, tt := range []struct {
		s    ItemStatus
		w    Want
		want bool
	}{
		{ItemEnrolled, WantEnrolled, true},
		{ItemEnrolled, WantUnenrolled, false},
		{ItemUnenrolled, WantUnenrolled, true},
		{ItemUnenrolled, WantEnrolled, false},
		{ItemPending, WantEnrolled, false},
		{ItemFailed, WantUnenrolled, false},
	} {
		if got := tt.s.Reached(tt.w); got != tt.want {
			t.Errorf("%s.Reached(%s) = %v; want %v", tt.s, tt.w, got, tt.want)
		}
	}
}
