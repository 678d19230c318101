package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// JSON views: stable snake_case names for scripts. Ids are written as
// strings: shops' ids exceed 2^53, which jq and JavaScript would round.

type orderJSON struct {
	ID         int64     `json:"id,string"`
	Platform   string    `json:"platform"`
	Source     string    `json:"source"`
	OrderID    int64     `json:"order_id,string"`
	BuyerEmail string    `json:"buyer_email"`
	Status     string    `json:"status"`
	CreatedAt  time.Time `json:"created_at"`
	// The newest snapshot of the order applied: the shop's own status,
	// and when (null before the first).
	ShopStatus    string     `json:"shop_status"`
	Cancelled     bool       `json:"cancelled"`
	Refunded      bool       `json:"refunded"`
	PartialRefund bool       `json:"partial_refund"`
	SnapshotAt    *time.Time `json:"snapshot_at"`
	// RedactedAt is when a privacy redaction erased the order's personal
	// data; null if never.
	RedactedAt *time.Time `json:"redacted_at"`
	Items      []itemJSON `json:"items"`
	// What orders show adds: deliveries that changed nothing (older than the
	// snapshot applied, or repeats), and the shop's refunds.
	StaleSnapshots *int           `json:"stale_snapshots,omitzero"`
	Duplicates     *int           `json:"duplicates,omitzero"`
	Refunds        []refundJSON   `json:"refunds,omitzero"`
	Deliveries     []deliveryJSON `json:"deliveries,omitempty"`
	Actions        []actionJSON   `json:"actions,omitempty"`
}

type itemJSON struct {
	ID         int64  `json:"id,string"`
	LineItemID int64  `json:"line_item_id,string"`
	SKU        string `json:"sku"`
	Email      string `json:"email"`
	CourseID   string `json:"course_id"`
	Status     string `json:"status"`
	// Want is the desired state (enrolled or unenrolled) the item's jobs
	// drive the LMS towards; Status is where it is.
	Want string `json:"want"`
	// Mode is the enrollment mode bought, "" for the course's default.
	Mode     string `json:"mode"`
	Refunded bool   `json:"refunded"`
	// LineQuantity is the seats bought on the item's line; Seats tells how
	// many of them are assigned to learners (one item each).
	LineQuantity int           `json:"line_quantity"`
	Seats        enroll.Seats  `json:"seats"`
	Attempts     int           `json:"attempts"`
	LastError    string        `json:"last_error"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	AttemptList  []attemptJSON `json:"attempt_list,omitempty"`
}

type refundJSON struct {
	RefundID   int64     `json:"refund_id,string"`
	LineItemID int64     `json:"line_item_id,string"`
	Quantity   int       `json:"quantity"`
	At         time.Time `json:"at"`
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
		Status: string(o.Status), CreatedAt: o.CreatedAt.UTC(), ShopStatus: o.Snapshot.ShopStatus, Cancelled: o.Snapshot.Cancelled,
		Refunded: o.Snapshot.Refunded, PartialRefund: o.Snapshot.PartialRefund, SnapshotAt: nullTime(o.Snapshot.At),
		RedactedAt: nullTime(o.RedactedAt), Items: []itemJSON{}}
	seats := o.SeatsByItem()
	for _, it := range o.Items {
		v.Items = append(v.Items, itemJSON{ID: it.ID, LineItemID: it.LineItemID, SKU: it.SKU, Email: it.Email, CourseID: it.CourseID,
			Status: string(it.Status), Want: string(it.Want), Mode: it.Mode, Refunded: it.Refunded, LineQuantity: it.LineQuantity,
			Seats: seats[it.ID], Attempts: it.Attempts, LastError: it.LastError, CreatedAt: it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC()})
	}
	return v
}

// nullTime is a time for JSON: null when zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func detailView(d store.OrderDetail) orderJSON {
	v := orderView(d.OrderRecord)
	for i := range v.Items {
		for _, a := range d.Attempts[v.Items[i].ID] {
			v.Items[i].AttemptList = append(v.Items[i].AttemptList, attemptJSON{At: a.At.UTC(), Outcome: string(a.Outcome), HTTPStatus: a.HTTPStatus, Detail: a.Detail})
		}
	}
	stale, duplicates := d.StaleSnapshots(), d.Duplicates()
	v.StaleSnapshots, v.Duplicates, v.Refunds = &stale, &duplicates, []refundJSON{}
	for _, r := range d.Refunds {
		v.Refunds = append(v.Refunds, refundJSON{RefundID: r.RefundID, LineItemID: r.LineItemID, Quantity: r.Quantity, At: r.At.UTC()})
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

// printPage prints one page of a list: one JSON object (view) per row and
// line, or a table; then, on stderr, how to ask for the next page.
// pageFlags are a list command's --limit, --before and --json.
type pageFlags struct {
	limit  int
	before int64
	asJSON bool
}

// register adds the flags; noun names the rows, jsonHelp says what --json prints.
func (p *pageFlags) register(fs *flag.FlagSet, noun, jsonHelp string) {
	fs.IntVar(&p.limit, "limit", 50, noun+" per page, at most 500")
	fs.Int64Var(&p.before, "before", 0, "page cursor: "+noun+" older than this id (printed after a full page)")
	fs.BoolVar(&p.asJSON, "json", false, jsonHelp)
}

func printPage[T, V any](env *environment, noun string, rows []T, next int64, asJSON bool, view func(T) V, table func(io.Writer, []T)) error {
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		for _, r := range rows {
			if err := enc.Encode(view(r)); err != nil {
				return err
			}
		}
	} else {
		table(plain(env.stdout), rows)
	}
	if next != 0 {
		fmt.Fprintf(env.stderr, "more %s: add --before %d\n", noun, next)
	}
	return nil
}
