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

// A batch's new orders, their items and its deliveries are written with
// multi-row statements: on PostgreSQL every statement is a round trip to
// the server, which was most of the writer's time at one statement a row.
// There, a table's rows go in one statement whatever their number, as one
// array per column that unnest() turns back into rows; on SQLite, which
// has no arrays, as VALUES lists of a few sizes.

// chunkSizes are the row counts of multi-row statements on SQLite. Rows are
// cut into chunks of these sizes, largest first, so that only a few
// statement texts exist, each prepared once, whatever the batch size.
var chunkSizes = []int{64, 16, 4, 1}

// insertInto is the head of a multi-row INSERT, `INSERT INTO t (columns)`,
// and the PostgreSQL type of each column, for the arrays unnest() reads.
type insertInto struct {
	head  string
	types []string
}

var (
	ordersInsert = insertInto{`INSERT INTO orders (platform, source, external_id, email, status, created_at, updated_at,
		snapshot_at, shop_status, cancelled, refunded, partial_refund)`,
		[]string{"text", "text", "bigint", "text", "text", "timestamptz", "timestamptz",
			"timestamptz", "text", "boolean", "boolean", "boolean"}}
	itemsInsert = insertInto{`INSERT INTO items (order_id, line_item_id, sku, email, course_id, mode, line_quantity, status, want, created_at, updated_at)`,
		[]string{"bigint", "bigint", "text", "text", "text", "text", "integer", "text", "text", "timestamptz", "timestamptz"}}
	deliveriesInsert = insertInto{deliveryInsert,
		[]string{"timestamptz", "text", "text", "text", "text", "text",
			"bytea", "text", "bigint", "text", "integer", "text", "bigint", "bigint"}}
	refundsInsert = insertInto{`INSERT INTO refunds (order_id, external_id, line_item_id, quantity, at)`,
		[]string{"bigint", "bigint", "bigint", "integer", "timestamptz"}}
)

// insertRows inserts rows, each with a value for every column of into, and
// calls scan for every row the statements return (tail's RETURNING). Rows
// are inserted in the order given.
func (db *DB) insertRows(ctx context.Context, tx *sql.Tx, into insertInto, tail string, rows [][]any, scan func(*sql.Rows) error) error {
	if len(rows) == 0 {
		return nil
	}
	if db.dialect == Postgres {
		return db.insertUnnest(ctx, tx, into, tail, rows, scan)
	}
	for _, size := range chunkSizes {
		for len(rows) >= size {
			if err := db.insertChunk(ctx, tx, into.head, tail, rows[:size], scan); err != nil {
				return err
			}
			rows = rows[size:]
		}
	}
	return nil
}

// insertUnnest inserts rows with one statement that takes each column as
// an array: `head SELECT * FROM unnest($1::type[], ...) tail`.
func (db *DB) insertUnnest(ctx context.Context, tx *sql.Tx, into insertInto, tail string, rows [][]any, scan func(*sql.Rows) error) error {
	var q strings.Builder
	args := unnestInsert(&q, into, rows, 0)
	q.WriteString(" ")
	q.WriteString(tail)
	rs, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return err
	}
	return scanAll(rs, scan)
}

// unnestInsert writes `head SELECT * FROM unnest(...)` to q and returns its
// arguments, numbered after the n given before.
func unnestInsert(q *strings.Builder, into insertInto, rows [][]any, n int) []any {
	q.WriteString(into.head)
	q.WriteString(" SELECT * FROM ")
	return unnestColumns(q, into.types, rows, n)
}

// unnestColumns writes `unnest($n+1::type[], ...)` to q, a column of rows
// per type, and returns the columns as its arguments.
func unnestColumns(q *strings.Builder, types []string, rows [][]any, n int) []any {
	q.WriteString("unnest(")
	for j, t := range types {
		if j > 0 {
			q.WriteString(", ")
		}
		q.WriteString("$" + strconv.Itoa(n+j+1) + "::" + t + "[]")
	}
	q.WriteString(")")
	return transpose(rows, len(types))
}

// transpose returns rows of width values as width columns, each a []any.
func transpose(rows [][]any, width int) []any {
	columns := make([]any, width)
	for j := range columns {
		column := make([]any, len(rows))
		for i, row := range rows {
			column[i] = row[j]
		}
		columns[j] = column
	}
	return columns
}

// insertChunk inserts rows with one VALUES list (SQLite). Its parameters are
// anonymous (?): the driver asks SQLite for every parameter's name before
// binding it, and SQLite finds a numbered one ($n) by walking the list of
// names, which made binding a chunk of 64 rows quadratic in its ~900
// parameters.
func (db *DB) insertChunk(ctx context.Context, tx *sql.Tx, head, tail string, rows [][]any, scan func(*sql.Rows) error) error {
	var q strings.Builder
	args := make([]any, 0, len(rows)*len(rows[0]))
	q.WriteString(head)
	q.WriteString(" VALUES ")
	for i, row := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for j, v := range row {
			if j > 0 {
				q.WriteString(", ")
			}
			args = append(args, v)
			q.WriteByte('?')
		}
		q.WriteByte(')')
	}
	q.WriteString(" " + tail)
	rs, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return err
	}
	return scanAll(rs, scan)
}

