package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// TestConsoleQueriesUseIndexes checks that the queries the console and the
// ops commands run — built by the same code, not copied — are answered
// from indexes: no table is read whole.
func TestConsoleQueriesUseIndexes(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	type plan struct {
		name, query string
		args        []any
	}
	var plans []plan
	for _, o := range []struct {
		name string
		f    store.OrderFilter
	}{
		{"order id", store.OrderFilter{Query: "5834765623456", Before: 100}},
		{"email", store.OrderFilter{Query: "Learner@Example.com", Before: 100}},
		{"course", store.OrderFilter{Query: "course-v1:Org+A+1", Before: 100}},
		{"failed items", store.OrderFilter{Status: "failed", Before: 100}},
		{"order status", store.OrderFilter{Status: "ERROR", Before: 100}},
		{"email and course", store.OrderFilter{Email: "a@example.com", Course: "course-v1:Org+A+1", Before: 100}},
		{"shop", store.OrderFilter{Platform: enroll.Shopify, Source: "shop.example.com", Before: 100}},
		{"date range", store.OrderFilter{Since: since, Until: since.AddDate(0, 0, 7)}},
		{"newest page", store.OrderFilter{Before: 100}},
	} {
		q, args, err := store.ListOrdersQuery(o.f, 51)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, plan{"orders: " + o.name, q, args})
	}
	for _, o := range []struct {
		name string
		f    store.OrderFilter
	}{
		{"of a course since a date", store.OrderFilter{Course: "course-v1:Org+A+1", Since: since}},
		{"of a learner", store.OrderFilter{Email: "a@example.com"}},
		{"of a shop", store.OrderFilter{Platform: enroll.WooCommerce, Source: "https://shop.example.com"}},
	} {
		q, args, err := store.FailedItemsQuery(o.f, 100)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, plan{"failed items " + o.name, q, args})
	}
	for _, d := range []struct {
		name string
		f    store.DeliveryFilter
	}{
		{"rejected, a later page", store.DeliveryFilter{Rejected: true, Before: 100}},
		{"all, a later page", store.DeliveryFilter{Before: 100}},
	} {
		q, args := store.ListDeliveriesQuery(d.f, 51)
		plans = append(plans, plan{"deliveries: " + d.name, q, args})
	}
	items, itemArgs := store.ItemsOfOrdersQuery([]int64{5, 6, 7})
	plans = append(plans,
		plan{"orders by shop id", store.OrdersByExternalIDQuery, []any{5}},
		plan{"order", store.OrderByIDQuery, []any{5}},
		plan{"items of orders", items, itemArgs},
		plan{"order attempts", store.OrderAttemptsQuery, []any{5}},
		plan{"order deliveries", store.OrderDeliveriesQuery, []any{5}},
		plan{"order actions", store.OrderActionsQuery, []any{5}},
		plan{"order refunds", store.OrderRefundsQuery, []any{5}},
		plan{"deliveries since", store.StatsDeliveriesQuery, []any{since}},
		plan{"orders since", store.StatsOrdersQuery, []any{since}},
		plan{"items of orders since", store.StatsItemsQuery, []any{since}},
		plan{"waiting items", store.BacklogQuery, []any{enroll.ItemPending, enroll.ItemRetrying}},
		plan{"oldest waiting item", store.OldestWaitingQuery, []any{enroll.ItemPending, enroll.ItemRetrying}},
		plan{"last attempt", store.LastAttemptQuery, nil},
	)
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		for _, p := range plans {
			t.Run(p.name, func(t *testing.T) {
				lines, err := db.Explain(context.Background(), p.query, p.args...)
				if err != nil {
					t.Fatalf("explain %s: %v", p.query, err)
				}
				for _, l := range lines {
					if fullScan(db.Dialect(), l) {
						t.Errorf("full scan: %s\nquery: %s\nplan:\n%s", l, p.query, strings.Join(lines, "\n"))
					}
				}
			})
		}
	})
}

func fullScan(d store.Dialect, line string) bool {
	if d == store.Postgres {
		return strings.Contains(line, "Seq Scan")
	}
	// "SCAN o" reads a table whole; "SCAN o USING INDEX" reads an index in
	// order, and "SEARCH" looks keys up.
	line = strings.TrimLeft(line, "|-` ")
	return strings.HasPrefix(line, "SCAN ") && !strings.Contains(line, " USING ")
}
