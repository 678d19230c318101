package enroll

import "testing"

func TestStatusOf(t *testing.T) {
	tests := []struct {
		items []ItemStatus
		want  OrderStatus
	}{
		{nil, OrderNew},
		{[]ItemStatus{ItemPending, ItemPending}, OrderNew},
		{[]ItemStatus{ItemRetrying}, OrderProcessing},
		{[]ItemStatus{ItemEnrolled, ItemPending}, OrderProcessing},
		{[]ItemStatus{ItemFailed, ItemPending}, OrderProcessing},
		{[]ItemStatus{ItemEnrolled, ItemAllowed}, OrderProcessed},
		{[]ItemStatus{ItemEnrolled, ItemFailed}, OrderError},
		{[]ItemStatus{ItemFailed}, OrderError},
		{[]ItemStatus{ItemResolved}, OrderProcessed},
		{[]ItemStatus{ItemEnrolled, ItemAllowed, ItemResolved}, OrderProcessed},
		{[]ItemStatus{ItemResolved, ItemFailed}, OrderError},
		{[]ItemStatus{ItemResolved, ItemPending}, OrderProcessing},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.items); got != tt.want {
			t.Errorf("StatusOf(%v) = %s; want %s", tt.items, got, tt.want)
		}
	}
}

func TestDone(t *testing.T) {
	for s, want := range map[ItemStatus]bool{ItemPending: false, ItemRetrying: false, ItemEnrolled: true,
		ItemAllowed: true, ItemFailed: true, ItemResolved: true} {
		if got := s.Done(); got != want {
			t.Errorf("%s.Done() = %v; want %v", s, got, want)
		}
	}
}
