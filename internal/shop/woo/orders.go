package woo

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// Orders reads every order created or changed after since (all orders for
// a zero since), calling page with each page's orders in turn. Each order
// is read by the order webhook's parser from its REST JSON, which is the
// body WooCommerce's order webhooks send, so it is the enroll.Order a
// webhook of the same order gives (Source is left for the caller, who
// names the site as its webhooks do). Each
// order comes once, even if it moved between pages while they were read.
//
// Orders are read by ascending id, so that an order changed while the pages
// are read keeps its place; orders created meanwhile come last, or on the
// next run, whose window overlaps this one.
//
// A site that ignores modified_after (older WooCommerce) answers with
// orders older than since: Orders then reads all of them, passes on only
// those changed since, and says so in a warning. An order the parser
// refuses is skipped (Result.Skipped names its page and position). page
// returning an error stops the reading with that error.
func (c *Client) Orders(ctx context.Context, since time.Time, page func([]shop.Found) error) (shop.Result, error) {
	const op = "list orders"
	since = since.UTC().Truncate(time.Second) // the API's dates have seconds
	res := shop.Result{Since: since}
	q := url.Values{"orderby": {"id"}, "order": {"asc"}}
	if !since.IsZero() {
		q.Set("modified_after", since.Format(wooDateGMT))
		q.Set("dates_are_gmt", "true")
	}
	seen := map[int64]bool{}
	ignored := false
	err := c.pages(ctx, op, "/orders", q, func(n int, body []byte) (int, error) {
		elems, err := elements(body)
		if err != nil {
			return 0, fmt.Errorf("%s, page %d: %w", op, n, err)
		}
		res.Pages++
		var orders []shop.Found
		for i, raw := range elems {
			o, err := webhook.ParseWooCommerceOrder(raw)
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Errorf("order %d of page %d: %w", i+1, n, err))
				continue
			}
			if !since.IsZero() && !o.At.IsZero() && o.At.Before(since) {
				if !ignored {
					ignored = true
					res.Warnings = append(res.Warnings, fmt.Sprintf("the site ignored modified_after (an old WooCommerce): all its orders were read, and those changed before %s left out here", since.Format(time.RFC3339)))
				}
				continue
			}
			if seen[o.ID] {
				continue
			}
			seen[o.ID] = true
			orders = append(orders, shop.Found{Order: o, Body: slices.Clone([]byte(raw))})
		}
		res.Orders += len(orders)
		if len(orders) > 0 {
			if err := page(orders); err != nil {
				return 0, err
			}
		}
		return len(elems), nil
	})
	return res, err
}
