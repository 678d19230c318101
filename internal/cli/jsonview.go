package cli

import (
	"encoding/json"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// JSON views: stable snake_case names for scripts. Ids are written as
// strings: shops' ids exceed 2^53, which jq and JavaScript would round.

type orderJSON struct {
	ID         int64          `json:"id,string"`
	Platform   string         `json:"platform"`
	Source     string         `json:"source"`
	OrderID    int64          `json:"order_id,string"`
	BuyerEmail string         `json:"buyer_email"`
	Status     string         `json:"status"`
	CreatedAt  time.Time      `json:"created_at"`
	Items      []itemJSON     `json:"items"`
	Deliveries []deliveryJSON `json:"deliveries,omitempty"`
	Actions    []actionJSON   `json:"actions,omitempty"`
}

type itemJSON struct {
	ID          int64         `json:"id,string"`
	LineItemID  int64         `json:"line_item_id,string"`
	SKU         string        `json:"sku"`
	Email       string        `json:"email"`
	CourseID    string        `json:"course_id"`
	Status      string        `json:"status"`
	Attempts    int           `json:"attempts"`
	LastError   string        `json:"last_error"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
	AttemptList []attemptJSON `json:"attempt_list,omitempty"`
}

type attemptJSON struct {
	At         time.Time `json:"at"`
	Outcome    string    `json:"outcome"`
	HTTPStatus int       `json:"http_status"`
	Detail     string    `json:"detail"`
}

type deliveryJSON struct {
	ID         int64               `json:"id,string"`
	ReceivedAt time.Time           `json:"received_at"`
	Platform   string              `json:"platform"`
	Source     string              `json:"source"`
	Path       string              `json:"path"`
	SourceIP   string              `json:"source_ip"`
	Headers    map[string][]string `json:"headers"`
	// Body is the JSON body itself, or a string when it is not JSON.
	Body       json.RawMessage `json:"body,omitempty"`
	BodyStored bool            `json:"body_stored"`
	BodySize   int64           `json:"body_size"`
	BodySHA256 string          `json:"body_sha256"`
	Status     int             `json:"status"`
	Reason     string          `json:"reason"`
	// Folded, for a row of rejections counted rather than stored one by
	// one, is how many it stands for.
	Folded int64 `json:"folded,omitempty"`
}

type actionJSON struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	ItemID int64     `json:"item_id,omitempty,string"`
	// DeliveryID is the replayed delivery.
	DeliveryID int64  `json:"delivery_id,omitempty,string"`
	Note       string `json:"note"`
}

func orderView(o store.OrderRecord) orderJSON {
	v := orderJSON{ID: o.ID, Platform: string(o.Platform), Source: o.Source, OrderID: o.ExternalID, BuyerEmail: o.Email,
		Status: string(o.Status), CreatedAt: o.CreatedAt.UTC(), Items: []itemJSON{}}
	for _, it := range o.Items {
		v.Items = append(v.Items, itemJSON{ID: it.ID, LineItemID: it.LineItemID, SKU: it.SKU, Email: it.Email, CourseID: it.CourseID,
			Status: string(it.Status), Attempts: it.Attempts, LastError: it.LastError, CreatedAt: it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC()})
	}
	return v
}

func detailView(d store.OrderDetail) orderJSON {
	v := orderView(d.OrderRecord)
	for i := range v.Items {
		for _, a := range d.Attempts[v.Items[i].ID] {
			v.Items[i].AttemptList = append(v.Items[i].AttemptList, attemptJSON{At: a.At.UTC(), Outcome: string(a.Outcome), HTTPStatus: a.HTTPStatus, Detail: a.Detail})
		}
	}
	for _, dl := range d.Deliveries {
		v.Deliveries = append(v.Deliveries, deliveryView(dl))
	}
	for _, a := range d.Actions {
		v.Actions = append(v.Actions, actionJSON{At: a.At.UTC(), Actor: a.Actor, Action: a.Action, ItemID: a.ItemID, DeliveryID: a.DeliveryID, Note: a.Note})
	}
	return v
}

func deliveryView(d store.DeliveryRecord) deliveryJSON {
	v := deliveryJSON{ID: d.ID, ReceivedAt: d.ReceivedAt.UTC(), Platform: string(d.Platform), Source: d.Source, Path: d.Path,
		SourceIP: d.SourceIP, BodyStored: d.HasBody, BodySize: d.BodySize, BodySHA256: d.BodySHA256, Status: d.Status, Reason: d.Reason, Folded: d.Folded}
	json.Unmarshal([]byte(d.Headers), &v.Headers) // stored by us as JSON; an odd value leaves it empty
	switch {
	case d.Body == nil:
	case json.Valid(d.Body):
		v.Body = json.RawMessage(d.Body)
	default:
		v.Body, _ = json.Marshal(string(d.Body))
	}
	return v
}
