package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// What is stored about an email (a data request's answer), and the list
// of privacy requests.

// Export is everything stored about an email, as JSON with stable
// snake_case names. Ids are strings: shops' ids exceed 2^53, which
// JavaScript would round.
type Export struct {
	Email      string    `json:"email"`
	ExportedAt time.Time `json:"exported_at"`
	// Orders are those whose buyer or a learner has the email, any case.
	Orders []ExportOrder `json:"orders"`
	// OtherDeliveries hold the email but carried none of the orders (say,
	// a delivery refused as unpaid).
	OtherDeliveries []ExportDelivery `json:"other_deliveries"`
	PrivacyRequests []ExportRequest  `json:"privacy_requests"`
}

type ExportOrder struct {
	ID            int64            `json:"id,string"`
	Platform      enroll.Platform  `json:"platform"`
	Source        string           `json:"source"`
	OrderID       int64            `json:"order_id,string"`
	BuyerEmail    string           `json:"buyer_email"`
	Status        string           `json:"status"`
	ShopStatus    string           `json:"shop_status"`
	Cancelled     bool             `json:"cancelled"`
	Refunded      bool             `json:"refunded"`
	PartialRefund bool             `json:"partial_refund"`
	SnapshotAt    *time.Time       `json:"snapshot_at"`
	RedactedAt    *time.Time       `json:"redacted_at"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
	Items         []ExportItem     `json:"items"`
	Refunds       []ExportRefund   `json:"refunds"`
	Deliveries    []ExportDelivery `json:"deliveries"`
	Actions       []ExportAction   `json:"actions"`
}

type ExportItem struct {
	ID           int64           `json:"id,string"`
	LineItemID   int64           `json:"line_item_id,string"`
	SKU          string          `json:"sku"`
	Email        string          `json:"email"`
	CourseID     string          `json:"course_id"`
	Mode         string          `json:"mode"`
	Want         string          `json:"want"`
	LineQuantity int             `json:"line_quantity"`
	Refunded     bool            `json:"refunded"`
	Status       string          `json:"status"`
	Attempts     int             `json:"attempts"`
	LastError    string          `json:"last_error"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
	AttemptList  []ExportAttempt `json:"attempt_list"`
}

type ExportAttempt struct {
	At         time.Time `json:"at"`
	Outcome    string    `json:"outcome"`
	HTTPStatus int       `json:"http_status"`
	Detail     string    `json:"detail"`
}

type ExportRefund struct {
	RefundID   int64     `json:"refund_id,string"`
	LineItemID int64     `json:"line_item_id,string"`
	Quantity   int       `json:"quantity"`
	At         time.Time `json:"at"`
}

type ExportDelivery struct {
	ID         int64           `json:"id,string"`
	ReceivedAt time.Time       `json:"received_at"`
	Platform   enroll.Platform `json:"platform"`
	Source     string          `json:"source"`
	Path       string          `json:"path"`
	Headers    json.RawMessage `json:"headers"`
	// Body is the JSON body itself, a string when it is not JSON, or null
	// when it was not stored (or was purged).
	Body       json.RawMessage `json:"body"`
	BodySHA256 string          `json:"body_sha256"`
	Status     int             `json:"status"`
	Reason     string          `json:"reason"`
}

type ExportAction struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	ItemID int64     `json:"item_id,omitempty,string"`
	Note   string    `json:"note"`
}

type ExportRequest struct {
	ID         int64      `json:"id,string"`
	ReceivedAt time.Time  `json:"received_at"`
	Platform   string     `json:"platform"`
	Source     string     `json:"source"`
	Topic      string     `json:"topic"`
	Email      string     `json:"email"`
	CustomerID int64      `json:"customer_id,string"`
	OrderIDs   []string   `json:"order_ids"`
	DoneAt     *time.Time `json:"done_at"`
	Note       string     `json:"note"`
}

