package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// consoleFixture stores a few orders in two shops, in known states:
//
//	1001 shopify  Learner@Example.com A enrolled, b@ B failed
//	1002 shopify  b@ A failed
//	1003 woo      learner@example.com C pending (SKU "c-sku")
//	1004 woo      (awaiting payment, no items)
//	1001 woo      d@ B retrying
type consoleFixture struct {
	db    *store.DB
	rec   *recorder
	items map[string]int64 // "1001/b@example.com" → item id
	order map[string]int64 // "shopify/1001" → internal order id
}

const wooSite = "https://shop.example.com"

func wooOrder(id int64, items ...enroll.Item) store.Accepted {
	a := order(id, items...)
	a.Delivery.Platform, a.Delivery.Source, a.Delivery.Path = enroll.WooCommerce, wooSite, "/webhooks/woocommerce/order/create"
	a.Order.Platform, a.Order.Source = enroll.WooCommerce, wooSite
	return a
}

func newConsoleFixture(t *testing.T, db *store.DB) *consoleFixture {
	t.Helper()
	ctx := context.Background()
	fx := &consoleFixture{db: db, rec: &recorder{}, items: map[string]int64{}, order: map[string]int64{}}
	save := func(a store.Accepted) {
		t.Helper()
		res, err := db.SaveAccepted(ctx, a, fx.rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		fx.order[fmt.Sprintf("%s/%d", a.Order.Platform, a.Order.ID)] = res.OrderID
		for i, id := range res.Enqueued {
			fx.items[fmt.Sprintf("%d/%s", a.Order.ID, a.Order.Items[i].Email)] = id
		}
	}
	save(order(1001, enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "Learner@Example.com"},
		enroll.Item{LineItemID: 2, SKU: "course-v1:Org+B+1", Email: "b@example.com"}))
	save(order(1002, enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "b@example.com"}))
	save(wooOrder(1003, enroll.Item{LineItemID: 1, SKU: "c-sku", Email: "learner@example.com"}))
	unpaid := wooOrder(1004, itemA)
	unpaid.AwaitingPayment = true
	save(unpaid)
	save(wooOrder(1001, enroll.Item{LineItemID: 1, SKU: "course-v1:Org+B+1", Email: "d@example.com"}))
	mustRecord(t, db, store.Attempt{ItemID: fx.items["1001/Learner@Example.com"], Outcome: enroll.OutcomeEnrolled, Status: enroll.ItemEnrolled,
		HTTPStatus: 200, CourseID: "course-v1:Org+A+1", Counted: true})
	mustRecord(t, db, store.Attempt{ItemID: fx.items["1001/b@example.com"], Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed,
		HTTPStatus: 404, Detail: "course not found", CourseID: "course-v1:Org+B+1", Counted: true})
	mustRecord(t, db, store.Attempt{ItemID: fx.items["1002/b@example.com"], Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed,
		HTTPStatus: 400, Detail: "bad course key", CourseID: "course-v1:Org+A+1", Counted: true})
	mustRecord(t, db, store.Attempt{ItemID: fx.items["1001/d@example.com"], Outcome: enroll.OutcomeRetry, Status: enroll.ItemRetrying,
		HTTPStatus: 503, Detail: "unavailable", Counted: true})
	return fx
}

// label names an order as "platform/external id".
func label(o store.OrderRecord) string { return fmt.Sprintf("%s/%d", o.Platform, o.ExternalID) }

func labels(os []store.OrderRecord) []string {
	var ls []string
	for _, o := range os {
		ls = append(ls, label(o))
	}
	return ls
}

