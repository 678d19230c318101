package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

const (
	privacyShop  = "privacy.myshopify.com"
	otherShop    = "other.myshopify.com"
	customer     = "John.Doe@Example.com"
	customerName = "Johnathan Doe-Privacy"
)

// shopOrder is an accepted Shopify order of a shop whose body holds every
// address of the order and the customer's name.
func shopOrder(shop string, id int64, buyer, name string, items ...enroll.Item) store.Accepted {
	emails := []string{buyer}
	for _, it := range items {
		emails = append(emails, it.Email)
	}
	body := fmt.Sprintf(`{"id":%d,"email":%q,"customer":{"first_name":%q},"note":%q}`, id, buyer, name, strings.Join(emails, " "))
	return store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: shop,
			Path: "/webhooks/shopify/order/create", SourceIP: "192.0.2.1",
			Headers: http.Header{"X-Shopify-Shop-Domain": {shop}, "X-Note": {"for " + buyer}},
			Body:    []byte(body), Status: 200},
		Order: enroll.Order{Platform: enroll.Shopify, Source: shop, ID: id, Email: buyer, Paid: true, Items: items},
	}
}

type privacyFixture struct {
	db     *store.DB
	orders map[int64]int64 // shop order id → internal id
}

// newPrivacyFixture stores, in privacyShop, orders in which the customer
// is the buyer (1001, in another case), a learner of someone else's order
// (1002), an order the redaction lists by id only (1003) and an order of a
// stranger (1004); an attempt, an error and operators' notes naming the
// customer; a delivery refused as unpaid whose body holds the customer's
// address; a data request about the customer; and, withOtherShop, the
// customer's order in otherShop (2001).
func newPrivacyFixture(t *testing.T, db *store.DB, withOtherShop bool) privacyFixture {
	t.Helper()
	ctx := context.Background()
	var rec recorder
	f := privacyFixture{db: db, orders: map[int64]int64{}}
	orders := []store.Accepted{
		shopOrder(privacyShop, 1001, strings.ToUpper(customer), customerName,
			enroll.Item{LineItemID: 1, SKU: "course-v1:Org+P1+1", Email: strings.ToUpper(customer)},
			enroll.Item{LineItemID: 2, SKU: "course-v1:Org+P1+1", Email: "friend@example.com"}),
		shopOrder(privacyShop, 1002, "boss@example.com", "Boss",
			enroll.Item{LineItemID: 3, SKU: "course-v1:Org+P2+1", Email: strings.ToLower(customer)}),
		shopOrder(privacyShop, 1003, "listed@example.com", "Listed",
			enroll.Item{LineItemID: 4, SKU: "course-v1:Org+P3+1", Email: "listed@example.com"}),
		shopOrder(privacyShop, 1004, "stranger@example.com", "Stranger",
			enroll.Item{LineItemID: 6, SKU: "course-v1:Org+P4+1", Email: "stranger@example.com"}),
	}
	if withOtherShop {
		orders = append(orders, shopOrder(otherShop, 2001, customer, customerName,
			enroll.Item{LineItemID: 5, SKU: "course-v1:Org+P1+1", Email: customer}))
	}
	for _, a := range orders {
		res, err := db.SaveAccepted(ctx, a, rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		f.orders[a.Order.ID] = res.OrderID
	}
	o1, err := db.FindOrder(ctx, enroll.Shopify, privacyShop, 1001)
	if err != nil {
		t.Fatal(err)
	}
	mustRecord(t, db, store.Attempt{ItemID: o1.Items[0].ID, Outcome: enroll.OutcomeRetry, HTTPStatus: 500,
		Detail: "the LMS said: " + customer + " broke it", Status: enroll.ItemRetrying, Counted: true})
	mustRecord(t, db, store.Attempt{ItemID: o1.Items[1].ID, Outcome: enroll.OutcomeEnrolled, HTTPStatus: 200,
		Status: enroll.ItemEnrolled, Counted: true})
	o4, err := db.FindOrder(ctx, enroll.Shopify, privacyShop, 1004)
	if err != nil {
		t.Fatal(err)
	}
	// A batched call's error on another learner's item that names the customer.
	mustRecord(t, db, store.Attempt{ItemID: o4.Items[0].ID, Outcome: enroll.OutcomeFailed, HTTPStatus: 400,
		Detail: "bad identifiers: " + strings.ToLower(customer), Status: enroll.ItemFailed, Counted: true})
	for _, a := range []store.ActionRecord{
		{Actor: "cli:ops", Action: store.ActionResolve, OrderID: f.orders[1002], Note: "asked by " + customerName},
		{Actor: "cli:ops", Action: store.ActionRetry, OrderID: f.orders[1004], Note: "customer " + customer + " called"},
	} {
		if err := db.RecordAction(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	unpaid := shopOrder(privacyShop, 1005, customer, customerName).Delivery
	unpaid.Status, unpaid.Reason, unpaid.KeepBody = 402, "order is not paid", true
	if _, err := db.SaveDelivery(ctx, unpaid); err != nil {
		t.Fatal(err)
	}
	_, err = db.SavePrivacy(ctx, store.PrivacyDelivery{Delivery: complianceDelivery(privacyShop, `{"customer":{"email":"`+customer+`"}}`),
		Topic: store.TopicDataRequest, Keys: []string{"webhook:dr-1"},
		DataRequest: &enroll.DataRequest{Email: customer, CustomerID: 77, OrderIDs: []int64{1001}, RequestID: 9}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func complianceDelivery(shop, body string) store.Delivery {
	return store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: shop, Path: "/webhooks/shopify",
		SourceIP: "192.0.2.1", Headers: http.Header{"X-Shopify-Shop-Domain": {shop}}, Body: []byte(body), Status: 200}
}

func TestRedactErasesTheEmailEverywhere(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		u := storetest.URL(t, d)
		db, err := store.Open(ctx, u, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		f := newPrivacyFixture(t, db, false)
		before, _, err := db.ListOrders(ctx, store.OrderFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		res, err := db.SavePrivacy(ctx, store.PrivacyDelivery{
			Delivery: complianceDelivery(privacyShop, `{"customer":{"email":"`+customer+`"},"orders_to_redact":[1003]}`),
			Topic:    store.TopicCustomersRedact, Keys: []string{"webhook:r-1", "event:e-1"},
			Redaction: &enroll.Redaction{Email: strings.ToLower(customer), CustomerID: 77, OrderIDs: []int64{1003}}})
		if err != nil {
			t.Fatal(err)
		}
		// Items: 4 of the orders, and the error on 1004's item.
		want := store.RedactCounts{Orders: 3, Items: 5, Deliveries: 4, Attempts: 2, Actions: 2, Requests: 1}
		if res.Redacted != want || res.Duplicate {
			t.Errorf("redacted %+v, duplicate %v; want %+v", res.Redacted, res.Duplicate, want)
		}
		for _, text := range []string{customer, customerName, "friend@example.com", "listed@example.com", "boss@example.com"} {
			if where := storetest.Find(t, db, text); len(where) > 0 {
				t.Errorf("%q is still in %v", text, where)
			}
		}
		// The order that never named the customer keeps its stranger's address.
		if where := storetest.Find(t, db, "stranger@example.com"); len(where) == 0 {
			t.Error("an order the redaction does not name lost its email")
		}
		// Rows, statuses and counts stay.
		after, _, err := db.ListOrders(ctx, store.OrderFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != len(before) {
			t.Fatalf("%d orders, want %d", len(after), len(before))
		}
		for i := range after {
			if after[i].Status != before[i].Status || len(after[i].Items) != len(before[i].Items) {
				t.Errorf("order %d: %s with %d items, was %s with %d", after[i].ExternalID, after[i].Status, len(after[i].Items),
					before[i].Status, len(before[i].Items))
			}
			for j, it := range after[i].Items {
				if it.Status != before[i].Items[j].Status {
					t.Errorf("item %d: %s, was %s", it.ID, it.Status, before[i].Items[j].Status)
				}
				if _, ok := f.orders[after[i].ExternalID]; ok && after[i].ExternalID != 1004 && it.Email != fmt.Sprintf("redacted-%d", it.ID) {
					t.Errorf("item %d of order %d: email %q", it.ID, after[i].ExternalID, it.Email)
				}
			}
		}
		var redacted int
		if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM orders WHERE redacted_at IS NOT NULL`).Scan(&redacted); err != nil || redacted != 3 {
			t.Errorf("%d orders with redacted_at, %v; want 3", redacted, err)
		}
		// A redelivered redaction is a duplicate; a repeated one finds nothing more.
		dup, err := db.SavePrivacy(ctx, store.PrivacyDelivery{Delivery: complianceDelivery(privacyShop, `{}`),
			Topic: store.TopicCustomersRedact, Keys: []string{"webhook:r-1"}, Redaction: &enroll.Redaction{Email: customer}})
		if err != nil || !dup.Duplicate || dup.RequestID != 0 {
			t.Errorf("redelivery: %+v, %v", dup, err)
		}
		// The same event sent to another subscription: a new webhook id, the event id seen.
		other, err := db.SavePrivacy(ctx, store.PrivacyDelivery{Delivery: complianceDelivery(privacyShop, `{}`),
			Topic: store.TopicCustomersRedact, Keys: []string{"webhook:r-2", "event:e-1"}, Redaction: &enroll.Redaction{Email: customer}})
		if err != nil || !other.Duplicate || other.RequestID != 0 {
			t.Errorf("the same event through another subscription: %+v, %v", other, err)
		}
		again, err := db.Redact(ctx, enroll.Shopify, privacyShop, enroll.Redaction{Email: customer, OrderIDs: []int64{1003}})
		if err != nil || (again != store.RedactCounts{Orders: 1}) {
			t.Errorf("again: %+v, %v", again, err)
		}
		requests, _, err := db.ListPrivacyRequests(ctx, store.PrivacyFilter{})
		if err != nil || len(requests) != 2 {
			t.Fatalf("privacy requests: %+v, %v", requests, err)
		}
		if r := requests[0]; r.Topic != store.TopicCustomersRedact || r.Email != "" || r.DoneAt.IsZero() ||
			!slices.Equal(r.OrderIDs, []int64{1003}) || r.CustomerID != 77 || r.DeliveryID == 0 {
			t.Errorf("redaction's request: %+v", r)
		}
		if r := requests[1]; r.Topic != store.TopicDataRequest || r.Email != "" || !r.Pending() {
			t.Errorf("data request after the redaction: %+v", r)
		}
		if d == store.SQLite {
			path, _ := store.SQLitePath(u)
			for _, text := range []string{customer, customerName, "listed@example.com"} {
				if storetest.FileHolds(t, db, path, text) {
					t.Errorf("the database file still holds %q", text)
				}
			}
			if !storetest.FileHolds(t, db, path, "stranger@example.com") {
				t.Error("the file search finds nothing")
			}
		}
	})
}

func TestRedactWholeShop(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newPrivacyFixture(t, db, true)
		c, err := db.Redact(ctx, enroll.Shopify, strings.ToUpper(privacyShop), enroll.Redaction{WholeShop: true})
		if err != nil {
			t.Fatal(err)
		}
		if c.Orders != 4 || c.Items != 5 {
			t.Errorf("whole shop: %+v", c)
		}
		for _, text := range []string{"Stranger", "Listed", "Boss", "stranger@example.com", "listed@example.com"} {
			if where := storetest.Find(t, db, text); len(where) > 0 {
				t.Errorf("%q is still in %v", text, where)
			}
		}
		// The customer's order in the other shop, and the data request, which
		// a whole shop's redaction does not name, stay.
		if where := storetest.Find(t, db, customer); !slices.Contains(where, "orders.email") || !slices.Contains(where, "privacy_requests.email") {
			t.Errorf("the customer is in %v", where)
		}
		if _, err := db.Redact(ctx, enroll.Shopify, "", enroll.Redaction{WholeShop: true}); err == nil {
			t.Error("a whole shop's redaction without the shop was taken")
		}
		if _, err := db.Redact(ctx, "", "", enroll.Redaction{}); err == nil {
			t.Error("a redaction of nothing was taken")
		}
	})
}

func TestRedactByHandInEveryShop(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newPrivacyFixture(t, db, true)
		c, err := db.RedactByHand(ctx, "cli:ops", "", "", enroll.Redaction{Email: customer})
		if err != nil {
			t.Fatal(err)
		}
		if c.Orders != 3 { // 1001, 1002 and the other shop's 2001
			t.Errorf("redacted %+v", c)
		}
		if where := storetest.Find(t, db, customer); len(where) > 0 {
			t.Errorf("the customer is still in %v", where)
		}
		detail, err := db.OrderDetail(ctx, f.orders[1001])
		if err != nil {
			t.Fatal(err)
		}
		last := detail.Actions[len(detail.Actions)-1]
		if last.Action != store.ActionRedact || last.Actor != "cli:ops" {
			t.Errorf("actions: %+v", detail.Actions)
		}
		requests, _, err := db.ListPrivacyRequests(ctx, store.PrivacyFilter{})
		if err != nil || requests[0].Topic != store.TopicRedactByHand || !strings.Contains(requests[0].Note, "cli:ops") {
			t.Errorf("requests: %+v, %v", requests, err)
		}
	})
}

func TestExport(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newPrivacyFixture(t, db, true)
		x, err := db.Export(ctx, strings.ToLower(customer))
		if err != nil {
			t.Fatal(err)
		}
		var orders []string
		for _, o := range x.Orders {
			orders = append(orders, fmt.Sprintf("%s/%d:%d items,%d deliveries", o.Source, o.OrderID, len(o.Items), len(o.Deliveries)))
		}
		want := []string{privacyShop + "/1001:2 items,1 deliveries", privacyShop + "/1002:1 items,1 deliveries", otherShop + "/2001:1 items,1 deliveries"}
		if !slices.Equal(orders, want) {
			t.Errorf("orders %v, want %v", orders, want)
		}
		first := x.Orders[0]
		if first.Items[0].Email != strings.ToUpper(customer) || len(first.Items[0].AttemptList) != 1 || first.Items[0].Want != "enrolled" {
			t.Errorf("first item: %+v", first.Items[0])
		}
		if !strings.Contains(string(first.Deliveries[0].Body), customerName) {
			t.Errorf("delivery body: %s", first.Deliveries[0].Body)
		}
		if len(x.OtherDeliveries) != 1 || x.OtherDeliveries[0].Status != 402 {
			t.Errorf("other deliveries: %+v", x.OtherDeliveries)
		}
		if len(x.PrivacyRequests) != 1 || x.PrivacyRequests[0].Topic != store.TopicDataRequest {
			t.Errorf("privacy requests: %+v", x.PrivacyRequests)
		}
		b, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range []string{`"order_id":"1001"`, `"attempt_list":[{`, `"other_deliveries":[{`, `"redacted_at":null`} {
			if !strings.Contains(string(b), field) {
				t.Errorf("the JSON has no %s", field)
			}
		}
		if _, err := db.Export(ctx, " "); err == nil {
			t.Error("an export of no email was taken")
		}
		none, err := db.Export(ctx, "nobody@example.com")
		if err != nil || len(none.Orders) != 0 || none.Orders == nil {
			t.Errorf("nobody: %+v, %v", none, err)
		}
	})
}

func TestAnswerDataRequest(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		newPrivacyFixture(t, db, false)
		pending, _, err := db.ListPrivacyRequests(ctx, store.PrivacyFilter{Pending: true})
		if err != nil || len(pending) != 1 || pending[0].Email != customer || pending[0].Note != "shop's data request 9" {
			t.Fatalf("pending: %+v, %v", pending, err)
		}
		if err := db.AnswerDataRequest(ctx, pending[0].ID, "admin", "sent to the shop"); err != nil {
			t.Fatal(err)
		}
		if err := db.AnswerDataRequest(ctx, pending[0].ID, "admin", "again"); err == nil {
			t.Error("answered twice")
		}
		if err := db.AnswerDataRequest(ctx, 999, "admin", ""); err == nil {
			t.Error("answered a request that does not exist")
		}
		r, err := db.PrivacyRequest(ctx, pending[0].ID)
		if err != nil || r.Pending() || !strings.Contains(r.Note, "answered by admin") {
			t.Errorf("answered: %+v, %v", r, err)
		}
		if left, _, _ := db.ListPrivacyRequests(ctx, store.PrivacyFilter{Pending: true}); len(left) != 0 {
			t.Errorf("still pending: %+v", left)
		}
	})
}
