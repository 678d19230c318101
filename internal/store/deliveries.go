package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
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

// Accepted is what a verified, parsed webhook asks the store to keep: a
// snapshot of an order (its state as the payload shows it), or, with
// Refund set, a refund of it. The rules that apply them are in
// lifecycle.go.
type Accepted struct {
	Delivery Delivery
	// Order is the snapshot; for a refund it names the order only
	// (Platform, Source and ID).
	Order enroll.Order
	// AwaitingPayment records the order without creating its items, to be
	// enrolled when a later delivery shows it paid.
	AwaitingPayment bool
	// Keys identify the delivery, per shop (Shopify's webhook and event
	// ids, WooCommerce's order id, status and modification time): a
	// delivery one of whose keys was accepted before is a duplicate, and
	// changes nothing.
	Keys []string
	// Refund makes the delivery a refund of the order rather than a snapshot.
	Refund *enroll.Refund
	// UnenrollOnRefund is the shop's setting: refunded or cancelled
	// learners are unenrolled (enroll.Desired).
	UnenrollOnRefund bool
}

// SaveResult tells what an accepted delivery changed.
type SaveResult struct {
	DeliveryID int64
	OrderID    int64
	NewOrder   bool
	// Enqueued lists items enqueued by this delivery: new ones, those whose
	// desired state changed, and failed ones given another chance.
	Enqueued []int64
	// Redelivered tells that one of the delivery's keys was accepted
	// before: the delivery changed nothing, and its body was not kept.
	Redelivered bool
	// Stale tells that the delivery's snapshot is older than the one
	// applied to its order: it changed nothing.
	Stale bool
	// Redacted tells that the delivery's order was redacted (a privacy
	// request): a snapshot of it changes nothing, and its body, which
	// holds the personal data erased, is not kept.
	Redacted bool
	// changed tells that the delivery changed the order: its facts, its
	// items or their desired states, its refunds.
	changed bool
	skus    []string // of the Enqueued items
}

// Duplicate reports whether the delivery changed nothing, being a
// redelivery (of the same key, or of a snapshot already applied) rather
// than a stale one.
func (r SaveResult) Duplicate() bool {
	return r.Redelivered || !r.Stale && !r.Redacted && !r.NewOrder && !r.changed && len(r.Enqueued) == 0
}

// Reason is the reason stored with the delivery: ReasonStale,
// ReasonRedacted, ReasonDuplicate, or "" when it changed the order.
func (r SaveResult) Reason() string {
	switch {
	case r.Stale:
		return ReasonStale
	case r.Redacted:
		return ReasonRedacted
	case r.Duplicate():
		return ReasonDuplicate
	}
	return ""
}

// groupBySKU groups item ids by their SKU, in order of first appearance;
// an item two deliveries of a batch enqueued is enqueued once.
func groupBySKU(ids []int64, skus []string) [][]int64 {
	var groups [][]int64
	index := map[string]int{}
	seen := make(map[int64]bool, len(ids))
	for i, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
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

// SaveAccepted stores a delivery and applies it to its order (see
// lifecycle.go): creates the order and items when they are new, sets the
// items' desired states, and enqueues what needs an attempt, all in one
// transaction. It is the group-commit writer's work for a batch of one.
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

// Reasons stored with accepted deliveries that changed nothing: the
// dashboard counts them apart.
const (
	// ReasonDuplicate: a redelivery, by one of its keys or by a snapshot
	// already applied.
	ReasonDuplicate = "duplicate"
	// ReasonStale: a snapshot older than the one applied to its order.
	ReasonStale = "stale"
	// ReasonRedacted: a snapshot of an order whose personal data a privacy
	// request erased; neither it nor its body is kept.
	ReasonRedacted = "redacted"
)

// acceptedDelivery is the delivery of an accepted webhook as stored: with
// its body, unless a delivery of one of its keys has it already, and the
// reason when it changed nothing.
func acceptedDelivery(a Accepted, res SaveResult) Delivery {
	d := a.Delivery
	if d.Reason == "" {
		d.Reason = res.Reason()
	}
	d.KeepBody = !res.Redelivered && !res.Redacted
	return d
}

// lineQuantity is the seats of an item's line as stored: at least 1.
func lineQuantity(it enroll.Item) int { return max(it.Quantity, 1) }

// deliveryInsert is the head of a deliveries INSERT whose rows deliveryRow makes.
const deliveryInsert = `INSERT INTO deliveries (received_at, platform, source, path, source_ip, headers,
	body, parsed, body_size, body_sha256, status, reason, order_id, folded)`

// deliveryRow is a delivery's values for deliveryInsert: the body only if
// kept, its size and SHA-256 always; orderID 0 for none.
func deliveryRow(d Delivery, parsed []byte, orderID int64) ([]any, error) {
	f, err := fieldsOf(d)
	if err != nil {
		return nil, err
	}
	return f.row(d, parsed, orderID), nil
}

// deliveryFields are the values of a delivery's row that take work to
// make: the group-commit writer's callers make them before queueing their
// deliveries, in parallel, rather than its one goroutine.
type deliveryFields struct {
	headers string
	size    int64
	digest  string
}

func fieldsOf(d Delivery) (deliveryFields, error) {
	headers, err := json.Marshal(d.Headers)
	if err != nil {
		return deliveryFields{}, fmt.Errorf("encode headers: %w", err)
	}
	f := deliveryFields{headers: string(headers), size: int64(len(d.Body))}
	if d.Unread || d.DeclaredSize > f.size { // its size as far as known, no digest
		f.size = max(d.DeclaredSize, f.size)
	} else {
		sum := sha256.Sum256(d.Body)
		f.digest = hex.EncodeToString(sum[:])
	}
	return f, nil
}

func (f deliveryFields) row(d Delivery, parsed []byte, orderID int64) []any {
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
	return []any{d.ReceivedAt.UTC(), d.Platform, d.Source, d.Path, d.SourceIP, f.headers,
		body, parsedText, f.size, f.digest, d.Status, d.Reason, order, d.Folded}
}