// Export returns everything stored about an email, any case, as it was at
// one moment: the orders whose buyer or a learner has it, with their
// items, attempts, refunds, deliveries (with their bodies) and operators'
// actions; the other deliveries whose body holds it; and the privacy
// requests about it.
func (db *DB) Export(ctx context.Context, email string) (Export, error) {
	email = strings.TrimSpace(email)
	x := Export{Email: email, ExportedAt: db.now(), Orders: []ExportOrder{}, OtherDeliveries: []ExportDelivery{}, PrivacyRequests: []ExportRequest{}}
	if email == "" {
		return x, fmt.Errorf("export: no email")
	}
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		orders, err := queryRows(ctx, tx, (*ExportOrder).fields, `SELECT id, platform, source, external_id, email, status,
			shop_status, cancelled, refunded, partial_refund, snapshot_at, redacted_at, created_at, updated_at
			FROM orders WHERE lower(email) = lower($1) OR id IN (SELECT order_id FROM items WHERE lower(email) = lower($1))
			ORDER BY id`, email)
		if err != nil {
			return fmt.Errorf("find orders: %w", err)
		}
		carried := map[int64]bool{}
		for i := range orders {
			if err := db.exportOrder(ctx, tx, &orders[i]); err != nil {
				return err
			}
			for _, d := range orders[i].Deliveries {
				carried[d.ID] = true
			}
		}
		x.Orders = append(x.Orders, orders...)
		found, err := db.deliveriesHolding(ctx, tx, "", "", email, 0)
		if err != nil {
			return err
		}
		others := slices.DeleteFunc(found.ids, func(id int64) bool { return carried[id] })
		for chunk := range slices.Chunk(others, redactChunk) {
			var p params
			ds, err := queryDeliveries(ctx, tx, true, `WHERE id IN (`+p.list(chunk)+`) ORDER BY id`, p.args...)
			if err != nil {
				return fmt.Errorf("load deliveries: %w", err)
			}
			for _, d := range ds {
				x.OtherDeliveries = append(x.OtherDeliveries, exportDelivery(d))
			}
		}
		requests, err := queryRows(ctx, tx, (*PrivacyRequest).fields,
			`SELECT `+privacyColumns+` FROM privacy_requests WHERE lower(email) = lower($1) ORDER BY id`, email)
		if err != nil {
			return fmt.Errorf("load privacy requests: %w", err)
		}
		for _, r := range requests {
			x.PrivacyRequests = append(x.PrivacyRequests, ExportRequestOf(r))
		}
		return nil
	})
	if err != nil {
		return Export{}, fmt.Errorf("export: %w", err)
	}
	return x, nil
}

func (o *ExportOrder) fields() []any {
	return []any{&o.ID, &o.Platform, &o.Source, &o.OrderID, &o.BuyerEmail, &o.Status, &o.ShopStatus, &o.Cancelled,
		&o.Refunded, &o.PartialRefund, timePtr{&o.SnapshotAt}, timePtr{&o.RedactedAt}, &o.CreatedAt, &o.UpdatedAt}
}

