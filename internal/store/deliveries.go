package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Delivery is one webhook request as received.
type Delivery struct {
	ReceivedAt time.Time
	Platform   enroll.Platform
	Source     string
	Path       string
	SourceIP   string
	// Headers are stored as given: the caller masks signatures.
	Headers http.Header
	// Body is stored only when KeepBody is true; its size and SHA-256 always.
	Body     []byte
	KeepBody bool
	// Unread tells that the body was not read whole (the request was
	// answered from its headers, or its body was too large): its size is
	// DeclaredSize, and no digest is stored.
	Unread bool
	// DeclaredSize is the size of a body not read whole, as far as known:
	// its Content-Length, or the limit plus one for a body sent without one
	// that went over the limit.
	DeclaredSize int64
	Status       int
	Reason       string
	// Folded, when not 0, makes this the row of that many rejected
	// requests like this one, counted rather than stored one by one.
	Folded int64
}

// EnqueueFunc enqueues the enrollment of items inside the transaction that
// creates them, so that an item exists if and only if its job does. Items
// come grouped by SKU: one group's learners can be enrolled by one call.
type EnqueueFunc func(ctx context.Context, tx *sql.Tx, groups [][]int64) error

// Accepted is what a verified, parsed webhook asks the store to keep.
type Accepted struct {
	Delivery Delivery
	Order    enroll.Order
	// AwaitingPayment records the order without items, to be enrolled when a
	// later delivery shows it paid.
	AwaitingPayment bool
}

// SaveResult tells what an accepted delivery changed.
type SaveResult struct {
	DeliveryID int64
	OrderID    int64
	NewOrder   bool
	// Enqueued lists items enqueued by this delivery: new ones and failed
	// ones given another chance.
	Enqueued []int64
	skus     []string // of the Enqueued items
}

// Duplicate reports whether the delivery changed nothing: its order was
// stored already and none of its items needed another try.
func (r SaveResult) Duplicate() bool { return !r.NewOrder && len(r.Enqueued) == 0 }

// groupBySKU groups item ids by their SKU, in order of first appearance.
func groupBySKU(ids []int64, skus []string) [][]int64 {
	var groups [][]int64
	index := map[string]int{}
	for i, id := range ids {
		g, ok := index[skus[i]]
		if !ok {
			g = len(groups)
			index[skus[i]] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], id)
	}
	return groups
}

// SaveDelivery records a delivery that created no order (a rejection, or an
// unpaid order answered 402).
func (db *DB) SaveDelivery(ctx context.Context, d Delivery) (int64, error) {
	r := &writeRequest{delivery: d}
	err := db.inTx(ctx, func(tx *sql.Tx) error { return db.saveBatch(ctx, tx, []*writeRequest{r}) })
	return r.res.DeliveryID, err
}

// SaveAccepted stores a delivery, creates its order and items when they are
// new, and enqueues what needs enrolling, all in one transaction. Items that
// are pending or done are never enqueued again; failed ones get one more
// chance. It is the group-commit writer's work for a batch of one.
func (db *DB) SaveAccepted(ctx context.Context, a Accepted, enqueue EnqueueFunc) (SaveResult, error) {
	r := &writeRequest{accepted: &a}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.saveBatch(ctx, tx, []*writeRequest{r}); err != nil {
			return err
		}
		if len(r.res.Enqueued) == 0 {
			return nil
		}
		if err := enqueue(ctx, tx, groupBySKU(r.res.Enqueued, r.res.skus)); err != nil {
			return fmt.Errorf("enqueue items of order %d: %w", a.Order.ID, err)
		}
		return nil
	})
	return r.res, err
}

// saveOrder creates the order of a delivery, or finds it, and its items.
func (db *DB) saveOrder(ctx context.Context, tx *sql.Tx, a Accepted, res *SaveResult) error {
	if err := db.upsertOrder(ctx, tx, a, res); err != nil {
		return err
	}
	if a.AwaitingPayment {
		return nil
	}
	return db.upsertItems(ctx, tx, res.OrderID, a.Order.Items, res)
}

// ReasonDuplicate is the reason stored with an accepted delivery that
// changed nothing: the dashboard counts these apart.
const ReasonDuplicate = "duplicate"

// ReasonStale is the reason stored with an accepted delivery whose snapshot
// of the order was older than the one applied: it changed nothing.
const ReasonStale = "stale"

