package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// The operator console's and the ops commands' queries: finding orders and
// learners, what happened to them, operator actions and console sessions.
// List pages are paged by keyset (id < cursor), never by offset.

// Page sizes of the list queries.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// ErrConflict is returned for an action the item's state does not allow
// now, such as resolving an enrolled item or one a job is enrolling.
var ErrConflict = errors.New("not possible in the item's current state")

// OrderFilter selects orders; zero fields do not filter.
type OrderFilter struct {
	// Query is a shop order id (digits), a learner email (has '@',
	// case-insensitive), or a course id or SKU (anything else: matches
	// items.course_id or items.sku).
	Query string
	// Status is an item status (pending, retrying, enrolled, allowed, failed,
	// resolved): orders with at least one item in it; or an order status in
	// upper case (AWAITING_PAYMENT, NEW, PROCESSING, PROCESSED, ERROR).
	Status   string
	Platform enroll.Platform
	// Source is the shop domain or site URL, exact.
	Source string
	// Email is a learner email, case-insensitive.
	Email string
	// Course is a course id or SKU.
	Course string
	// Since and Until bound orders.created_at: Since <= created_at < Until.
	Since, Until time.Time
	// Before is the keyset cursor: only orders with an internal id below it;
	// 0 starts at the newest.
	Before int64
	// Limit is the page size: default 50, at most 500.
	Limit int
}

// Conditions on one item (email, course, item status) must hold for the
// same item: "failed for course X" means an item of course X that failed.

// params collects a query's arguments and names their placeholders.
type params struct{ args []any }

func (p *params) add(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(len(p.args))
}

// list adds ids and returns their placeholders, for IN (...).
func (p *params) list(ids []int64) string {
	marks := make([]string, len(ids))
	for i, id := range ids {
		marks[i] = p.add(id)
	}
	return strings.Join(marks, ", ")
}

func isItemStatus(s string) bool {
	switch enroll.ItemStatus(s) {
	case enroll.ItemPending, enroll.ItemRetrying, enroll.ItemEnrolled, enroll.ItemAllowed, enroll.ItemFailed, enroll.ItemResolved:
		return true
	}
	return false
}

func isOrderStatus(s string) bool {
	switch enroll.OrderStatus(s) {
	case enroll.OrderAwaitingPayment, enroll.OrderNew, enroll.OrderProcessing, enroll.OrderProcessed, enroll.OrderError:
		return true
	}
	return false
}

// conditions translates the filter into conditions on orders (alias o) and
// on one item (columns prefixed with item, e.g. "i." or "").
func (f OrderFilter) conditions(p *params, item string) (orderConds, itemConds []string, err error) {
	if q := strings.TrimSpace(f.Query); q != "" {
		if n, err := strconv.ParseInt(q, 10, 64); err == nil {
			orderConds = append(orderConds, "o.external_id = "+p.add(n))
		} else if strings.Contains(q, "@") {
			itemConds = append(itemConds, "lower("+item+"email) = lower("+p.add(q)+")")
		} else {
			x := p.add(q)
			itemConds = append(itemConds, "("+item+"course_id = "+x+" OR "+item+"sku = "+x+")")
		}
	}
	switch s := strings.TrimSpace(f.Status); {
	case s == "":
	case isItemStatus(s):
		itemConds = append(itemConds, item+"status = "+p.add(s))
	case isOrderStatus(s):
		orderConds = append(orderConds, "o.status = "+p.add(s))
	default:
		return nil, nil, fmt.Errorf("unknown status %q: use pending, retrying, enrolled, allowed, failed or resolved (items), or AWAITING_PAYMENT, NEW, PROCESSING, PROCESSED or ERROR (orders)", s)
	}
	// Most deployments have one or two shops: reading orders newest first
	// and skipping other shops' beats sorting all of a shop's orders, so the
	// shop key's index is kept out of it (|| '' hides it from SQLite).
	if f.Platform != "" {
		orderConds = append(orderConds, "o.platform || '' = "+p.add(f.Platform))
	}
	if f.Source != "" {
		orderConds = append(orderConds, "o.source || '' = "+p.add(f.Source))
	}
	if e := strings.TrimSpace(f.Email); e != "" {
		itemConds = append(itemConds, "lower("+item+"email) = lower("+p.add(e)+")")
	}
	if c := strings.TrimSpace(f.Course); c != "" {
		x := p.add(c)
		itemConds = append(itemConds, "("+item+"course_id = "+x+" OR "+item+"sku = "+x+")")
	}
	if !f.Since.IsZero() {
		orderConds = append(orderConds, "o.created_at >= "+p.add(f.Since.UTC()))
	}
	if !f.Until.IsZero() {
		orderConds = append(orderConds, "o.created_at < "+p.add(f.Until.UTC()))
	}
	return orderConds, itemConds, nil
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func pageSize(limit int) int {
	if limit <= 0 {
		return defaultPageSize
	}
	return min(limit, maxPageSize)
}

const orderColumns = `o.id, o.platform, o.source, o.external_id, o.email, o.status, o.created_at`

func (o *OrderRecord) fields() []any {
	return []any{&o.ID, &o.Platform, &o.Source, &o.ExternalID, &o.Email, &o.Status, &o.CreatedAt}
}

// ListOrders returns a page of the orders f selects, newest first, with
// their items, and the cursor of the next page (f.Before for it), 0 when
// this page is the last.
func (db *DB) ListOrders(ctx context.Context, f OrderFilter) (orders []OrderRecord, next int64, err error) {
	limit := pageSize(f.Limit)
	query, args, err := listOrdersQuery(f, limit+1)
	if err != nil {
		return nil, 0, err
	}
	err = db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		if orders, err = queryOrders(ctx, tx, query, args...); err != nil {
			return fmt.Errorf("list orders: %w", err)
		}
		if len(orders) > limit {
			orders, next = orders[:limit], orders[limit-1].ID
		}
		return fillItems(ctx, tx, orders)
	})
	if err != nil {
		return nil, 0, err
	}
	return orders, next, nil
}