func TestListOrdersFilters(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newConsoleFixture(t, db)
		tests := []struct {
			name string
			f    store.OrderFilter
			want []string
		}{
			{"all, newest first", store.OrderFilter{},
				[]string{"woocommerce/1001", "woocommerce/1004", "woocommerce/1003", "shopify/1002", "shopify/1001"}},
			{"shop order id in two shops", store.OrderFilter{Query: "1001"}, []string{"woocommerce/1001", "shopify/1001"}},
			{"learner email, any case", store.OrderFilter{Query: "LEARNER@example.COM"}, []string{"woocommerce/1003", "shopify/1001"}},
			{"course id", store.OrderFilter{Query: "course-v1:Org+A+1"}, []string{"shopify/1002", "shopify/1001"}},
			{"SKU", store.OrderFilter{Query: "c-sku"}, []string{"woocommerce/1003"}},
			{"item status", store.OrderFilter{Status: "failed"}, []string{"shopify/1002", "shopify/1001"}},
			{"item status retrying", store.OrderFilter{Status: "retrying"}, []string{"woocommerce/1001"}},
			{"order status", store.OrderFilter{Status: "AWAITING_PAYMENT"}, []string{"woocommerce/1004"}},
			{"order status error", store.OrderFilter{Status: "ERROR"}, []string{"shopify/1002", "shopify/1001"}},
			{"platform", store.OrderFilter{Platform: enroll.Shopify}, []string{"shopify/1002", "shopify/1001"}},
			{"source", store.OrderFilter{Source: wooSite}, []string{"woocommerce/1001", "woocommerce/1004", "woocommerce/1003"}},
			{"email field", store.OrderFilter{Email: "B@EXAMPLE.COM"}, []string{"shopify/1002", "shopify/1001"}},
			{"failed for course B: the same item", store.OrderFilter{Course: "course-v1:Org+B+1", Status: "failed"}, []string{"shopify/1001"}},
			{"email and course on different items", store.OrderFilter{Email: "b@example.com", Course: "course-v1:Org+A+1"}, []string{"shopify/1002"}},
			{"since: none yet", store.OrderFilter{Since: time.Now().Add(time.Hour)}, nil},
			{"until: all before", store.OrderFilter{Until: time.Now().Add(time.Hour), Platform: enroll.Shopify}, []string{"shopify/1002", "shopify/1001"}},
			{"nothing", store.OrderFilter{Query: "nobody@example.com"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, next, err := db.ListOrders(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, labels(got)); diff != "" || next != 0 {
					t.Errorf("orders (-want +got):\n%s\nnext = %d", diff, next)
				}
			})
		}
		if _, _, err := db.ListOrders(ctx, store.OrderFilter{Status: "done"}); err == nil {
			t.Error("an unknown status was accepted")
		}
		got, _, _ := db.ListOrders(ctx, store.OrderFilter{Query: "1002"})
		if len(got) != 1 || len(got[0].Items) != 1 || got[0].Items[0].Status != enroll.ItemFailed ||
			got[0].Items[0].LastError != "bad course key" || got[0].Items[0].UpdatedAt.IsZero() {
			t.Errorf("order 1002 with its items: %+v", got)
		}
	})
}

func TestListOrdersKeysetPaging(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		for i := range 23 {
			it := enroll.Item{LineItemID: 1, SKU: "course-v1:Org+P+1", Email: fmt.Sprintf("p%d@example.com", i)}
			if i%3 == 0 {
				it.SKU = "course-v1:Org+Q+1"
			}
			if _, err := db.SaveAccepted(ctx, order(int64(2000+i), it), rec.enqueue); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			f    store.OrderFilter
			want int
		}{
			{store.OrderFilter{Limit: 5}, 23},
			{store.OrderFilter{Limit: 4, Course: "course-v1:Org+Q+1"}, 8},
			{store.OrderFilter{Limit: 8, Course: "course-v1:Org+Q+1"}, 8}, // exactly one full page
			{store.OrderFilter{}, 23},
		} {
			var all []int64
			pages := 0
			f := tt.f
			for {
				page, next, err := db.ListOrders(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, o := range page {
					all = append(all, o.ExternalID)
				}
				if next == 0 {
					break
				}
				if next != page[len(page)-1].ID || pages > 30 {
					t.Fatalf("next = %d after a page ending at %d", next, page[len(page)-1].ID)
				}
				f.Before = next
			}
			if len(all) != tt.want || !slices.IsSortedFunc(all, func(a, b int64) int { return int(b - a) }) ||
				len(slices.Compact(slices.Clone(all))) != len(all) {
				t.Errorf("%+v: got %d orders in %d pages: %v; want %d newest first, each once", tt.f, len(all), pages, all, tt.want)
			}
			limit := tt.f.Limit
			if limit == 0 {
				limit = 50
			}
			if pages != (tt.want+limit-1)/limit {
				t.Errorf("%+v: %d pages; want %d", tt.f, pages, (tt.want+limit-1)/limit)
			}
		}
	})
}

