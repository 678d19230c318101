package shopify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Subscription is one of the shop's webhook subscriptions.
type Subscription struct {
	ID        string    // the GID, gid://shopify/WebhookSubscription/<n>
	Topic     string    // ORDERS_CREATE, ORDERS_PAID, ORDERS_CANCELLED, REFUNDS_CREATE, ...
	URL       string    // the address Shopify delivers to
	CreatedAt time.Time // zero when the answer does not say
	UpdatedAt time.Time
}

// subscriptionFields is what is read of a subscription. uri is the address
// since the 2025-04 version (it replaced endpoint's callbackUrl).
const subscriptionFields = `id topic uri createdAt updatedAt`

type gqlSubscription struct {
	ID        string    `json:"id"`
	Topic     string    `json:"topic"`
	URI       string    `json:"uri"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

func (g *gqlSubscription) subscription() Subscription {
	return Subscription{ID: g.ID, Topic: g.Topic, URL: g.URI, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

const subscriptionsQuery = `query WebhookSubscriptions($first: Int!, $after: String) {
  webhookSubscriptions(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { ` + subscriptionFields + ` }
  }
}`

// Subscriptions lists every webhook subscription the app has in the shop.
func (c *Client) Subscriptions(ctx context.Context) ([]Subscription, error) {
	var out []Subscription
	vars := map[string]any{"first": 100, "after": nil}
	for {
		var data struct {
			WebhookSubscriptions *struct {
				PageInfo struct {
					HasNextPage bool    `json:"hasNextPage"`
					EndCursor   *string `json:"endCursor"`
				} `json:"pageInfo"`
				Nodes []gqlSubscription `json:"nodes"`
			} `json:"webhookSubscriptions"`
		}
		if err := c.do(ctx, call{name: "WebhookSubscriptions", query: subscriptionsQuery, variables: vars}, &data, nil); err != nil {
			return nil, fmt.Errorf("list webhook subscriptions: %w", err)
		}
		conn := data.WebhookSubscriptions
		if conn == nil {
			return nil, fmt.Errorf("shopify %s: list webhook subscriptions: the answer has none", c.domain)
		}
		for i := range conn.Nodes {
			out = append(out, conn.Nodes[i].subscription())
		}
		if !conn.PageInfo.HasNextPage {
			return out, nil
		}
		if conn.PageInfo.EndCursor == nil || *conn.PageInfo.EndCursor == vars["after"] {
			return nil, fmt.Errorf("shopify %s: list webhook subscriptions: hasNextPage without a new endCursor", c.domain)
		}
		vars["after"] = *conn.PageInfo.EndCursor
	}
}

// UserError is a mutation's refusal, such as an address Shopify does not
// accept or one already subscribed to the topic.
type UserError struct {
	Field   []string
	Message string
}

func (e *UserError) Error() string {
	if len(e.Field) > 0 {
		return strings.Join(e.Field, ".") + ": " + e.Message
	}
	return e.Message
}

type mutationPayload struct {
	WebhookSubscription *gqlSubscription `json:"webhookSubscription"`
	UserErrors          []struct {
		Field   []string `json:"field"`
		Message string   `json:"message"`
	} `json:"userErrors"`
}

// result returns the subscription of a payload, or its user errors.
func (p *mutationPayload) result() (Subscription, error) {
	if p == nil {
		return Subscription{}, errors.New("the answer has no payload")
	}
	if len(p.UserErrors) > 0 {
		errs := make([]error, len(p.UserErrors))
		for i, e := range p.UserErrors {
			errs[i] = &UserError{Field: e.Field, Message: e.Message}
		}
		return Subscription{}, errors.Join(errs...)
	}
	if p.WebhookSubscription == nil {
		return Subscription{}, errors.New("the answer has no subscription")
	}
	return p.WebhookSubscription.subscription(), nil
}

const createMutation = `mutation WebhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $webhookSubscription) {
    webhookSubscription { ` + subscriptionFields + ` }
    userErrors { field message }
  }
}`

// CreateSubscription subscribes url to topic (such as ORDERS_PAID), in JSON.
func (c *Client) CreateSubscription(ctx context.Context, topic, url string) (Subscription, error) {
	var data struct {
		Payload *mutationPayload `json:"webhookSubscriptionCreate"`
	}
	vars := map[string]any{"topic": topic, "webhookSubscription": map[string]any{"uri": url, "format": "JSON"}}
	if err := c.do(ctx, call{name: "WebhookSubscriptionCreate", query: createMutation, variables: vars}, &data, nil); err != nil {
		return Subscription{}, fmt.Errorf("create webhook subscription %s: %w", topic, err)
	}
	sub, err := data.Payload.result()
	if err != nil {
		return Subscription{}, fmt.Errorf("shopify %s: create webhook subscription %s: %w", c.domain, topic, err)
	}
	return sub, nil
}

const updateMutation = `mutation WebhookSubscriptionUpdate($id: ID!, $webhookSubscription: WebhookSubscriptionInput!) {
  webhookSubscriptionUpdate(id: $id, webhookSubscription: $webhookSubscription) {
    webhookSubscription { ` + subscriptionFields + ` }
    userErrors { field message }
  }
}`

// UpdateSubscription points the subscription id at url.
func (c *Client) UpdateSubscription(ctx context.Context, id, url string) (Subscription, error) {
	var data struct {
		Payload *mutationPayload `json:"webhookSubscriptionUpdate"`
	}
	vars := map[string]any{"id": id, "webhookSubscription": map[string]any{"uri": url}}
	if err := c.do(ctx, call{name: "WebhookSubscriptionUpdate", query: updateMutation, variables: vars}, &data, nil); err != nil {
		return Subscription{}, fmt.Errorf("update webhook subscription %s: %w", id, err)
	}
	sub, err := data.Payload.result()
	if err != nil {
		return Subscription{}, fmt.Errorf("shopify %s: update webhook subscription %s: %w", c.domain, id, err)
	}
	return sub, nil
}

const deleteMutation = `mutation WebhookSubscriptionDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) {
    deletedWebhookSubscriptionId
    userErrors { field message }
  }
}`

// DeleteSubscription deletes the subscription id.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	var data struct {
		Payload *struct {
			Deleted    *string `json:"deletedWebhookSubscriptionId"`
			UserErrors []struct {
				Field   []string `json:"field"`
				Message string   `json:"message"`
			} `json:"userErrors"`
		} `json:"webhookSubscriptionDelete"`
	}
	if err := c.do(ctx, call{name: "WebhookSubscriptionDelete", query: deleteMutation, variables: map[string]any{"id": id}}, &data, nil); err != nil {
		return fmt.Errorf("delete webhook subscription %s: %w", id, err)
	}
	p := data.Payload
	if p == nil {
		return fmt.Errorf("shopify %s: delete webhook subscription %s: the answer has no payload", c.domain, id)
	}
	if len(p.UserErrors) > 0 {
		e := p.UserErrors[0]
		return fmt.Errorf("shopify %s: delete webhook subscription %s: %w", c.domain, id, &UserError{Field: e.Field, Message: e.Message})
	}
	return nil
}