// listOrdersQuery builds ListOrders' query: the orders of an item condition
// are found through the items' indexes, then read by primary key.
func listOrdersQuery(f OrderFilter, limit int) (string, []any, error) {
	var p params
	conds, itemConds, err := f.conditions(&p, "")
	if err != nil {
		return "", nil, err
	}
	if len(itemConds) > 0 {
		conds = append(conds, "o.id IN (SELECT order_id FROM items"+where(itemConds)+")")
	}
	if f.Before > 0 {
		conds = append(conds, "o.id < "+p.add(f.Before))
	}
	return `SELECT ` + orderColumns + ` FROM orders o` + where(conds) + ` ORDER BY o.id DESC LIMIT ` + p.add(limit), p.args, nil
}

// failedItemsQuery builds FailedItemIDs' query.
func failedItemsQuery(f OrderFilter, max int) (string, []any, error) {
	var p params
	conds, itemConds, err := f.conditions(&p, "i.")
	if err != nil {
		return "", nil, err
	}
	conds = append(append(conds, itemConds...), "i.status = "+p.add(enroll.ItemFailed))
	return `SELECT i.id FROM items i JOIN orders o ON o.id = i.order_id` + where(conds) + ` ORDER BY i.id LIMIT ` + p.add(max), p.args, nil
}

// OrdersByExternalID returns every shop's order with that shop order id
// (usually one), with their items.
func (db *DB) OrdersByExternalID(ctx context.Context, externalID int64) ([]OrderRecord, error) {
	var orders []OrderRecord
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		orders, err = queryOrders(ctx, tx, `SELECT `+orderColumns+` FROM orders o WHERE o.external_id = $1 ORDER BY o.id`, externalID)
		if err != nil {
			return fmt.Errorf("find orders %d: %w", externalID, err)
		}
		return fillItems(ctx, tx, orders)
	})
	return orders, err
}

func queryOrders(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]OrderRecord, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var orders []OrderRecord
	for rows.Next() {
		var o OrderRecord
		if err := rows.Scan(o.fields()...); err != nil {
			return nil, err
		}
		orders = append(orders, o)
	}
	return orders, rows.Err()
}