func TestOrdersByExternalIDAndDetail(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fx := newConsoleFixture(t, db)
		got, err := db.OrdersByExternalID(ctx, 1001)
		if err != nil || !slices.Equal(labels(got), []string{"shopify/1001", "woocommerce/1001"}) || len(got[0].Items) != 2 {
			t.Fatalf("OrdersByExternalID(1001) = %v, %v", labels(got), err)
		}
		if got, err := db.OrdersByExternalID(ctx, 9); err != nil || len(got) != 0 {
			t.Fatalf("OrdersByExternalID(9) = %v, %v; want none", got, err)
		}
		id := fx.order["shopify/1001"]
		// A redelivery, then a resolution: both belong to the order's story.
		if _, err := db.SaveAccepted(ctx, order(1001, enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "Learner@Example.com"}), fx.rec.enqueue); err != nil {
			t.Fatal(err)
		}
		failed := fx.items["1001/b@example.com"]
		if err := db.ResolveItem(ctx, failed, "admin", "course B was withdrawn; refunded"); err != nil {
			t.Fatal(err)
		}
		d, err := db.OrderDetail(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.ExternalID != 1001 || len(d.Items) != 2 || d.Status != enroll.OrderProcessed {
			t.Errorf("order: %+v", d.OrderRecord)
		}
		if as := d.Attempts[failed]; len(as) != 1 || as[0].HTTPStatus != 404 || as[0].Detail != "course not found" || as[0].At.IsZero() {
			t.Errorf("attempts of the failed item: %+v", as)
		}
		if len(d.Deliveries) != 2 || d.Deliveries[1].Reason != "duplicate" || string(d.Deliveries[0].Body) != `{"id":1}` ||
			!d.Deliveries[0].HasBody || d.Deliveries[0].ID > d.Deliveries[1].ID {
			t.Errorf("deliveries: %+v", d.Deliveries)
		}
		want := []store.ActionRecord{{Actor: "admin", Action: "resolve", OrderID: id, ItemID: failed, Note: "course B was withdrawn; refunded"}}
		if diff := cmp.Diff(want, d.Actions, cmpIgnore("ID", "At")); diff != "" {
			t.Errorf("actions (-want +got):\n%s", diff)
		}
		if _, err := db.OrderDetail(ctx, 424242); !errors.Is(err, enroll.ErrNotFound) {
			t.Errorf("OrderDetail of a missing order: %v; want ErrNotFound", err)
		}
	})
}

// cmpIgnore ignores fields of an ActionRecord whose values the store chooses.
func cmpIgnore(fields ...string) cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		return slices.Contains(fields, p.Last().String()[1:])
	}, cmp.Ignore())
}

func TestListDeliveries(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		var rejected []int64
		for i := range 7 {
			if _, err := db.SaveAccepted(ctx, order(int64(3000+i), itemA), rec.enqueue); err != nil {
				t.Fatal(err)
			}
			d := order(1).Delivery
			d.Status, d.Reason, d.SourceIP = 403, "invalid signature", "203.0.113.9"
			id, err := db.SaveDelivery(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			rejected = append(rejected, id)
		}
		var got []int64
		f := store.DeliveryFilter{Rejected: true, Limit: 3}
		for {
			page, next, err := db.ListDeliveries(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range page {
				if d.Status != 403 || d.SourceIP != "203.0.113.9" || d.HasBody || d.Body != nil || d.Path == "" {
					t.Errorf("rejected delivery: %+v", d)
				}
				got = append(got, d.ID)
			}
			if next == 0 {
				break
			}
			f.Before = next
		}
		slices.Reverse(rejected)
		if !slices.Equal(got, rejected) {
			t.Errorf("rejected deliveries %v; want %v", got, rejected)
		}
		all, next, err := db.ListDeliveries(ctx, store.DeliveryFilter{})
		if err != nil || len(all) != 14 || next != 0 {
			t.Fatalf("all deliveries: %d, next %d, %v", len(all), next, err)
		}
		if all[1].Body != nil || !all[1].HasBody {
			t.Errorf("an accepted delivery in the list: HasBody %v, body %q; want a body stored but not loaded", all[1].HasBody, all[1].Body)
		}
		d, err := db.Delivery(ctx, all[1].ID)
		if err != nil || string(d.Body) != `{"id":1}` || !d.OrderID.Valid || d.Headers != `{"X-Test":["1"]}` {
			t.Errorf("Delivery = %+v, %v", d, err)
		}
		if _, err := db.Delivery(ctx, 99999); !errors.Is(err, enroll.ErrNotFound) {
			t.Errorf("Delivery of a missing id: %v; want ErrNotFound", err)
		}
	})
}

