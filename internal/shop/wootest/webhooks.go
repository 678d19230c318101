package wootest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook is a webhook of the site as a test sees it.
type Webhook struct {
	ID           int64
	Name         string
	Topic        string
	DeliveryURL  string
	Secret       string
	Status       string // active, paused or disabled
	FailureCount int
	Created      time.Time
	Modified     time.Time
}

type webhook = Webhook

// topics are the webhook topics the site accepts.
var topics = []string{
	"order.created", "order.updated", "order.deleted", "order.restored",
	"product.created", "product.updated", "customer.created", "action.woocommerce_order_status_completed",
}

var statuses = []string{"active", "paused", "disabled"}

// AddWebhook adds a webhook as if made in WP Admin, and returns its id.
func (s *Shop) AddWebhook(h Webhook) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.ID = s.nextID()
	h.Created, h.Modified = s.now, s.now
	if h.Status == "" {
		h.Status = "active"
	}
	s.webhooks[h.ID] = &h
	return h.ID
}

// DisableWebhook disables a webhook as WooCommerce does after more than
// five failed deliveries in a row.
func (s *Shop) DisableWebhook(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.webhooks[id]
	if h == nil {
		panic(fmt.Sprintf("wootest: no webhook %d", id))
	}
	h.Status, h.FailureCount, h.Modified = "disabled", 6, s.now
}

// Webhooks returns the site's webhooks by id.
func (s *Shop) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	for _, h := range s.webhooks {
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b Webhook) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// json is the webhook as the REST API shows it, secret included.
func (h *Webhook) json() map[string]any {
	resource, event, _ := strings.Cut(h.Topic, ".")
	return map[string]any{
		"id":                h.ID,
		"name":              h.Name,
		"status":            h.Status,
		"topic":             h.Topic,
		"resource":          resource,
		"event":             event,
		"hooks":             []string{"woocommerce_new_order"},
		"delivery_url":      h.DeliveryURL,
		"secret":            h.Secret,
		"date_created_gmt":  wooTime(h.Created),
		"date_modified_gmt": wooTime(h.Modified),
	}
}

// webhookFields are the fields of a create or update request.
type webhookFields struct {
	Name        *string `json:"name"`
	Topic       *string `json:"topic"`
	DeliveryURL *string `json:"delivery_url"`
	Secret      *string `json:"secret"`
	Status      *string `json:"status"`
}

func (s *Shop) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	perPage, page, ok := paging(w, r)
	if !ok {
		return
	}
	status := r.URL.Query().Get("status")
	if status == "" {
		status = "all"
	}
	var out []map[string]any
	for _, h := range s.Webhooks() {
		if status == "all" || h.Status == status {
			out = append(out, h.json())
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	writePage(w, out, perPage, page)
}

func (s *Shop) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var in webhookFields
	if !readFields(w, r, &in) {
		return
	}
	if in.Topic == nil || !slices.Contains(topics, *in.Topic) {
		writeError(w, http.StatusBadRequest, "rest_missing_callback_param", "Missing or invalid parameter(s): topic")
		return
	}
	if in.DeliveryURL == nil {
		writeError(w, http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): delivery_url")
		return
	}
	h := Webhook{Topic: *in.Topic, Status: "active"}
	if !apply(w, &h, in) {
		return
	}
	h.ID = s.AddWebhook(h)
	s.mu.Lock()
	out := s.webhooks[h.ID].json()
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Shop) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) {
	var in webhookFields
	if !readFields(w, r, &in) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.webhooks[id]
	if h == nil {
		writeError(w, http.StatusNotFound, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
		return
	}
	if in.Topic != nil && !slices.Contains(topics, *in.Topic) {
		writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): topic")
		return
	}
	updated := *h
	if in.Topic != nil {
		updated.Topic = *in.Topic
	}
	if !apply(w, &updated, in) {
		return
	}
	if updated.Status == "active" && h.Status != "active" {
		updated.FailureCount = 0
	}
	updated.Modified = s.now
	*h = updated
	writeJSON(w, http.StatusOK, h.json())
}

func readFields(w http.ResponseWriter, r *http.Request, in *webhookFields) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(in); err != nil {
		writeError(w, http.StatusBadRequest, "rest_invalid_json", "Invalid JSON body passed.")
		return false
	}
	return true
}

// apply sets the name, delivery URL, secret and status of a request on h,
// or answers 400 and returns false.
func apply(w http.ResponseWriter, h *Webhook, in webhookFields) bool {
	if in.DeliveryURL != nil {
		u, err := url.Parse(*in.DeliveryURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): delivery_url")
			return false
		}
		h.DeliveryURL = *in.DeliveryURL
	}
	if in.Status != nil {
		if !slices.Contains(statuses, *in.Status) {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): status")
			return false
		}
		h.Status = *in.Status
	}
	if in.Name != nil {
		h.Name = *in.Name
	}
	if in.Secret != nil {
		h.Secret = *in.Secret
	}
	return true
}