// fillItems loads the items of the orders with one query.
func fillItems(ctx context.Context, tx *sql.Tx, orders []OrderRecord) error {
	if len(orders) == 0 {
		return nil
	}
	ids := make([]int64, len(orders))
	index := make(map[int64]int, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
		index[o.ID] = i
	}
	var p params
	rows, err := tx.QueryContext(ctx, `SELECT order_id, `+itemColumns+` FROM items
		WHERE order_id IN (`+p.list(ids)+`) ORDER BY order_id, id`, p.args...)
	if err != nil {
		return fmt.Errorf("load items of %d orders: %w", len(orders), err)
	}
	defer rows.Close()
	for rows.Next() {
		var orderID int64
		var it ItemRecord
		if err := rows.Scan(append([]any{&orderID}, it.fields()...)...); err != nil {
			return fmt.Errorf("load items of %d orders: %w", len(orders), err)
		}
		o := &orders[index[orderID]]
		o.Items = append(o.Items, it)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load items of %d orders: %w", len(orders), err)
	}
	return nil
}

// OrderDetail is an order with everything that happened to it.
type OrderDetail struct {
	OrderRecord
	// Attempts are by item id, oldest first.
	Attempts map[int64][]AttemptRecord
	// Deliveries are those that carried this order, oldest first, with their bodies.
	Deliveries []DeliveryRecord
	// Actions are what operators did to the order, oldest first.
	Actions []ActionRecord
}

// AttemptRecord is one stored attempt at enrolling an item.
type AttemptRecord struct {
	ID, ItemID int64
	At         time.Time
	Outcome    string
	HTTPStatus int
	Detail     string
}

// ActionRecord is one operator action. Zero ids are stored as NULL.
type ActionRecord struct {
	ID                          int64
	At                          time.Time
	Actor, Action               string
	OrderID, ItemID, DeliveryID int64
	Note                        string
}

// Actions operators take.
const (
	ActionRetry   = "retry"
	ActionResolve = "resolve"
	ActionReplay  = "replay"
)

// OrderDetail loads an order by its internal id with its items, attempts,
// deliveries and actions, as they were at one moment.
func (db *DB) OrderDetail(ctx context.Context, id int64) (OrderDetail, error) {
	var d OrderDetail
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		orders, err := queryOrders(ctx, tx, `SELECT `+orderColumns+` FROM orders o WHERE o.id = $1`, id)
		if err != nil {
			return fmt.Errorf("load order %d: %w", id, err)
		}
		if len(orders) == 0 {
			return fmt.Errorf("order %d: %w", id, enroll.ErrNotFound)
		}
		if err := fillItems(ctx, tx, orders); err != nil {
			return err
		}
		d.OrderRecord = orders[0]
		if d.Attempts, err = orderAttempts(ctx, tx, id); err != nil {
			return err
		}
		if d.Deliveries, err = queryDeliveries(ctx, tx, true, `WHERE order_id = $1 ORDER BY id`, id); err != nil {
			return fmt.Errorf("load deliveries of order %d: %w", id, err)
		}
		if d.Actions, err = orderActions(ctx, tx, id); err != nil {
			return err
		}
		return nil
	})
	return d, err
}

const attemptColumns = `id, item_id, at, outcome, http_status, detail`

func (a *AttemptRecord) fields() []any {
	return []any{&a.ID, &a.ItemID, &a.At, &a.Outcome, &a.HTTPStatus, &a.Detail}
}

