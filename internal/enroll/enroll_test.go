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
		{[]ItemStatus{ItemUnenrolled, ItemEnrolled}, OrderProcessed},
		{[]ItemStatus{ItemAwaitingRegistration}, OrderProcessed},
	}
	for _, tt := range tests {
		if got := StatusOf(tt.items); got != tt.want {
			t.Errorf("StatusOf(%v) = %s; want %s", tt.items, got, tt.want)
		}
	}
}

func TestDone(t *testing.T) {
	for s, want := range map[ItemStatus]bool{ItemPending: false, ItemRetrying: false, ItemEnrolled: true,
		ItemAllowed: true, ItemAwaitingRegistration: true, ItemUnenrolled: true, ItemFailed: true, ItemResolved: true} {
		if got := s.Done(); got != want {
			t.Errorf("%s.Done() = %v; want %v", s, got, want)
		}
	}
}

func TestWhatAStatusAllows(t *testing.T) {
	tests := []struct {
		status                ItemStatus
		retryable, resolvable bool
	}{
		{ItemPending, false, true},
		{ItemRetrying, true, true},
		{ItemEnrolled, false, false},
		{ItemAllowed, false, false},
		{ItemAwaitingRegistration, false, true},
		{ItemUnenrolled, false, false},
		{ItemFailed, true, true},
		{ItemResolved, true, false},
	}
	if len(tests) != len(ItemStatuses()) {
		t.Fatalf("the table covers %d statuses; there are %d", len(tests), len(ItemStatuses()))
	}
	for _, tt := range tests {
		if got := tt.status.Retryable(); got != tt.retryable {
			t.Errorf("%s.Retryable() = %v; want %v", tt.status, got, tt.retryable)
		}
		if got := tt.status.Resolvable(); got != tt.resolvable {
			t.Errorf("%s.Resolvable() = %v; want %v", tt.status, got, tt.resolvable)
		}
		if !tt.status.Valid() {
			t.Errorf("%s is not Valid", tt.status)
		}
	}
	if ItemStatus("refunded").Valid() || ItemStatus("refunded").Retryable() || ItemStatus("").Resolvable() {
		t.Error("an unknown status allows something")
	}
	for _, s := range OrderStatuses() {
		if !s.Valid() || ItemStatus(s).Valid() {
			t.Errorf("order status %s: Valid %v, an item status %v", s, s.Valid(), ItemStatus(s).Valid())
		}
	}
}

func TestOr(t *testing.T) {
	for _, tt := range []struct {
		in   []ItemStatus
		want string
	}{
		{nil, ""},
		{[]ItemStatus{ItemFailed}, "failed"},
		{[]ItemStatus{ItemFailed, ItemResolved}, "failed or resolved"},
		{RetryableStatuses(), "failed, resolved or retrying"},
	} {
		if got := Or(tt.in); got != tt.want {
			t.Errorf("Or(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameSource(t *testing.T) {
	tests := []struct {
		p    Platform
		a, b string
		want bool
	}{
		{Shopify, "courses.myshopify.com", "Courses.MyShopify.COM", true},
		{Shopify, "courses.myshopify.com", " courses.myshopify.com ", true},
		{Shopify, "courses.myshopify.com", "other.myshopify.com", false},
		{WooCommerce, "https://shop.example.com", "https://shop.example.com/", true},
		{WooCommerce, "https://shop.example.com", "HTTPS://Shop.Example.COM/", true},
		{WooCommerce, "https://example.com/Shop", "https://EXAMPLE.com/Shop/", true},
		{WooCommerce, "https://example.com/Shop", "https://example.com/shop", false},
		{WooCommerce, "https://shop.example.com", "http://shop.example.com", false},
		{WooCommerce, "shop.example.com/", "shop.example.com", true},
	}
	for _, tt := range tests {
		if got := SameSource(tt.p, tt.a, tt.b); got != tt.want {
			t.Errorf("SameSource(%s, %q, %q) = %v; want %v", tt.p, tt.a, tt.b, got, tt.want)
		}
	}
}
