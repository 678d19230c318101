package enroll

import (
	"slices"
	"testing"
)

func TestEveryItemStatusIsDescribed(t *testing.T) {
	seen := map[string]ItemStatus{}
	for _, s := range ItemStatuses() {
		d := s.Describe()
		if d == "" {
			t.Errorf("status %s has no description", s)
		}
		if other, ok := seen[d]; ok {
			t.Errorf("statuses %s and %s read the same: %q", other, s, d)
		}
		seen[d] = s
	}
	if ItemStatus("nonsense").Describe() != "" {
		t.Error("an unknown status is described")
	}
}

func TestSnapshotNotes(t *testing.T) {
	tests := []struct {
		s    Snapshot
		want []string
	}{
		{Snapshot{ShopStatus: "paid"}, nil},
		{Snapshot{Cancelled: true}, []string{"cancelled"}},
		{Snapshot{Cancelled: true, Refunded: true}, []string{"cancelled", "refunded"}},
		{Snapshot{PartialRefund: true}, []string{PartialRefundNote}},
		// Refunded in part, then in whole: the whole refund says it all.
		{Snapshot{PartialRefund: true, Refunded: true}, []string{"refunded"}},
		// WooCommerce's status says it already.
		{Snapshot{ShopStatus: "refunded", Refunded: true}, nil},
		{Snapshot{ShopStatus: "Cancelled", Cancelled: true, Refunded: true}, []string{"refunded"}},
	}
	for _, tt := range tests {
		if got := tt.s.Notes(); !slices.Equal(got, tt.want) {
			t.Errorf("%+v.Notes() = %q; want %q", tt.s, got, tt.want)
		}
	}
}

func TestLineSeats(t *testing.T) {
	tests := []struct {
		quantity, learners, refunded int
		want                         Seats
		text                         string
	}{
		{1, 1, 0, Seats{1, 1, 0, 0}, "1 seat"},
		{5, 2, 1, Seats{5, 2, 3, 1}, "2 of 5 seats assigned"},
		{3, 3, 0, Seats{3, 3, 0, 0}, "3 of 3 seats assigned"},
		// More learners named than seats bought: none is left out.
		{1, 3, 0, Seats{3, 3, 0, 0}, "3 of 3 seats assigned"},
		// Stored before quantities were kept.
		{0, 1, 0, Seats{1, 1, 0, 0}, "1 seat"},
	}
	for _, tt := range tests {
		got := LineSeats(tt.quantity, tt.learners, tt.refunded)
		if got != tt.want || got.String() != tt.text {
			t.Errorf("LineSeats(%d, %d, %d) = %+v %q; want %+v %q", tt.quantity, tt.learners, tt.refunded, got, got, tt.want, tt.text)
		}
	}
}

func TestTowards(t *testing.T) {
	tests := []struct {
		s    ItemStatus
		w    Want
		want Want
	}{
		{ItemPending, WantEnrolled, ""},
		{ItemFailed, WantEnrolled, ""},
		{ItemEnrolled, WantEnrolled, ""},
		{ItemEnrolled, WantUnenrolled, WantUnenrolled},
		{ItemRetrying, WantUnenrolled, WantUnenrolled},
		{ItemAwaitingRegistration, WantUnenrolled, WantUnenrolled},
		{ItemUnenrolled, WantUnenrolled, ""},
		{ItemUnenrolled, WantEnrolled, WantEnrolled},
		{ItemResolved, WantUnenrolled, ""},
	}
	for _, tt := range tests {
		if got := tt.s.Towards(tt.w); got != tt.want {
			t.Errorf("%s.Towards(%s) = %q; want %q", tt.s, tt.w, got, tt.want)
		}
	}
}