func orderAttempts(ctx context.Context, tx *sql.Tx, orderID int64) (map[int64][]AttemptRecord, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+attemptColumns+` FROM attempts
		WHERE item_id IN (SELECT id FROM items WHERE order_id = $1) ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("load attempts of order %d: %w", orderID, err)
	}
	defer rows.Close()
	attempts := map[int64][]AttemptRecord{}
	for rows.Next() {
		var a AttemptRecord
		if err := rows.Scan(a.fields()...); err != nil {
			return nil, fmt.Errorf("load attempts of order %d: %w", orderID, err)
		}
		attempts[a.ItemID] = append(attempts[a.ItemID], a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load attempts of order %d: %w", orderID, err)
	}
	return attempts, nil
}

func orderActions(ctx context.Context, tx *sql.Tx, orderID int64) ([]ActionRecord, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, at, actor, action, order_id, item_id, delivery_id, note
		FROM actions WHERE order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("load actions of order %d: %w", orderID, err)
	}
	defer rows.Close()
	var as []ActionRecord
	for rows.Next() {
		var a ActionRecord
		var order, item, delivery sql.NullInt64
		if err := rows.Scan(&a.ID, &a.At, &a.Actor, &a.Action, &order, &item, &delivery, &a.Note); err != nil {
			return nil, fmt.Errorf("load actions of order %d: %w", orderID, err)
		}
		a.OrderID, a.ItemID, a.DeliveryID = order.Int64, item.Int64, delivery.Int64
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load actions of order %d: %w", orderID, err)
	}
	return as, nil
}

// DeliveryFilter selects deliveries.
type DeliveryFilter struct {
	// Rejected keeps deliveries answered other than 200.
	Rejected bool
	// Before is the keyset cursor, as in OrderFilter.
	Before int64
	// Limit is the page size: default 50, at most 500.
	Limit int
}

// ListDeliveries returns a page of deliveries, newest first, without their
// bodies (HasBody tells whether one is stored), and the next page's cursor
// or 0.
func (db *DB) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]DeliveryRecord, int64, error) {
	limit := pageSize(f.Limit)
	var p params
	var conds []string
	if f.Rejected {
		// A literal, so that the partial index deliveries_rejected applies.
		conds = append(conds, "status <> 200")
	}
	if f.Before > 0 {
		conds = append(conds, "id < "+p.add(f.Before))
	}
	var ds []DeliveryRecord
	var next int64
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		ds, err = queryDeliveries(ctx, tx, false, where(conds)+` ORDER BY id DESC LIMIT `+p.add(limit+1), p.args...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list deliveries: %w", err)
	}
	if len(ds) > limit {
		ds, next = ds[:limit], ds[limit-1].ID
	}
	return ds, next, nil
}

// Delivery loads one delivery with its body.
func (db *DB) Delivery(ctx context.Context, id int64) (DeliveryRecord, error) {
	var ds []DeliveryRecord
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		ds, err = queryDeliveries(ctx, tx, true, `WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("load delivery %d: %w", id, err)
	}
	if len(ds) == 0 {
		return DeliveryRecord{}, fmt.Errorf("delivery %d: %w", id, enroll.ErrNotFound)
	}
	return ds[0], nil
}