func TestStatsBacklogLastAttempt(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		start := time.Now()
		if b, err := db.Backlog(ctx); err != nil || b != (store.Backlog{}) {
			t.Fatalf("empty Backlog = %+v, %v", b, err)
		}
		if _, ok, err := db.LastAttempt(ctx); ok || err != nil {
			t.Fatalf("LastAttempt on an empty database = %v, %v", ok, err)
		}
		fx := newConsoleFixture(t, db)
		if _, err := db.SaveAccepted(ctx, order(1002, enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "b@example.com"}), fx.rec.enqueue); err != nil {
			t.Fatal(err) // gives the failed item another chance: not a duplicate
		}
		if _, err := db.SaveAccepted(ctx, order(1002, enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "b@example.com"}), fx.rec.enqueue); err != nil {
			t.Fatal(err)
		}
		for _, reason := range []string{"invalid signature", "invalid signature", "unknown shop domain"} {
			d := order(1).Delivery
			d.Status, d.Reason = 403, reason
			if _, err := db.SaveDelivery(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		stale := order(1).Delivery
		stale.Reason = store.ReasonStale
		if _, err := db.SaveDelivery(ctx, stale); err != nil {
			t.Fatal(err)
		}
		s, err := db.Stats(ctx, start.Add(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want := store.Stats{Accepted: 6, Duplicates: 1, Stale: 1, Rejected: 3,
			RejectedBy: map[string]int64{"invalid signature": 2, "unknown shop domain": 1}, Orders: 5,
			Items: map[enroll.ItemStatus]int64{enroll.ItemEnrolled: 1, enroll.ItemFailed: 1, enroll.ItemPending: 2, enroll.ItemRetrying: 1}}
		if diff := cmp.Diff(want, s); diff != "" {
			t.Errorf("Stats (-want +got):\n%s", diff)
		}
		if s, err := db.Stats(ctx, time.Now().Add(time.Hour)); err != nil || s.Orders != 0 || s.Accepted != 0 || len(s.Items) != 0 {
			t.Errorf("Stats from the future = %+v, %v", s, err)
		}
		b, err := db.Backlog(ctx)
		if err != nil || b.Pending != 2 || b.Retrying != 1 || b.Oldest.Before(start.Add(-time.Minute)) || b.Oldest.After(time.Now()) {
			t.Errorf("Backlog = %+v, %v", b, err)
		}
		a, ok, err := db.LastAttempt(ctx)
		if err != nil || !ok || a.ItemID != fx.items["1001/d@example.com"] || a.HTTPStatus != 503 || a.Outcome != enroll.OutcomeRetry {
			t.Errorf("LastAttempt = %+v, %v, %v", a, ok, err)
		}
	})
}

func TestRetryItems(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fx := newConsoleFixture(t, db)
		failedB, failedA := fx.items["1001/b@example.com"], fx.items["1002/b@example.com"]
		enrolled, pending, retrying := fx.items["1001/Learner@Example.com"], fx.items["1003/learner@example.com"], fx.items["1001/d@example.com"]
		// A job holds the retrying item right now.
		if got, err := db.Claim(ctx, []int64{retrying}, time.Minute); err != nil || len(got) != 1 {
			t.Fatalf("Claim = %v, %v", got, err)
		}
		rec := &recorder{}
		retried, err := db.RetryItems(ctx, []int64{failedA, enrolled, pending, retrying, failedB, failedA, 777777}, "cli:ops", "LMS fixed", rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{failedB, failedA, retrying}; !slices.Equal(retried, slices.Sorted(slices.Values(want))) {
			t.Fatalf("retried %v; want the failed and retrying items %v", retried, want)
		}
		// One job per SKU: failedB and retrying share course B.
		wantGroups := [][]int64{{failedB, retrying}, {failedA}}
		if failedA < failedB {
			wantGroups = [][]int64{{failedA}, {failedB, retrying}}
		}
		if diff := cmp.Diff(wantGroups, rec.groups); diff != "" {
			t.Errorf("enqueued groups (-want +got):\n%s", diff)
		}
		work := func(id int64) store.Work {
			t.Helper()
			w, err := db.WorkFor(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			return w
		}
		if w := work(failedB); w.Status != enroll.ItemPending || w.Tries != 0 || w.Attempts != 1 || w.CourseID != "" {
			t.Errorf("retried failed item: %+v; want pending, a fresh budget, the history kept, the course looked up again", w)
		}
		if w := work(enrolled); w.Status != enroll.ItemEnrolled {
			t.Errorf("enrolled item: %+v; want it left alone", w)
		}
		// The job holding the retrying item keeps its claim: nobody else may
		// enroll it until that job has recorded its answer.
		if got, err := db.Claim(ctx, []int64{retrying, failedB}, time.Minute); err != nil || !slices.Equal(got, []int64{failedB}) {
			t.Errorf("Claim after the retry = %v, %v; want only the failed item, the retrying one is held", got, err)
		}
		o, err := db.OrderDetail(ctx, fx.order["shopify/1001"])
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != enroll.OrderProcessing || len(o.Actions) != 1 || o.Actions[0].ItemID != failedB ||
			o.Actions[0].Action != "retry" || o.Actions[0].Actor != "cli:ops" || o.Actions[0].Note != "LMS fixed" {
			t.Errorf("order after the retry: %s, actions %+v", o.Status, o.Actions)
		}
		// Nothing to retry: no job, no action.
		rec2 := &recorder{}
		if got, err := db.RetryItems(ctx, []int64{enrolled, pending}, "cli:ops", "", rec2.enqueue); err != nil || len(got) != 0 || len(rec2.groups) != 0 {
			t.Errorf("retry of items that need none = %v, %v, enqueued %v", got, err, rec2.groups)
		}
		// An enqueue failure retries nothing.
		mustRecord(t, db, store.Attempt{ItemID: failedA, Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed, Counted: true})
		bad := &recorder{err: errors.New("queue down")}
		if _, err := db.RetryItems(ctx, []int64{failedA}, "x", "", bad.enqueue); err == nil {
			t.Error("RetryItems succeeded without its job")
		}
		if w, _ := db.WorkFor(ctx, failedA); w.Status != enroll.ItemFailed {
			t.Errorf("item after a failed retry: %s; want failed still", w.Status)
		}
	})
}

// TestShopFilterIsSameSource: the shop filter of ListOrders and
// FailedItemIDs names a shop as enroll.SameSource does, as the order page
// and 'orders show --source' do: a Shopify domain in any case, a site
// URL with any case of scheme and host, with or without its trailing
// slash, but its path in its own case.
func TestShopFilterIsSameSource(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fx := newConsoleFixture(t, db)
		upper := wooOrder(2001, enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "u@example.com"})
		upper.Delivery.Source, upper.Order.Source = wooSite+"/Store", wooSite+"/Store"
		lower := wooOrder(2002, enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "l@example.com"})
		lower.Delivery.Source, lower.Order.Source = wooSite+"/store", wooSite+"/store"
		var failed []int64
		for _, a := range []store.Accepted{upper, lower} {
			res, err := db.SaveAccepted(ctx, a, fx.rec.enqueue)
			if err != nil {
				t.Fatal(err)
			}
			mustRecord(t, db, store.Attempt{ItemID: res.Enqueued[0], Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed, Counted: true})
			failed = append(failed, res.Enqueued[0])
		}
		tests := []struct {
			source string
			orders []string
			failed []int64
		}{
			{"SHOP.Example.com", []string{"shopify/1002", "shopify/1001"},
				[]int64{fx.items["1001/b@example.com"], fx.items["1002/b@example.com"]}},
			{" HTTPS://Shop.EXAMPLE.com/ ", []string{"woocommerce/1001", "woocommerce/1004", "woocommerce/1003"}, nil},
			{"https://SHOP.example.com/Store/", []string{"woocommerce/2001"}, failed[:1]},
			{"https://shop.example.com/store", []string{"woocommerce/2002"}, failed[1:]},
			{"https://shop.example.com/STORE", nil, nil},
		}
		for _, tt := range tests {
			got, _, err := db.ListOrders(ctx, store.OrderFilter{Source: tt.source})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.orders, labels(got)); diff != "" {
				t.Errorf("orders of source %q (-want +got):\n%s", tt.source, diff)
			}
			ids, err := db.FailedItemIDs(ctx, store.OrderFilter{Source: tt.source}, 100)
			if err != nil || !slices.Equal(ids, tt.failed) {
				t.Errorf("failed items of source %q: %v, %v; want %v", tt.source, ids, err, tt.failed)
			}
		}
	})
}

