package shopifytest

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Subscription is a webhook subscription of the fake shop.
type Subscription struct {
	ID        string // gid://shopify/WebhookSubscription/<n>
	Topic     string // ORDERS_CREATE, ORDERS_PAID, ...
	URI       string // the HTTPS address Shopify delivers to
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Subscriptions returns every subscription, oldest first.
func (s *Shop) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Subscription, len(s.subs))
	for i, sub := range s.subs {
		out[i] = *sub
	}
	return out
}

// AddSubscription adds a subscription as another app or a person would.
func (s *Shop) AddSubscription(topic, uri string) Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.add(topic, uri)
}

func (s *Shop) add(topic, uri string) *Subscription {
	s.nextSub++
	now := s.now()
	sub := &Subscription{ID: "gid://shopify/WebhookSubscription/" + strconv.FormatInt(s.nextSub, 10),
		Topic: topic, URI: uri, CreatedAt: now, UpdatedAt: now}
	s.subs = append(s.subs, sub)
	return sub
}

// DeleteSubscription deletes a subscription, as Shopify does after 8 failed
// deliveries in a row over 4 hours; false when there is none with id.
func (s *Shop) DeleteSubscription(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i < 0 {
		return false
	}
	s.subs = slices.Delete(s.subs, i, i+1)
	return true
}

// PointSubscription points a subscription at another address; false when
// there is none with id.
func (s *Shop) PointSubscription(id, uri string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(id)
	if i < 0 {
		return false
	}
	s.subs[i].URI, s.subs[i].UpdatedAt = uri, s.now()
	return true
}

func (s *Shop) find(id string) int {
	return slices.IndexFunc(s.subs, func(sub *Subscription) bool { return sub.ID == id })
}

func subscriptionNode(sub *Subscription) map[string]any {
	return map[string]any{
		"id":        sub.ID,
		"topic":     sub.Topic,
		"uri":       sub.URI,
		"format":    "JSON",
		"createdAt": timeValue(sub.CreatedAt),
		"updatedAt": timeValue(sub.UpdatedAt),
		"endpoint":  map[string]any{"__typename": "WebhookHttpEndpoint", "callbackUrl": sub.URI},
	}
}

func (s *Shop) answerSubscriptions(req request) answer {
	var v struct {
		First *int    `json:"first"`
		After *string `json:"after"`
	}
	if !variables(req, &v) || v.First == nil || *v.First < 1 || *v.First > 250 {
		return queryError("first must be between 1 and 250")
	}
	start := 0
	if v.After != nil {
		n, err := strconv.Atoi(*v.After)
		if err != nil || n < 0 || n > len(s.subs) {
			return queryError("Invalid cursor for current pagination.")
		}
		start = n
	}
	end := min(start+*v.First, len(s.subs))
	nodes := []map[string]any{}
	for _, sub := range s.subs[start:end] {
		nodes = append(nodes, subscriptionNode(sub))
	}
	var endCursor any
	if end > start {
		endCursor = strconv.Itoa(end)
	}
	return answer{
		data: map[string]any{"webhookSubscriptions": map[string]any{"nodes": nodes,
			"pageInfo": map[string]any{"hasNextPage": end < len(s.subs), "endCursor": endCursor}}},
		requested: subscriptionsCost(*v.First),
		actual:    subscriptionsCost(len(nodes)),
	}
}

// subscriptionInput is WebhookSubscriptionInput: uri in current versions,
// callbackUrl in older ones.
type subscriptionInput struct {
	URI         string `json:"uri"`
	CallbackURL string `json:"callbackUrl"`
}

func (in subscriptionInput) address() string { return strings.TrimSpace(in.URI + in.CallbackURL) }

type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

var topicName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// checkAddress returns the user error Shopify gives for an address it
// cannot deliver to, or nil.
func checkAddress(uri string) []userError {
	u, err := url.Parse(uri)
	switch {
	case uri == "" || err != nil || u.Host == "":
		return []userError{{Field: []string{"webhookSubscription", "uri"}, Message: "Address is invalid"}}
	case u.Scheme != "https":
		return []userError{{Field: []string{"webhookSubscription", "uri"}, Message: "Address protocol " + u.Scheme + ":// is not supported"}}
	}
	return nil
}

func mutationAnswer(field string, payload map[string]any, errs []userError) answer {
	if errs == nil {
		errs = []userError{}
	}
	payload["userErrors"] = errs
	return answer{data: map[string]any{field: payload}, requested: mutationCost, actual: mutationCost}
}

func (s *Shop) answerCreate(req request) answer {
	var v struct {
		Topic string            `json:"topic"`
		Input subscriptionInput `json:"webhookSubscription"`
	}
	if !variables(req, &v) || !topicName.MatchString(v.Topic) {
		return queryError("Variable $topic of type WebhookSubscriptionTopic! was provided invalid value")
	}
	uri := v.Input.address()
	if errs := checkAddress(uri); errs != nil {
		return mutationAnswer("webhookSubscriptionCreate", map[string]any{"webhookSubscription": nil}, errs)
	}
	for _, sub := range s.subs {
		if sub.Topic == v.Topic && sub.URI == uri {
			return mutationAnswer("webhookSubscriptionCreate", map[string]any{"webhookSubscription": nil},
				[]userError{{Field: []string{"webhookSubscription", "uri"}, Message: "Address for this topic has already been taken"}})
		}
	}
	return mutationAnswer("webhookSubscriptionCreate", map[string]any{"webhookSubscription": subscriptionNode(s.add(v.Topic, uri))}, nil)
}

func (s *Shop) answerUpdate(req request) answer {
	var v struct {
		ID    string            `json:"id"`
		Input subscriptionInput `json:"webhookSubscription"`
	}
	if !variables(req, &v) {
		return queryError("Variables do not fit WebhookSubscriptionUpdate")
	}
	i := s.find(v.ID)
	if i < 0 {
		return mutationAnswer("webhookSubscriptionUpdate", map[string]any{"webhookSubscription": nil},
			[]userError{{Field: []string{"id"}, Message: "Webhook subscription does not exist"}})
	}
	uri := v.Input.address()
	if errs := checkAddress(uri); errs != nil {
		return mutationAnswer("webhookSubscriptionUpdate", map[string]any{"webhookSubscription": nil}, errs)
	}
	s.subs[i].URI, s.subs[i].UpdatedAt = uri, s.now()
	return mutationAnswer("webhookSubscriptionUpdate", map[string]any{"webhookSubscription": subscriptionNode(s.subs[i])}, nil)
}

func (s *Shop) answerDelete(req request) answer {
	var v struct {
		ID string `json:"id"`
	}
	if !variables(req, &v) {
		return queryError("Variables do not fit WebhookSubscriptionDelete")
	}
	i := s.find(v.ID)
	if i < 0 {
		return mutationAnswer("webhookSubscriptionDelete", map[string]any{"deletedWebhookSubscriptionId": nil},
			[]userError{{Field: []string{"id"}, Message: "Webhook subscription does not exist"}})
	}
	s.subs = slices.Delete(s.subs, i, i+1)
	return mutationAnswer("webhookSubscriptionDelete", map[string]any{"deletedWebhookSubscriptionId": v.ID}, nil)
}