// exportOrder loads what belongs to an order of an export.
func (db *DB) exportOrder(ctx context.Context, tx *sql.Tx, o *ExportOrder) error {
	var err error
	o.Items, err = queryRows(ctx, tx, func(it *ExportItem) []any {
		return []any{&it.ID, &it.LineItemID, &it.SKU, &it.Email, &it.CourseID, &it.Mode, &it.Want, &it.LineQuantity,
			&it.Refunded, &it.Status, &it.Attempts, &it.LastError, &it.CreatedAt, &it.UpdatedAt}
	}, `SELECT id, line_item_id, sku, email, course_id, mode, want, line_quantity, refunded, status, attempts, last_error,
		created_at, updated_at FROM items WHERE order_id = $1 ORDER BY id`, o.ID)
	if err != nil {
		return fmt.Errorf("load items of order %d: %w", o.ID, err)
	}
	attempts, err := orderAttempts(ctx, tx, o.ID)
	if err != nil {
		return err
	}
	for i := range o.Items {
		o.Items[i].AttemptList = []ExportAttempt{}
		for _, a := range attempts[o.Items[i].ID] {
			o.Items[i].AttemptList = append(o.Items[i].AttemptList, ExportAttempt{At: a.At.UTC(), Outcome: string(a.Outcome),
				HTTPStatus: a.HTTPStatus, Detail: a.Detail})
		}
	}
	if o.Items == nil {
		o.Items = []ExportItem{}
	}
	o.Refunds, err = queryRows(ctx, tx, func(r *ExportRefund) []any { return []any{&r.RefundID, &r.LineItemID, &r.Quantity, &r.At} },
		`SELECT external_id, line_item_id, quantity, at FROM refunds WHERE order_id = $1 ORDER BY id`, o.ID)
	if err != nil {
		return fmt.Errorf("load refunds of order %d: %w", o.ID, err)
	}
	if o.Refunds == nil {
		o.Refunds = []ExportRefund{}
	}
	ds, err := queryDeliveries(ctx, tx, true, orderDeliveries, o.ID)
	if err != nil {
		return fmt.Errorf("load deliveries of order %d: %w", o.ID, err)
	}
	o.Deliveries = []ExportDelivery{}
	for _, d := range ds {
		o.Deliveries = append(o.Deliveries, exportDelivery(d))
	}
	actions, err := orderActions(ctx, tx, o.ID)
	if err != nil {
		return err
	}
	o.Actions = []ExportAction{}
	for _, a := range actions {
		o.Actions = append(o.Actions, ExportAction{At: a.At.UTC(), Actor: a.Actor, Action: a.Action, ItemID: a.ItemID, Note: a.Note})
	}
	return nil
}

func exportDelivery(d DeliveryRecord) ExportDelivery {
	x := ExportDelivery{ID: d.ID, ReceivedAt: d.ReceivedAt.UTC(), Platform: d.Platform, Source: d.Source, Path: d.Path,
		Headers: json.RawMessage(d.Headers), BodySHA256: d.BodySHA256, Status: d.Status, Reason: d.Reason}
	if !json.Valid(x.Headers) {
		x.Headers, _ = json.Marshal(d.Headers)
	}
	switch {
	case d.Body == nil:
	case json.Valid(d.Body):
		x.Body = json.RawMessage(d.Body)
	default:
		x.Body, _ = json.Marshal(string(d.Body))
	}
	return x
}

// ExportRequestOf is a privacy request as an export, and privacy requests --json, write it.
func ExportRequestOf(r PrivacyRequest) ExportRequest {
	x := ExportRequest{ID: r.ID, ReceivedAt: r.ReceivedAt.UTC(), Platform: string(r.Platform), Source: r.Source, Topic: r.Topic,
		Email: r.Email, CustomerID: r.CustomerID, OrderIDs: []string{}, Note: r.Note}
	for _, id := range r.OrderIDs {
		x.OrderIDs = append(x.OrderIDs, strconv.FormatInt(id, 10))
	}
	if !r.DoneAt.IsZero() {
		t := r.DoneAt.UTC()
		x.DoneAt = &t
	}
	return x
}

// timePtr scans a nullable time into a *time.Time, NULL as nil.
type timePtr struct{ t **time.Time }

func (n timePtr) Scan(v any) error {
	var x sql.NullTime
	if err := x.Scan(v); err != nil {
		return err
	}
	*n.t = nil
	if x.Valid {
		t := x.Time.UTC()
		*n.t = &t
	}
	return nil
}

// privacyColumns are the columns PrivacyRequest.fields scans.
const privacyColumns = `id, received_at, platform, source, topic, email, customer_id, order_ids, delivery_id, done_at, note`

func (r *PrivacyRequest) fields() []any {
	return []any{&r.ID, &r.ReceivedAt, &r.Platform, &r.Source, &r.Topic, &r.Email, &r.CustomerID, idList{&r.OrderIDs},
		nullID{&r.DeliveryID}, nullTime{&r.DoneAt}, &r.Note}
}

// idList scans a stored list of ids (joinIDs).
type idList struct{ ids *[]int64 }

func (l idList) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	*l.ids = splitIDs(s.String)
	return nil
}

