package woo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Webhook statuses: WooCommerce sets disabled itself after more than five
// failed deliveries in a row; paused is set by hand.
const (
	StatusActive   = "active"
	StatusPaused   = "paused"
	StatusDisabled = "disabled"
)

// Webhook is one of the site's webhooks. Its secret is never read: the
// API shows it, but nothing here needs it, and what is not held cannot leak.
type Webhook struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Topic       string `json:"topic"` // order.created, order.updated, ...
	DeliveryURL string `json:"delivery_url"`
	Status      string `json:"status"` // active, paused or disabled
}

type wooWebhook struct {
	ID          json.RawMessage `json:"id"`
	Name        json.RawMessage `json:"name"`
	Topic       json.RawMessage `json:"topic"`
	DeliveryURL json.RawMessage `json:"delivery_url"`
	Status      json.RawMessage `json:"status"`
}

// Webhooks lists every webhook of the site, whatever its status.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	const op = "list webhooks"
	var hooks []Webhook
	err := c.pages(ctx, op, "/webhooks", url.Values{"status": {"all"}}, func(page int, body []byte) (int, error) {
		hs, err := ParseWebhooks(body)
		if err != nil {
			return 0, fmt.Errorf("%s, page %d: %w", op, page, err)
		}
		hooks = append(hooks, hs...)
		return len(hs), nil
	})
	if err != nil {
		return nil, err
	}
	return hooks, nil
}

// CreateWebhook creates an active webhook of topic delivering to
// deliveryURL, signed with secret. WooCommerce pings the address once
// saved.
func (c *Client) CreateWebhook(ctx context.Context, topic, deliveryURL, secret string) (Webhook, error) {
	op := fmt.Sprintf("create webhook %s", topic)
	in := map[string]string{
		"name":         "webhook-receiver " + topic,
		"topic":        topic,
		"delivery_url": deliveryURL,
		"secret":       secret,
		"status":       StatusActive,
	}
	return c.writeWebhook(ctx, op, http.MethodPost, "/webhooks", in)
}

// UpdateWebhook sets a webhook's status and delivery URL; an empty value
// leaves that field as it is. Setting a disabled webhook active re-enables
// it.
func (c *Client) UpdateWebhook(ctx context.Context, id int64, status, deliveryURL string) (Webhook, error) {
	op := fmt.Sprintf("update webhook %d", id)
	in := map[string]string{}
	if status != "" {
		in["status"] = status
	}
	if deliveryURL != "" {
		in["delivery_url"] = deliveryURL
	}
	return c.writeWebhook(ctx, op, http.MethodPut, "/webhooks/"+strconv.FormatInt(id, 10), in)
}

func (c *Client) writeWebhook(ctx context.Context, op, method, path string, in map[string]string) (Webhook, error) {
	a, err := c.call(ctx, op, method, path, nil, in)
	if err != nil {
		return Webhook{}, err
	}
	h, ok := parseWebhook(a.body)
	if !ok {
		return Webhook{}, fmt.Errorf("%s: answer is not a webhook with an id", op)
	}
	return h, nil
}

// ParseWebhooks reads a page of GET /webhooks. Every element must be a
// webhook with a positive id, or the page is refused: a webhook missed here
// would be created twice.
func ParseWebhooks(body []byte) ([]Webhook, error) {
	elems, err := elements(body)
	if err != nil {
		return nil, err
	}
	hooks := make([]Webhook, 0, len(elems))
	for i, raw := range elems {
		h, ok := parseWebhook(raw)
		if !ok {
			return nil, fmt.Errorf("element %d is not a webhook with an id: %w", i, ErrNotList)
		}
		hooks = append(hooks, h)
	}
	return hooks, nil
}

// parseWebhook reads one webhook object; ok is false without a positive id.
func parseWebhook(raw []byte) (Webhook, bool) {
	var in wooWebhook
	if json.Unmarshal(raw, &in) != nil {
		return Webhook{}, false
	}
	id, ok := positiveID(in.ID)
	if !ok {
		return Webhook{}, false
	}
	return Webhook{ID: id, Name: str(in.Name), Topic: str(in.Topic), DeliveryURL: str(in.DeliveryURL),
		Status: str(in.Status)}, true
}
