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
	}
	for _, tt := range tests {
		if got := StatusOf(tt.items); got != tt.want {
			t.Errorf("StatusOf(%v) = %s; want %s", tt.items, got, tt.want)
		}
	}
}
