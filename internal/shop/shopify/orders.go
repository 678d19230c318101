package shopify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop"
)

// Window is how far back Shopify lets an app read orders without the
// read_all_orders scope, counted from their creation.
const Window = 60 * 24 * time.Hour

// ordersQuery asks for the orders updated since a time, oldest update
// first, with what the webhook parser reads of an order. An order with more
// than 250 line items or refund lines is read in part.
const ordersQuery = `query Orders($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      legacyResourceId
      updatedAt
      createdAt
      displayFinancialStatus
      cancelledAt
      email
      customer { email }
      lineItems(first: 250) { nodes { id sku quantity customAttributes { key value } } }
      refunds { id createdAt refundLineItems(first: 250) { nodes { lineItem { id } quantity } } }
    }
  }
}`

// ordersPage is the data of one answer to ordersQuery.
type ordersPage struct {
	Orders *struct {
		PageInfo struct {
			HasNextPage bool    `json:"hasNextPage"`
			EndCursor   *string `json:"endCursor"`
		} `json:"pageInfo"`
		Nodes []json.RawMessage `json:"nodes"`
	} `json:"orders"`
}

// Orders reads every order updated since since, a page at a time, oldest
// update first, and gives each page's orders (with Source set to the shop's
// domain, their webhook bodies and their refunds) to page, in the order
// read. Without ReadAllOrders, a since older than Shopify's 60 days is
// moved to their start, and a warning says so. An error of page stops the
// reading and is returned.
func (c *Client) Orders(ctx context.Context, since time.Time, page func([]shop.Found) error) (shop.Result, error) {
	res := shop.Result{Since: since.UTC()}
	if earliest := c.now().UTC().Add(-Window); !c.readAll && res.Since.Before(earliest) {
		res.Since = earliest.Truncate(time.Second).Add(time.Second)
		res.Warnings = append(res.Warnings, fmt.Sprintf("shop %s: orders before %s are not readable without the read_all_orders scope (Shopify keeps 60 days); reading from then instead of %s",
			c.domain, res.Since.Format(time.RFC3339), since.UTC().Format(time.RFC3339)))
	}
	vars := map[string]any{
		"first": c.pageSize,
		"after": nil,
		"query": fmt.Sprintf("updated_at:>='%s'", res.Since.Format(time.RFC3339)),
	}
	var st stats
	done := func(err error) (shop.Result, error) {
		res.Waits, res.Waited = st.waits, st.waited
		return res, err
	}
	after := ""
	for {
		var data ordersPage
		if err := c.do(ctx, call{name: "Orders", query: ordersQuery, variables: vars}, &data, &st); err != nil {
			return done(fmt.Errorf("read orders page %d: %w", res.Pages+1, err))
		}
		if data.Orders == nil {
			return done(fmt.Errorf("shopify %s: read orders page %d: the answer has no orders", c.domain, res.Pages+1))
		}
		res.Pages++
		orders := make([]shop.Found, 0, len(data.Orders.Nodes))
		for i, node := range data.Orders.Nodes {
			found, err := ParseOrder(node)
			if err != nil {
				res.Skipped = append(res.Skipped, fmt.Errorf("order %d of page %d: %w", i+1, res.Pages, err))
				continue
			}
			found.Order.Source = c.domain
			orders = append(orders, found)
			res.Refunds += len(found.Refunds)
		}
		res.Orders += len(orders)
		if err := page(orders); err != nil {
			return done(err)
		}
		info := data.Orders.PageInfo
		if !info.HasNextPage {
			return done(nil)
		}
		if info.EndCursor == nil || *info.EndCursor == "" || *info.EndCursor == after {
			return done(fmt.Errorf("shopify %s: read orders page %d: hasNextPage without a new endCursor", c.domain, res.Pages))
		}
		after = *info.EndCursor
		vars["after"] = after
	}
}
