package ops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

func TestDjangoItemStatus(t *testing.T) {
	for _, c := range []struct {
		old     store.DjangoStatus
		enqueue bool
		want    enroll.ItemStatus
		note    string
	}{
		{store.DjangoProcessed, false, enroll.ItemEnrolled, ""},
		{store.DjangoProcessed, true, enroll.ItemEnrolled, ""},
		{store.DjangoError, false, enroll.ItemFailed, "gave up on it (ERROR there)"},
		{store.DjangoError, true, enroll.ItemFailed, "gave up on it (ERROR there)"},
		{store.DjangoNew, false, enroll.ItemResolved, ops.NotSentNote + " (NEW there)"},
		{store.DjangoProcessing, false, enroll.ItemResolved, ops.NotSentNote + " (PROCESSING there)"},
		{store.DjangoNew, true, enroll.ItemPending, ""},
		{store.DjangoProcessing, true, enroll.ItemPending, ""},
		{store.DjangoStatus(3), false, enroll.ItemFailed, "unknown state (status 3)"},
	} {
		got, note := ops.DjangoItemStatus(c.old, c.enqueue)
		if got != c.want || (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("%s, enqueue %v: %s %q; want %s %q", c.old, c.enqueue, got, note, c.want, c.note)
		}
		// What the old app did not enroll stays in the operator's hands:
		// they can retry it from the console.
		if got != enroll.ItemEnrolled && got != enroll.ItemPending && !got.Retryable() {
			t.Errorf("%s: %s cannot be retried", c.old, got)
		}
	}
}

func TestImportSources(t *testing.T) {
	one := config.Config{Shopify: []config.Shop{{Domain: shop}}, WooCommerce: []config.Site{{Source: site + "/"}}}
	two := config.Config{Shopify: []config.Shop{{Domain: shop}, {Domain: "other.myshopify.com"}}}
	both := map[enroll.Platform]int{enroll.Shopify: 3, enroll.WooCommerce: 2}
	for _, c := range []struct {
		name   string
		cfg    config.Config
		opt    ops.ImportOptions
		counts map[enroll.Platform]int
		want   map[enroll.Platform]string
		err    string
	}{
		{"the one configured", one, ops.ImportOptions{}, both, map[enroll.Platform]string{enroll.Shopify: shop, enroll.WooCommerce: site}, ""},
		{"named in another case", one, ops.ImportOptions{Shop: strings.ToUpper(shop), Site: site + "/"}, both,
			map[enroll.Platform]string{enroll.Shopify: shop, enroll.WooCommerce: site}, ""},
		{"several, one named", two, ops.ImportOptions{Shop: "other.myshopify.com"}, map[enroll.Platform]int{enroll.Shopify: 1},
			map[enroll.Platform]string{enroll.Shopify: "other.myshopify.com"}, ""},
		{"several, none named", two, ops.ImportOptions{}, map[enroll.Platform]int{enroll.Shopify: 1}, nil, "name the one the old app served with --shop"},
		{"several, no order", two, ops.ImportOptions{}, map[enroll.Platform]int{enroll.Shopify: 0}, map[enroll.Platform]string{}, ""},
		{"no site", two, ops.ImportOptions{Shop: shop}, both, nil, "no WooCommerce site is configured"},
		{"named, none configured", config.Config{}, ops.ImportOptions{Shop: shop}, map[enroll.Platform]int{enroll.Shopify: 1}, nil,
			"none is; configure it (WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN)"},
		{"not configured", one, ops.ImportOptions{Site: "https://else.example.com"}, both, nil, "is not a configured WooCommerce site"},
	} {
		o := &ops.Ops{Config: c.cfg}
		got, err := o.ImportSources(c.opt, c.counts)
		if c.err != "" {
			var refusal *ops.Refusal
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.As(err, &refusal) {
				t.Errorf("%s: %v; want a refusal saying %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
			continue
		}
		for p, s := range c.want {
			if got[p] != s {
				t.Errorf("%s: %v; want %v", c.name, got, c.want)
			}
		}
	}
}