// queryDeliveries selects deliveries; rest is the query after FROM.
func queryDeliveries(ctx context.Context, tx *sql.Tx, withBody bool, rest string, args ...any) ([]DeliveryRecord, error) {
	body := "NULL"
	if withBody {
		body = "body"
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, received_at, platform, source, path, source_ip, headers, `+body+`,
		body IS NOT NULL, body_size, body_sha256, status, reason, order_id FROM deliveries `+rest, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ds []DeliveryRecord
	for rows.Next() {
		var d DeliveryRecord
		if err := rows.Scan(&d.ID, &d.ReceivedAt, &d.Platform, &d.Source, &d.Path, &d.SourceIP, &d.Headers, &d.Body,
			&d.HasBody, &d.BodySize, &d.BodySHA256, &d.Status, &d.Reason, &d.OrderID); err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// Stats counts what happened since a moment, for the dashboard.
type Stats struct {
	// Accepted deliveries created or changed orders; Duplicates were
	// accepted but changed nothing; Rejected were answered other than 200.
	Accepted, Duplicates, Rejected int64
	// RejectedBy counts rejections by reason.
	RejectedBy map[string]int64
	// Orders counts orders created.
	Orders int64
	// Items counts the items of the orders created, by current status.
	Items map[enroll.ItemStatus]int64
}

// Stats counts deliveries received, orders created and their items since
// the given moment. Items are counted through their orders (the items of
// orders created since), which the orders' creation time index finds.
func (db *DB) Stats(ctx context.Context, since time.Time) (Stats, error) {
	since = since.UTC()
	s := Stats{RejectedBy: map[string]int64{}, Items: map[enroll.ItemStatus]int64{}}
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT status, reason, count(*) FROM deliveries
			WHERE received_at >= $1 GROUP BY status, reason`, since)
		if err != nil {
			return fmt.Errorf("count deliveries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var status int
			var reason string
			var n int64
			if err := rows.Scan(&status, &reason, &n); err != nil {
				return fmt.Errorf("count deliveries: %w", err)
			}
			switch {
			case status != 200:
				s.Rejected += n
				s.RejectedBy[reason] += n
			case reason == "duplicate":
				s.Duplicates += n
			default:
				s.Accepted += n
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("count deliveries: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM orders WHERE created_at >= $1`, since).Scan(&s.Orders); err != nil {
			return fmt.Errorf("count orders: %w", err)
		}
		rows, err = tx.QueryContext(ctx, `SELECT i.status, count(*) FROM orders o JOIN items i ON i.order_id = o.id
			WHERE o.created_at >= $1 GROUP BY i.status`, since)
		if err != nil {
			return fmt.Errorf("count items: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var status enroll.ItemStatus
			var n int64
			if err := rows.Scan(&status, &n); err != nil {
				return fmt.Errorf("count items: %w", err)
			}
			s.Items[status] = n
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("count items: %w", err)
		}
		return nil
	})
	return s, err
}

// Backlog is the work waiting for the LMS.
type Backlog struct {
	Pending, Retrying int64
	// Oldest is the creation time of the oldest pending or retrying item;
	// zero when there is none.
	Oldest time.Time
}

// Backlog counts the items waiting for an attempt.
func (db *DB) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT status, count(*) FROM items WHERE status IN ($1, $2) GROUP BY status`,
			enroll.ItemPending, enroll.ItemRetrying)
		if err != nil {
			return fmt.Errorf("count waiting items: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var status enroll.ItemStatus
			var n int64
			if err := rows.Scan(&status, &n); err != nil {
				return fmt.Errorf("count waiting items: %w", err)
			}
			if status == enroll.ItemPending {
				b.Pending = n
			} else {
				b.Retrying = n
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("count waiting items: %w", err)
		}
		if b.Pending+b.Retrying == 0 {
			return nil
		}
		err = tx.QueryRowContext(ctx, `SELECT created_at FROM items WHERE status IN ($1, $2) ORDER BY created_at LIMIT 1`,
			enroll.ItemPending, enroll.ItemRetrying).Scan(&b.Oldest)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("find the oldest waiting item: %w", err)
		}
		return nil
	})
	return b, err
}

// LastAttempt returns the most recent attempt of any item; false when
// there has been none.
func (db *DB) LastAttempt(ctx context.Context) (AttemptRecord, bool, error) {
	var a AttemptRecord
	err := db.sql.QueryRowContext(ctx, `SELECT `+attemptColumns+` FROM attempts ORDER BY id DESC LIMIT 1`).Scan(a.fields()...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a, false, nil
	case err != nil:
		return a, false, fmt.Errorf("load the last attempt: %w", err)
	}
	return a, true, nil
}

// RetryItems gives failed, resolved and retrying items a new chance now:
// pending, with a fresh attempt budget (failed and resolved ones also look
// their course up again), enqueued in the same transaction, one action
// recorded per item. Items in other states are skipped. A retrying item a
// job is enrolling right now keeps that job's claim, so that it cannot be
// enrolled twice at once: the new job waits for it.
func (db *DB) RetryItems(ctx context.Context, ids []int64, actor, note string, enqueue EnqueueFunc) (retried []int64, err error) {
	now := db.now()
	// Items, then orders, in id order, like RecordAttempts.
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		retried = nil
		var skus []string
		orders := map[int64][]int64{}
		for _, id := range ids {
			var orderID int64
			var sku string
			err := tx.QueryRowContext(ctx, `UPDATE items SET status = $1, tries = 0,
				course_id = CASE WHEN status IN ($2, $3) THEN '' ELSE course_id END,
				claim_expires = CASE WHEN claim_expires >= $4 THEN claim_expires ELSE 0 END, updated_at = $5
				WHERE id = $6 AND status IN ($2, $3, $7) RETURNING order_id, sku`,
				enroll.ItemPending, enroll.ItemFailed, enroll.ItemResolved, now.UnixMilli(), now, id, enroll.ItemRetrying).Scan(&orderID, &sku)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				continue // pending, done, or no such item
			case err != nil:
				return fmt.Errorf("retry item %d: %w", id, err)
			}
			retried = append(retried, id)
			skus = append(skus, sku)
			orders[orderID] = append(orders[orderID], id)
		}
		if len(retried) == 0 {
			return nil
		}
		if err := enqueue(ctx, tx, groupBySKU(retried, skus)); err != nil {
			return fmt.Errorf("enqueue %d retried items: %w", len(retried), err)
		}
		for _, orderID := range slices.Sorted(maps.Keys(orders)) {
			for _, id := range orders[orderID] {
				a := ActionRecord{At: now, Actor: actor, Action: ActionRetry, OrderID: orderID, ItemID: id, Note: note}
				if err := recordAction(ctx, tx, a); err != nil {
					return err
				}
			}
			if err := db.updateOrderStatus(ctx, tx, orderID, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return retried, nil
}

// FailedItemIDs returns the ids of failed items of the orders f selects,
// at most max of them, oldest first; f.Before and f.Limit are ignored. The
// item conditions (email, course) apply to the failed items themselves.
func (db *DB) FailedItemIDs(ctx context.Context, f OrderFilter, max int) ([]int64, error) {
	if max <= 0 {
		return nil, nil
	}
	query, args, err := failedItemsQuery(f, max)
	if err != nil {
		return nil, err
	}
	ids, err := scanIDs(db.sql.QueryContext(ctx, query, args...))
	if err != nil {
		return nil, fmt.Errorf("find failed items: %w", err)
	}
	return ids, nil
}

// ResolveItem marks an item that is not enrolled or allowed as resolved by
// an operator, with a note saying why; its last error is kept. An item a
// job is enrolling right now cannot be resolved (ErrConflict): its answer
// would overwrite the resolution.
func (db *DB) ResolveItem(ctx context.Context, id int64, actor, note string) error {
	if strings.TrimSpace(note) == "" {
		return fmt.Errorf("resolve item %d: a note saying why is required", id)
	}
	now := db.now()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		var orderID int64
		err := tx.QueryRowContext(ctx, `UPDATE items SET status = $1, updated_at = $2
			WHERE id = $3 AND status NOT IN ($4, $5) AND claim_expires < $6 RETURNING order_id`,
			enroll.ItemResolved, now, id, enroll.ItemEnrolled, enroll.ItemAllowed, now.UnixMilli()).Scan(&orderID)
		if errors.Is(err, sql.ErrNoRows) {
			var status enroll.ItemStatus
			err := tx.QueryRowContext(ctx, `SELECT status FROM items WHERE id = $1`, id).Scan(&status)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("item %d: %w", id, enroll.ErrNotFound)
			case err != nil:
				return fmt.Errorf("resolve item %d: %w", id, err)
			case status == enroll.ItemEnrolled || status == enroll.ItemAllowed:
				return fmt.Errorf("resolve item %d: it is %s already: %w", id, status, ErrConflict)
			}
			return fmt.Errorf("resolve item %d: a job is enrolling it right now, try again in a minute: %w", id, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("resolve item %d: %w", id, err)
		}
		a := ActionRecord{At: now, Actor: actor, Action: ActionResolve, OrderID: orderID, ItemID: id, Note: note}
		if err := recordAction(ctx, tx, a); err != nil {
			return err
		}
		return db.updateOrderStatus(ctx, tx, orderID, now)
	})
}

// RecordAction records an operator action; a zero At is now.
func (db *DB) RecordAction(ctx context.Context, a ActionRecord) error {
	if a.At.IsZero() {
		a.At = db.now()
	}
	return db.inTx(ctx, func(tx *sql.Tx) error { return recordAction(ctx, tx, a) })
}

func recordAction(ctx context.Context, tx *sql.Tx, a ActionRecord) error {
	null := func(id int64) any {
		if id == 0 {
			return nil
		}
		return id
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO actions (at, actor, action, order_id, item_id, delivery_id, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.At.UTC(), a.Actor, a.Action, null(a.OrderID), null(a.ItemID), null(a.DeliveryID), a.Note)
	if err != nil {
		return fmt.Errorf("record %s action: %w", a.Action, err)
	}
	return nil
}

// CreateSession stores a console session under the hash of its token.
func (db *DB) CreateSession(ctx context.Context, tokenHash, username string, expires time.Time) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO admin_sessions (token_hash, username, created_at, expires_at)
		VALUES ($1, $2, $3, $4)`, tokenHash, username, db.now(), expires.UTC())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionUser returns the user of a session that has not expired, or
// enroll.ErrNotFound.
func (db *DB) SessionUser(ctx context.Context, tokenHash string) (string, error) {
	var user string
	err := db.sql.QueryRowContext(ctx, `SELECT username FROM admin_sessions WHERE token_hash = $1 AND expires_at > $2`,
		tokenHash, db.now()).Scan(&user)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("session: %w", enroll.ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("load session: %w", err)
	}
	return user, nil
}

// DeleteSession deletes a session (logging out), and every expired one.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM admin_sessions WHERE token_hash = $1 OR expires_at <= $2`,
		tokenHash, db.now())
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