func TestFailedItemIDs(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fx := newConsoleFixture(t, db)
		failedB, failedA := fx.items["1001/b@example.com"], fx.items["1002/b@example.com"]
		tests := []struct {
			name string
			f    store.OrderFilter
			max  int
			want []int64
		}{
			{"all", store.OrderFilter{}, 100, []int64{failedB, failedA}},
			{"at most one", store.OrderFilter{}, 1, []int64{failedB}},
			{"course A only, though order 1001 has A too", store.OrderFilter{Course: "course-v1:Org+A+1"}, 100, []int64{failedA}},
			{"search by course B", store.OrderFilter{Query: "course-v1:Org+B+1"}, 100, []int64{failedB}},
			{"learner", store.OrderFilter{Email: "B@example.com"}, 100, []int64{failedB, failedA}},
			{"order id", store.OrderFilter{Query: "1002"}, 100, []int64{failedA}},
			{"other shop", store.OrderFilter{Platform: enroll.WooCommerce}, 100, nil},
			{"since later", store.OrderFilter{Since: time.Now().Add(time.Hour)}, 100, nil},
			{"paging fields ignored", store.OrderFilter{Before: 1, Limit: 1}, 100, []int64{failedB, failedA}},
		}
		for _, tt := range tests {
			got, err := db.FailedItemIDs(ctx, tt.f, tt.max)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("%s: FailedItemIDs = %v, %v; want %v", tt.name, got, err, tt.want)
			}
		}
	})
}

