package config

import (
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// The settings of an order's life after its purchase: payment before
// enrollment on Shopify, unenrollment on refund on both platforms.
func TestLifecycleSettings(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string
		want func(*Config)
	}{
		{"defaults", map[string]string{
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN": "a.myshopify.com", "WEBHOOK_RECEIVER_SHOPIFY_SECRET": "s",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE": "https://shop.example.com", "WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET": "w",
		}, "", func(c *Config) {
			c.Shopify = []Shop{{Domain: "a.myshopify.com", Secrets: []Secret{"s"}}}
			c.WooCommerce = []Site{{Source: "https://shop.example.com", Secrets: []Secret{"w"}}}
		}},
		{"environment", map[string]string{
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":            "a.myshopify.com",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET":                 "s",
			"WEBHOOK_RECEIVER_SHOPIFY_REQUIRE_PAYMENT":        "true",
			"WEBHOOK_RECEIVER_SHOPIFY_PAID_STATUSES":          " paid, partially_paid ,authorized,",
			"WEBHOOK_RECEIVER_SHOPIFY_UNENROLL_ON_REFUND":     "yes",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":             "https://shop.example.com",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET":             "w",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_UNENROLL_ON_REFUND": "on",
		}, "", func(c *Config) {
			c.Shopify = []Shop{{Domain: "a.myshopify.com", Secrets: []Secret{"s"}, RequirePayment: true,
				PaidStatuses: []string{"paid", "partially_paid", "authorized"}, UnenrollOnRefund: true}}
			c.WooCommerce = []Site{{Source: "https://shop.example.com", Secrets: []Secret{"w"}, UnenrollOnRefund: true}}
		}},
		{"file", nil, `
shopify:
  - shop_domain: a.myshopify.com
    secrets: [s]
    require_payment: true
    paid_statuses: [paid, Partially_Paid]
    unenroll_on_refund: true
woocommerce:
  - source: https://shop.example.com
    secrets: [w]
    unenroll_on_refund: true
`, func(c *Config) {
			c.Shopify = []Shop{{Domain: "a.myshopify.com", Secrets: []Secret{"s"}, RequirePayment: true,
				PaidStatuses: []string{"paid", "Partially_Paid"}, UnenrollOnRefund: true}}
			c.WooCommerce = []Site{{Source: "https://shop.example.com", Secrets: []Secret{"w"}, UnenrollOnRefund: true}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.file != "" {
				file = writeFile(t, "c.yaml", tt.file)
			}
			got, _ := mustLoad(t, tt.env, file)
			want := Default()
			tt.want(&want)
			diff(t, got, want)
		})
	}
}

func TestPaidStatusesMustBeShopifys(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		file string
		want string
	}{
		{"environment", map[string]string{
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":   "a.myshopify.com",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET":        "s",
			"WEBHOOK_RECEIVER_SHOPIFY_PAID_STATUSES": "paid,captured",
		}, "", `WEBHOOK_RECEIVER_SHOPIFY_PAID_STATUSES: each must be a Shopify financial status (pending, authorized, ` +
			`partially_paid, paid, partially_refunded, refunded, voided, expired), got "captured"`},
		{"file", nil, "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [s]\n    paid_statuses: [paid, settled]\n",
			`shopify[0].paid_statuses[1]: must be a Shopify financial status (pending, authorized, partially_paid, paid, ` +
				`partially_refunded, refunded, voided, expired), got "settled"`},
		{"file, not a list", nil, "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [s]\n    paid_statuses: {paid: 1}\n",
			`shopify[0].paid_statuses: line 4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.file != "" {
				file = writeFile(t, "c.yaml", tt.file)
			}
			_, _, err := Load(mapenv(tt.env), Flags{File: file})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestShopAwaitsPayment(t *testing.T) {
	tests := []struct {
		shop   Shop
		status string
		want   bool
	}{
		{Shop{}, "pending", false},
		{Shop{RequirePayment: true}, "pending", true},
		{Shop{RequirePayment: true}, "paid", false},
		{Shop{RequirePayment: true}, "PAID", false},
		{Shop{RequirePayment: true}, "", true},
		{Shop{RequirePayment: true}, "authorized", true},
		{Shop{RequirePayment: true, PaidStatuses: []string{"paid", "authorized"}}, "authorized", false},
		{Shop{RequirePayment: true, PaidStatuses: []string{"authorized"}}, "paid", true},
	}
	for _, tt := range tests {
		if got := tt.shop.AwaitsPayment(tt.status); got != tt.want {
			t.Errorf("%+v.AwaitsPayment(%q) = %v; want %v", tt.shop, tt.status, got, tt.want)
		}
	}
}

func TestRedactedShowsPaidStatuses(t *testing.T) {
	c := Default()
	c.Shopify = []Shop{{Domain: "a.myshopify.com", Secrets: []Secret{"s"}},
		{Domain: "b.myshopify.com", Secrets: []Secret{"s"}, PaidStatuses: []string{"paid", "authorized"}}}
	out := c.Redacted()
	for _, want := range []string{"shopify[0].paid_statuses: paid\n", "shopify[1].paid_statuses: paid,authorized\n",
		"shopify[0].unenroll_on_refund: false\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("Redacted() lacks %q:\n%s", want, out)
		}
	}
}

func TestSitePayment(t *testing.T) {
	paid, unpaid := enroll.Order{Paid: true}, enroll.Order{}
	cancelled := enroll.Order{Snapshot: enroll.Snapshot{Cancelled: true}}
	refunded := enroll.Order{Snapshot: enroll.Snapshot{Refunded: true}}
	tests := []struct {
		site            Site
		order           enroll.Order
		awaits, refuses bool
	}{
		{Site{}, unpaid, false, false},
		{Site{RequirePayment: true}, paid, false, false},
		{Site{RequirePayment: true}, unpaid, true, true},
		{Site{RequirePayment: true, AcceptUnpaid: true}, unpaid, true, false},
		{Site{RequirePayment: true}, cancelled, true, false},
		{Site{RequirePayment: true}, refunded, true, false},
	}
	for _, tt := range tests {
		if got, refused := tt.site.AwaitsPayment(tt.order), tt.site.RefusesUnpaid(tt.order); got != tt.awaits || refused != tt.refuses {
			t.Errorf("%+v, %+v: awaits payment %v, refused %v; want %v, %v", tt.site, tt.order, got, refused, tt.awaits, tt.refuses)
		}
	}
}
