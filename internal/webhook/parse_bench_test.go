package webhook

import (
	"os"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name  string
		file  string
		parse func([]byte) error
	}{
		{"shopify", "testdata/shopify_order.json", func(body []byte) error { _, err := ParseShopifyOrder(body); return err }},
		{"shopify-refund", "testdata/shopify_refund.json", func(body []byte) error { _, err := ParseShopifyRefund(body); return err }},
		{"woocommerce", "testdata/woocommerce_order.json", func(body []byte) error { _, err := ParseWooCommerceOrder(body); return err }},
	} {
		body, err := os.ReadFile(c.file)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.parse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