func TestResolveItem(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fx := newConsoleFixture(t, db)
		failedA, enrolled, pending := fx.items["1002/b@example.com"], fx.items["1001/Learner@Example.com"], fx.items["1003/learner@example.com"]
		if err := db.ResolveItem(ctx, failedA, "admin", "  "); err == nil {
			t.Error("resolved without a note")
		}
		if err := db.ResolveItem(ctx, enrolled, "admin", "why not"); !errors.Is(err, enroll.ErrConflict) {
			t.Errorf("resolve an enrolled item: %v; want ErrConflict", err)
		}
		if err := db.ResolveItem(ctx, 888888, "admin", "x"); !errors.Is(err, enroll.ErrNotFound) {
			t.Errorf("resolve a missing item: %v; want ErrNotFound", err)
		}
		if err := db.ResolveItem(ctx, failedA, "admin", "enrolled by hand in the LMS"); err != nil {
			t.Fatal(err)
		}
		o, err := db.OrderDetail(ctx, fx.order["shopify/1002"])
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != enroll.OrderProcessed || o.Items[0].Status != enroll.ItemResolved || o.Items[0].LastError != "bad course key" {
			t.Errorf("after resolving: order %s, item %+v; want PROCESSED, resolved with its last error", o.Status, o.Items[0])
		}
		if len(o.Actions) != 1 || o.Actions[0].Action != "resolve" || o.Actions[0].Note != "enrolled by hand in the LMS" {
			t.Errorf("actions: %+v", o.Actions)
		}
		// Resolved already: refused, as the console offers no button for it; the first note stays.
		if err := db.ResolveItem(ctx, failedA, "admin", "again"); !errors.Is(err, enroll.ErrConflict) {
			t.Errorf("resolve a resolved item: %v; want ErrConflict", err)
		}
		if o, _ := db.OrderDetail(ctx, fx.order["shopify/1002"]); len(o.Actions) != 1 {
			t.Errorf("actions after resolving twice: %+v; want the first only", o.Actions)
		}
		// A resolved item is done: a redelivery leaves it alone; a retry takes it back.
		res, err := db.SaveAccepted(ctx, order(1002, enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "b@example.com"}), fx.rec.enqueue)
		if err != nil || len(res.Enqueued) != 0 {
			t.Errorf("redelivery of a resolved order enqueued %v, %v", res.Enqueued, err)
		}
		if got, err := db.RetryItems(ctx, []int64{failedA}, "admin", "", fx.rec.enqueue); err != nil || len(got) != 1 {
			t.Errorf("retry of a resolved item = %v, %v", got, err)
		}
		// An item a job is enrolling right now cannot be resolved.
		if _, err := db.Claim(ctx, []int64{pending}, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := db.ResolveItem(ctx, pending, "admin", "x"); !errors.Is(err, enroll.ErrConflict) {
			t.Errorf("resolve a claimed item: %v; want ErrConflict", err)
		}
	})
}