// PrivacyFilter selects privacy requests.
type PrivacyFilter struct {
	// Pending keeps the data requests not answered yet.
	Pending bool
	// Before is the keyset cursor, as in OrderFilter.
	Before int64
	// Limit is the page size: default 50, at most 500.
	Limit int
}

// ListPrivacyRequests returns a page of privacy requests, newest first,
// and the next page's cursor or 0.
func (db *DB) ListPrivacyRequests(ctx context.Context, f PrivacyFilter) ([]PrivacyRequest, int64, error) {
	limit := pageSize(f.Limit)
	var p params
	var conds []string
	if f.Pending {
		conds = append(conds, "topic = "+p.add(TopicDataRequest), "done_at IS NULL")
	}
	if f.Before > 0 {
		conds = append(conds, "id < "+p.add(f.Before))
	}
	rs, err := queryRows(ctx, db.sql, (*PrivacyRequest).fields, `SELECT `+privacyColumns+` FROM privacy_requests`+
		where(conds)+` ORDER BY id DESC LIMIT `+p.add(limit+1), p.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list privacy requests: %w", err)
	}
	var next int64
	if len(rs) > limit {
		rs, next = rs[:limit], rs[limit-1].ID
	}
	return rs, next, nil
}

// PrivacyRequest loads one privacy request.
func (db *DB) PrivacyRequest(ctx context.Context, id int64) (PrivacyRequest, error) {
	rs, err := queryRows(ctx, db.sql, (*PrivacyRequest).fields, `SELECT `+privacyColumns+` FROM privacy_requests WHERE id = $1`, id)
	if err != nil {
		return PrivacyRequest{}, fmt.Errorf("load privacy request %d: %w", id, err)
	}
	if len(rs) == 0 {
		return PrivacyRequest{}, fmt.Errorf("privacy request %d: %w", id, enroll.ErrNotFound)
	}
	return rs[0], nil
}

// AnswerDataRequest marks a data request answered, with an operator's
// action recorded on it; a request answered already, or not a data
// request, is refused with enroll.ErrConflict.
func (db *DB) AnswerDataRequest(ctx context.Context, id int64, actor, note string) error {
	now := db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		n, err := execCount(ctx, tx, `UPDATE privacy_requests SET done_at = $1,
			note = CASE WHEN note = '' THEN $2 ELSE note || '; ' || $2 END
			WHERE id = $3 AND topic = $4 AND done_at IS NULL`, now, "answered by "+actor, id, TopicDataRequest)
		if err != nil {
			return fmt.Errorf("answer privacy request %d: %w", id, err)
		}
		if n == 0 {
			r, err := db.privacyRequestTx(ctx, tx, id)
			if err != nil {
				return err
			}
			if r.Topic != TopicDataRequest {
				return fmt.Errorf("privacy request %d is a %s, not a data request: %w", id, r.Topic, enroll.ErrConflict)
			}
			return fmt.Errorf("privacy request %d was answered already: %w", id, enroll.ErrConflict)
		}
		return recordAction(ctx, tx, ActionRecord{At: now, Actor: actor, Action: ActionAnswer,
			Note: fmt.Sprintf("privacy request %d answered: %s", id, note)})
	})
}

func (db *DB) privacyRequestTx(ctx context.Context, tx *sql.Tx, id int64) (PrivacyRequest, error) {
	rs, err := queryRows(ctx, tx, (*PrivacyRequest).fields, `SELECT `+privacyColumns+` FROM privacy_requests WHERE id = $1`, id)
	if err != nil {
		return PrivacyRequest{}, fmt.Errorf("load privacy request %d: %w", id, err)
	}
	if len(rs) == 0 {
		return PrivacyRequest{}, fmt.Errorf("privacy request %d: %w", id, enroll.ErrNotFound)
	}
	return rs[0], nil
}

// PendingDataRequests counts the data requests not answered yet.
func (db *DB) PendingDataRequests(ctx context.Context) (int, error) {
	var n int
	if err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM privacy_requests WHERE topic = $1 AND done_at IS NULL`,
		TopicDataRequest).Scan(&n); err != nil {
		return 0, fmt.Errorf("count data requests: %w", err)
	}
	return n, nil
}