// scanAll calls scan for each of rs's rows, and closes rs.
func scanAll(rs *sql.Rows, scan func(*sql.Rows) error) error {
	defer rs.Close()
	for rs.Next() {
		if err := scan(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// insertKeyed runs insertRows for a statement that returns the id and then
// the key of each row it inserts, and maps each key to its id; fields
// points at a key's fields, in the order the statement returns them.
func insertKeyed[K comparable](ctx context.Context, db *DB, tx *sql.Tx, into insertInto, tail string, rows [][]any, fields func(*K) []any) (map[K]int64, error) {
	ids := map[K]int64{}
	err := db.insertRows(ctx, tx, into, tail, rows, func(rs *sql.Rows) error {
		var k K
		var id int64
		if err := rs.Scan(append([]any{&id}, fields(&k)...)...); err != nil {
			return err
		}
		ids[k] = id
		return nil
	})
	return ids, err
}

// saveBatch stores the requests of a batch in tx: their delivery keys,
// which tell redeliveries apart, with one multi-row statement; new orders
// and their items with multi-row statements; snapshots of orders stored
// before, and refunds, one by one (lifecycle.go); then every delivery.
// Requests come sorted by order, so that writers lock orders in the same
// sequence. On PostgreSQL the keys, the new orders, their items and their
// deliveries go in one statement (saveBatchPostgres).
func (db *DB) saveBatch(ctx context.Context, tx *sql.Tx, batch []*writeRequest) error {
	now := db.now()
	if db.dialect == Postgres {
		return db.saveBatchPostgres(ctx, tx, batch, now)
	}
	if err := db.insertDeliveryKeys(ctx, tx, batch, now); err != nil {
		return err
	}
	fresh, err := db.insertNewOrders(ctx, tx, batch, now)
	if err != nil {
		return err
	}
	if err := db.insertNewItems(ctx, tx, fresh, now); err != nil {
		return err
	}
	if err := db.applyToStored(ctx, tx, batch, now); err != nil {
		return err
	}
	return db.insertDeliveries(ctx, tx, batch)
}

// applyToStored applies the batch's accepted deliveries that created no
// order to their orders, one by one: redeliveries find their order,
// refunds and snapshots go through lifecycle.go.
func (db *DB) applyToStored(ctx context.Context, tx *sql.Tx, batch []*writeRequest, now time.Time) error {
	for _, r := range batch {
		if r.accepted == nil || r.res.NewOrder {
			continue
		}
		var err error
		switch {
		case r.res.Redelivered:
			err = db.findOrderOf(ctx, tx, r)
		case r.accepted.Refund != nil:
			err = db.applyRefund(ctx, tx, *r.accepted, &r.res, now)
		default:
			err = db.applySnapshot(ctx, tx, *r.accepted, &r.res, now)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type orderKey struct {
	platform enroll.Platform
	source   string
	id       int64
}

// createsOrder tells whether a request may create its order on the fast
// path: a snapshot that is no redelivery. (A refund of an order not stored
// yet creates it in applyRefund.)
func (r *writeRequest) createsOrder() bool {
	return r.accepted != nil && r.accepted.Refund == nil && !r.res.Redelivered
}

// insertNewOrders inserts the orders of the batch's snapshots that are not
// stored yet, with the snapshot's facts, and returns their requests, each
// with its OrderID set. An order twice in the batch is new for its first
// request only.
func (db *DB) insertNewOrders(ctx context.Context, tx *sql.Tx, batch []*writeRequest, now time.Time) ([]*writeRequest, error) {
	rows := newOrderRows(batch, now)
	if len(rows) == 0 {
		return nil, nil
	}
	ids, err := insertKeyed(ctx, db, tx, ordersInsert,
		`ON CONFLICT (platform, source, external_id) DO NOTHING RETURNING id, platform, source, external_id`, rows,
		func(k *orderKey) []any { return []any{&k.platform, &k.source, &k.id} })
	if err != nil {
		return nil, fmt.Errorf("insert %d orders: %w", len(rows), err)
	}
	return freshOrders(batch, ids), nil
}

// newOrderRows are the ordersInsert rows of the batch's snapshots.
func newOrderRows(batch []*writeRequest, now time.Time) [][]any {
	var rows [][]any
	for _, r := range batch {
		if r.createsOrder() {
			rows = append(rows, newOrderRow(r, now))
		}
	}
	return rows
}

// newOrderRow is the ordersInsert row of a snapshot's order.
func newOrderRow(r *writeRequest, now time.Time) []any {
	a := r.accepted
	o := a.Order
	return []any{o.Platform, o.Source, o.ID, o.Email, newOrderStatus(*a), now, now,
		snapshotTime(o.At), o.ShopStatus, o.Cancelled, o.Refunded, o.PartialRefund}
}

// freshOrders sets the OrderID of the requests whose order was inserted,
// ids by key, and returns them: the first request of each such order.
func freshOrders(batch []*writeRequest, ids map[orderKey]int64) []*writeRequest {
	var fresh []*writeRequest
	for _, r := range batch {
		if !r.createsOrder() {
			continue
		}
		o := r.accepted.Order
		k := orderKey{o.Platform, o.Source, o.ID}
		if id, ok := ids[k]; ok {
			r.res.OrderID, r.res.NewOrder = id, true
			delete(ids, k)
			fresh = append(fresh, r)
		}
	}
	return fresh
}

// insertNewItems inserts the items of new orders and sets each request's
// Enqueued items. A learner twice on one order is one item. An order first
// seen cancelled or refunded, whose shop unenrolls on refund, has nothing
// to undo: its items are created unenrolled, and not enqueued.
func (db *DB) insertNewItems(ctx context.Context, tx *sql.Tx, fresh []*writeRequest, now time.Time) error {
	var rows [][]any
	for _, r := range fresh {
		for _, row := range newItemRows(r, now) {
			rows = append(rows, append([]any{r.res.OrderID}, row...))
		}
	}
	if len(rows) == 0 {
		return nil
	}
	ids, err := insertKeyed(ctx, db, tx, itemsInsert,
		`ON CONFLICT (order_id, sku, email) DO NOTHING RETURNING id, order_id, sku, email`, rows,
		func(k *newItemKey) []any { return []any{&k.order, &k.sku, &k.email} })
	if err != nil {
		return fmt.Errorf("insert %d items: %w", len(rows), err)
	}
	enqueueNewItems(fresh, ids)
	return nil
}

type newItemKey struct {
	order      int64
	sku, email string
}

// newItemRows are the itemsInsert rows of a new order's items but for
// their order_id.
func newItemRows(r *writeRequest, now time.Time) [][]any {
	a := r.accepted
	if a.AwaitingPayment {
		return nil
	}
	want, status := newItemState(*a)
	rows := make([][]any, 0, len(a.Order.Items))
	for _, it := range a.Order.Items {
		rows = append(rows, []any{it.LineItemID, it.SKU, it.Email, it.CourseID, it.Mode, lineQuantity(it),
			status, want, now, now})
	}
	return rows
}

// enqueueNewItems sets the Enqueued items of the fresh requests, given the
// ids of the items inserted by key.
func enqueueNewItems(fresh []*writeRequest, ids map[newItemKey]int64) {
	for _, r := range fresh {
		if _, status := newItemState(*r.accepted); status != enroll.ItemPending {
			continue
		}
		for _, it := range r.accepted.Order.Items {
			k := newItemKey{r.res.OrderID, it.SKU, it.Email}
			if id, ok := ids[k]; ok {
				r.res.Enqueued = append(r.res.Enqueued, id)
				r.res.skus = append(r.res.skus, it.SKU)
				delete(ids, k)
			}
		}
	}
}

// insertDeliveries records every request's delivery and sets its
// DeliveryID. The ids a statement returns are not in the order of its rows,
// but they are given in that order: sorted, they match the rows.
func (db *DB) insertDeliveries(ctx context.Context, tx *sql.Tx, batch []*writeRequest) error {
	rows := make([][]any, 0, len(batch))
	for _, r := range batch {
		if err := r.prepareRow(); err != nil {
			return err
		}
		d, parsed := r.delivery, []byte(nil)
		if r.accepted != nil {
			d = acceptedDelivery(*r.accepted, r.res)
			if d.KeepBody { // a redelivery's or a redacted order's is not
				parsed = r.parsed
			}
		}
		rows = append(rows, r.fields.row(d, parsed, r.res.OrderID))
	}
	if len(rows) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(rows))
	err := db.insertRows(ctx, tx, deliveriesInsert, "RETURNING id", rows, func(rs *sql.Rows) error {
		var id int64
		err := rs.Scan(&id)
		ids = append(ids, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert %d deliveries: %w", len(rows), err)
	}
	if len(ids) != len(batch) {
		return fmt.Errorf("insert %d deliveries: %d ids returned", len(batch), len(ids))
	}
	slices.Sort(ids)
	for i, r := range batch {
		r.res.DeliveryID = ids[i]
	}
	return nil
}

// prepareRow makes what the request's delivery row needs beyond the
// batch's answers, once: the delivery's fields, and for an accepted one
// what is stored of it as parsed, its order or its refund. The writer's
// callers make them before queueing a request (Writer.submit).
func (r *writeRequest) prepareRow() error {
	if r.fields != nil {
		return nil
	}
	d := r.delivery
	if a := r.accepted; a != nil {
		d = a.Delivery
		var v any = a.Order
		if a.Refund != nil {
			v = a.Refund
		}
		parsed, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode order %d: %w", a.Order.ID, err)
		}
		r.parsed = parsed
	}
	f, err := fieldsOf(d)
	if err != nil {
		return err
	}
	r.fields = &f
	return nil
}