func TestRecordAction(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		fx := newConsoleFixture(t, db)
		id := fx.order["woocommerce/1003"]
		o, _ := db.OrderDetail(ctx, id)
		a := store.ActionRecord{Actor: "admin", Action: "replay", OrderID: id, DeliveryID: o.Deliveries[0].ID, Note: "replayed as delivery 9"}
		if err := db.RecordAction(ctx, a); err != nil {
			t.Fatal(err)
		}
		o, _ = db.OrderDetail(ctx, id)
		if diff := cmp.Diff([]store.ActionRecord{a}, o.Actions, cmpIgnore("ID", "At")); diff != "" || o.Actions[0].At.IsZero() {
			t.Errorf("actions (-want +got):\n%s", diff)
		}
	})
}

func TestSessions(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return now }
		if err := db.CreateSession(ctx, "hash-1", "admin", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSession(ctx, "hash-2", "admin", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateSession(ctx, "hash-1", "other", now.Add(time.Hour)); err == nil {
			t.Error("a second session with the same token was created")
		}
		if u, err := db.SessionUser(ctx, "hash-1"); err != nil || u != "admin" {
			t.Errorf("SessionUser = %q, %v", u, err)
		}
		if _, err := db.SessionUser(ctx, "nope"); !errors.Is(err, enroll.ErrNotFound) {
			t.Errorf("unknown session: %v; want ErrNotFound", err)
		}
		now = now.Add(2 * time.Minute) // hash-2 has expired
		if _, err := db.SessionUser(ctx, "hash-2"); !errors.Is(err, enroll.ErrNotFound) {
			t.Errorf("expired session: %v; want ErrNotFound", err)
		}
		if err := db.DeleteSession(ctx, "hash-1"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SessionUser(ctx, "hash-1"); !errors.Is(err, enroll.ErrNotFound) {
			t.Errorf("deleted session: %v; want ErrNotFound", err)
		}
		// The expired one went with it: its token can be used again.
		if err := db.CreateSession(ctx, "hash-2", "admin", now.Add(time.Hour)); err != nil {
			t.Errorf("expired sessions were not deleted: %v", err)
		}
	})
}

// TestActionsFollowTheStatusRules puts an item in every status and checks
// that RetryItems and ResolveItem take exactly the items enroll's rules
// allow: the store's WHERE clauses are built from those rules.
func TestActionsFollowTheStatusRules(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rec := &recorder{}
		for i, status := range enroll.ItemStatuses() {
			// Two items in this status: one to retry, one to resolve.
			res, err := db.SaveAccepted(ctx, order(int64(5000+i),
				enroll.Item{LineItemID: 1, SKU: "course-v1:Org+A+1", Email: "retry@example.com"},
				enroll.Item{LineItemID: 2, SKU: "course-v1:Org+A+1", Email: "resolve@example.com"}), rec.enqueue)
			if err != nil {
				t.Fatal(err)
			}
			retry, resolve := res.Enqueued[0], res.Enqueued[1]
			for _, id := range res.Enqueued {
				switch status {
				case enroll.ItemPending:
				case enroll.ItemResolved:
					mustRecord(t, db, store.Attempt{ItemID: id, Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed, Counted: true})
					if err := db.ResolveItem(ctx, id, "admin", "by hand"); err != nil {
						t.Fatal(err)
					}
				default:
					mustRecord(t, db, store.Attempt{ItemID: id, Outcome: enroll.OutcomeRetry, Status: status, Counted: true})
				}
			}
			got, err := db.RetryItems(ctx, []int64{retry}, "admin", "", rec.enqueue)
			if err != nil {
				t.Fatal(err)
			}
			if taken := len(got) == 1; taken != status.Retryable() {
				t.Errorf("RetryItems of a %s item: taken %v; enroll says Retryable %v", status, taken, status.Retryable())
			}
			err = db.ResolveItem(ctx, resolve, "admin", "by hand")
			if (err == nil) != status.Resolvable() || (err != nil && !errors.Is(err, enroll.ErrConflict)) {
				t.Errorf("ResolveItem of a %s item: %v; enroll says Resolvable %v", status, err, status.Resolvable())
			}
		}
	})
}