// acceptedDelivery is the delivery of an accepted webhook as stored: with
// its body, and ReasonDuplicate when it changed nothing.
func acceptedDelivery(a Accepted, res SaveResult) Delivery {
	d := a.Delivery
	if res.Duplicate() && d.Reason == "" {
		d.Reason = ReasonDuplicate
	}
	d.KeepBody = true
	return d
}

// newOrderStatus is the status an accepted delivery's order starts with.
func newOrderStatus(a Accepted) enroll.OrderStatus {
	if a.AwaitingPayment {
		return enroll.OrderAwaitingPayment
	}
	return enroll.OrderNew
}

func (db *DB) upsertOrder(ctx context.Context, tx *sql.Tx, a Accepted, res *SaveResult) error {
	o, now := a.Order, db.now()
	err := db.txQueryRow(ctx, tx, `INSERT INTO orders (platform, source, external_id, email, status, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)
		ON CONFLICT (platform, source, external_id) DO NOTHING RETURNING id`,
		o.Platform, o.Source, o.ID, o.Email, newOrderStatus(a), now).Scan(&res.OrderID)
	if err == nil {
		res.NewOrder = true
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("insert order %d: %w", o.ID, err)
	}
	err = db.txQueryRow(ctx, tx, `SELECT id FROM orders WHERE platform = $1 AND source = $2 AND external_id = $3`,
		o.Platform, o.Source, o.ID).Scan(&res.OrderID)
	if err != nil {
		return fmt.Errorf("find order %d: %w", o.ID, err)
	}
	return nil
}

func (db *DB) upsertItems(ctx context.Context, tx *sql.Tx, orderID int64, items []enroll.Item, res *SaveResult) error {
	now := db.now()
	for _, it := range items {
		var id int64
		err := db.txQueryRow(ctx, tx, `INSERT INTO items (order_id, line_item_id, sku, email, course_id, mode, line_quantity,
			status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
			ON CONFLICT (order_id, sku, email) DO NOTHING RETURNING id`,
			orderID, it.LineItemID, it.SKU, it.Email, it.CourseID, it.Mode, lineQuantity(it), enroll.ItemPending, now).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// The course is looked up again: the operator may have fixed the SKU's redirect.
			err = db.txQueryRow(ctx, tx, `UPDATE items SET status = $1, updated_at = $2, course_id = '', tries = 0
				WHERE order_id = $3 AND sku = $4 AND email = $5 AND status = $6 RETURNING id`,
				enroll.ItemPending, now, orderID, it.SKU, it.Email, enroll.ItemFailed).Scan(&id)
		}
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue // pending or done already
		case err != nil:
			return fmt.Errorf("save item of order %d: %w", orderID, err)
		}
		res.Enqueued = append(res.Enqueued, id)
		res.skus = append(res.skus, it.SKU)
	}
	// A new order was stored as NEW, which its pending items leave it.
	if len(res.Enqueued) == 0 || res.NewOrder {
		return nil
	}
	return db.updateOrderStatus(ctx, tx, orderID, now)
}

// lineQuantity is the seats of an item's line as stored: at least 1.
func lineQuantity(it enroll.Item) int { return max(it.Quantity, 1) }

// deliveryInsert is the head of a deliveries INSERT whose rows deliveryRow makes.
const deliveryInsert = `INSERT INTO deliveries (received_at, platform, source, path, source_ip, headers,
	body, parsed, body_size, body_sha256, status, reason, order_id, folded)`

// deliveryRow is a delivery's values for deliveryInsert: the body only if
// kept, its size and SHA-256 always; orderID 0 for none.
func deliveryRow(d Delivery, parsed []byte, orderID int64) ([]any, error) {
	headers, err := json.Marshal(d.Headers)
	if err != nil {
		return nil, fmt.Errorf("encode headers: %w", err)
	}
	size, digest := int64(len(d.Body)), ""
	if d.Unread || d.DeclaredSize > size { // its size as far as known, no digest
		size = max(d.DeclaredSize, size)
	} else {
		sum := sha256.Sum256(d.Body)
		digest = hex.EncodeToString(sum[:])
	}
	var body, parsedText, order any
	if d.KeepBody {
		body = d.Body
	}
	if parsed != nil {
		parsedText = string(parsed)
	}
	if orderID != 0 {
		order = orderID
	}
	return []any{d.ReceivedAt.UTC(), d.Platform, d.Source, d.Path, d.SourceIP, string(headers),
		body, parsedText, size, digest, d.Status, d.Reason, order, d.Folded}, nil
}
