package shopify_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopify"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
)

const receiver = "https://webhooks.lms.example.com/webhooks/shopify"

// topicsAndURLs lists subscriptions as topic → url.
func topicsAndURLs(subs []shopify.Subscription) map[string]string {
	out := map[string]string{}
	for _, s := range subs {
		out[s.Topic] = s.URL
	}
	return out
}

func TestSubscriptions(t *testing.T) {
	shop := shopifytest.New(t)
	c, _ := newClient(t, shop, nil)
	ctx := t.Context()

	created := map[string]shopify.Subscription{}
	for _, topic := range []string{"ORDERS_CREATE", "ORDERS_PAID", "ORDERS_CANCELLED", "REFUNDS_CREATE"} {
		sub, err := c.CreateSubscription(ctx, topic, receiver)
		if err != nil {
			t.Fatal(err)
		}
		if sub.Topic != topic || sub.URL != receiver || !strings.HasPrefix(sub.ID, "gid://shopify/WebhookSubscription/") || sub.CreatedAt.IsZero() {
			t.Errorf("created %+v", sub)
		}
		created[topic] = sub
	}
	list, err := c.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"ORDERS_CREATE": receiver, "ORDERS_PAID": receiver, "ORDERS_CANCELLED": receiver, "REFUNDS_CREATE": receiver}
	if diff := cmp.Diff(want, topicsAndURLs(list)); diff != "" {
		t.Fatalf("subscriptions (-want +got):\n%s", diff)
	}

	// Broken in the shop: one deleted, one pointed elsewhere.
	shop.DeleteSubscription(created["ORDERS_PAID"].ID)
	shop.PointSubscription(created["REFUNDS_CREATE"].ID, "https://elsewhere.example.com/hook")
	list, err = c.Subscriptions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{"ORDERS_CREATE": receiver, "ORDERS_CANCELLED": receiver, "REFUNDS_CREATE": "https://elsewhere.example.com/hook"}
	if diff := cmp.Diff(want, topicsAndURLs(list)); diff != "" {
		t.Fatalf("subscriptions after breaking two (-want +got):\n%s", diff)
	}

	// Repaired.
	if _, err := c.CreateSubscription(ctx, "ORDERS_PAID", receiver); err != nil {
		t.Fatal(err)
	}
	sub, err := c.UpdateSubscription(ctx, created["REFUNDS_CREATE"].ID, receiver)
	if err != nil || sub.URL != receiver || sub.ID != created["REFUNDS_CREATE"].ID {
		t.Fatalf("update: %+v, %v", sub, err)
	}
	want = map[string]string{"ORDERS_CREATE": receiver, "ORDERS_PAID": receiver, "ORDERS_CANCELLED": receiver, "REFUNDS_CREATE": receiver}
	if diff := cmp.Diff(want, topicsAndURLs(shopSubscriptions(shop))); diff != "" {
		t.Fatalf("the shop's subscriptions after repair (-want +got):\n%s", diff)
	}

	if err := c.DeleteSubscription(ctx, created["ORDERS_CREATE"].ID); err != nil {
		t.Fatal(err)
	}
	if n := len(shop.Subscriptions()); n != 3 {
		t.Errorf("%d subscriptions after deleting one, want 3", n)
	}
}

func shopSubscriptions(shop *shopifytest.Shop) []shopify.Subscription {
	var out []shopify.Subscription
	for _, s := range shop.Subscriptions() {
		out = append(out, shopify.Subscription{ID: s.ID, Topic: s.Topic, URL: s.URI})
	}
	return out
}

func TestSubscriptionsRefused(t *testing.T) {
	shop := shopifytest.New(t)
	c, _ := newClient(t, shop, nil)
	ctx := t.Context()
	if _, err := c.CreateSubscription(ctx, "ORDERS_PAID", receiver); err != nil {
		t.Fatal(err)
	}
	var userErr *shopify.UserError
	if _, err := c.CreateSubscription(ctx, "ORDERS_PAID", receiver); !errors.As(err, &userErr) || !strings.Contains(err.Error(), "already been taken") {
		t.Errorf("a second subscription of the same topic and address: %v, want a user error", err)
	}
	if _, err := c.CreateSubscription(ctx, "ORDERS_CREATE", "http://webhooks.lms.example.com/"); !errors.As(err, &userErr) {
		t.Errorf("an http address: %v, want a user error", err)
	}
	if _, err := c.UpdateSubscription(ctx, "gid://shopify/WebhookSubscription/999", receiver); !errors.As(err, &userErr) {
		t.Errorf("updating a missing subscription: %v, want a user error", err)
	}
	if err := c.DeleteSubscription(ctx, "gid://shopify/WebhookSubscription/999"); !errors.As(err, &userErr) {
		t.Errorf("deleting a missing subscription: %v, want a user error", err)
	}
	shop.SetToken("another")
	if _, err := c.Subscriptions(ctx); !errors.Is(err, shopify.ErrUnauthorized) {
		t.Errorf("listing with a revoked token: %v, want ErrUnauthorized", err)
	}
}

func TestSubscriptionsPages(t *testing.T) {
	shop := shopifytest.New(t)
	for i := range 230 {
		shop.AddSubscription("ORDERS_CREATE", fmt.Sprintf("https://hooks.example.com/%d", i))
	}
	c, _ := newClient(t, shop, nil)
	list, err := c.Subscriptions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 230 || list[229].URL != "https://hooks.example.com/229" {
		t.Errorf("%d subscriptions, want all 230 in order", len(list))
	}
	if n := len(shop.Requests()); n != 3 {
		t.Errorf("%d requests, want 3 pages of at most 100", n)
	}
}
