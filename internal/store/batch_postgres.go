package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// On PostgreSQL every statement is a round trip, and the writer spends
// its time waiting for them, not computing. So saveBatchPostgres makes the
// common batch (new orders, each delivered once) one statement: its
// data-modifying CTEs record the delivery keys, insert the orders of the
// deliveries none of whose keys was there, their items, and the deliveries
// that created them. Only what is left (redeliveries, snapshots and
// refunds of stored orders, rejections) takes statements of its own.

// saveBatchPostgres does saveBatch's work on PostgreSQL, with the same
// rules and in the same lock order: delivery keys in key order, then new
// orders in key order, then their items.
func (db *DB) saveBatchPostgres(ctx context.Context, tx *sql.Tx, batch []*writeRequest, now time.Time) error {
	if err := db.insertNewPostgres(ctx, tx, batch, now); err != nil {
		return err
	}
	var rest []*writeRequest // whose delivery is still to be stored
	for _, r := range batch {
		if r.res.DeliveryID == 0 {
			rest = append(rest, r)
		}
	}
	if err := db.applyToStored(ctx, tx, rest, now); err != nil {
		return err
	}
	return db.insertDeliveries(ctx, tx, rest)
}

// Column types of the arrays the statement unnests, beyond ordersInsert's,
// itemsInsert's and deliveriesInsert's: req is a request's index in the batch.
var (
	keyColumns = []string{"text", "text", "text", "integer"} // platform, source, key, req
	reqColumn  = []string{"integer"}
)

// newOrdersQuery is the statement of insertNewPostgres, with its arrays
// from $1 on: the keys and their owners, the time they were received, then
// the rows of the requests that may create their order (keyed by req):
// orders, items, deliveries. A request one of whose keys was there already
// is a redelivery (dup); of the others, the first of each order is the one
// that may create it (c). It returns the keys inserted (0), the orders (1),
// items (2) and deliveries (3).
var newOrdersQuery = func() string {
	var q strings.Builder
	q.WriteString(`WITH kin AS (SELECT * FROM `)
	unnestColumns(&q, keyColumns, nil, 0)
	q.WriteString(` WITH ORDINALITY AS x (platform, source, key, req, n)),
k AS (INSERT INTO delivery_keys (platform, source, key, received_at)
	SELECT platform, source, key, $5::timestamptz FROM kin ORDER BY n
	ON CONFLICT (platform, source, key) DO NOTHING RETURNING platform, source, key),
dup AS (SELECT kin.req FROM kin LEFT JOIN k ON k.platform = kin.platform AND k.source = kin.source AND k.key = kin.key
	WHERE k.key IS NULL),
c AS (SELECT DISTINCT ON (platform, source, external_id) * FROM `)
	unnestColumns(&q, slices.Concat(reqColumn, ordersInsert.types), nil, 5)
	q.WriteString(` WITH ORDINALITY AS x (req, platform, source, external_id, email, status, created_at, updated_at,
		snapshot_at, shop_status, cancelled, refunded, partial_refund, n)
	WHERE req NOT IN (SELECT req FROM dup) ORDER BY platform, source, external_id, n),
o AS (`)
	q.WriteString(ordersInsert.head)
	q.WriteString(` SELECT platform, source, external_id, email, status, created_at, updated_at,
		snapshot_at, shop_status, cancelled, refunded, partial_refund FROM c ORDER BY n
	ON CONFLICT (platform, source, external_id) DO NOTHING RETURNING id, platform, source, external_id),
co AS (SELECT c.req, o.id FROM c JOIN o ON o.platform = c.platform AND o.source = c.source AND o.external_id = c.external_id),
i AS (`)
	q.WriteString(itemsInsert.head)
	q.WriteString(` SELECT co.id, x.line_item_id, x.sku, x.email, x.course_id, x.mode, x.line_quantity, x.status, x.want,
		x.created_at, x.updated_at FROM `)
	itemTypes := itemsInsert.types[1:] // but order_id
	unnestColumns(&q, slices.Concat(reqColumn, itemTypes), nil, 5+1+len(ordersInsert.types))
	q.WriteString(` WITH ORDINALITY AS x (req, line_item_id, sku, email, course_id, mode, line_quantity, status, want,
		created_at, updated_at, n)
	JOIN co ON co.req = x.req ORDER BY x.n
	ON CONFLICT (order_id, sku, email) DO NOTHING RETURNING id, order_id, sku, email),
d AS (`)
	q.WriteString(deliveryInsert)
	q.WriteString(` SELECT x.received_at, x.platform, x.source, x.path, x.source_ip, x.headers, x.body, x.parsed,
		x.body_size, x.body_sha256, x.status, x.reason, co.id, x.folded FROM `)
	unnestColumns(&q, slices.Concat(reqColumn, deliveriesInsert.types), nil, 5+2+len(ordersInsert.types)+len(itemTypes))
	q.WriteString(` WITH ORDINALITY AS x (req, received_at, platform, source, path, source_ip, headers, body, parsed,
		body_size, body_sha256, status, reason, order_id, folded, n)
	JOIN co ON co.req = x.req ORDER BY x.n RETURNING id)
SELECT 0, 0::bigint, platform, source, 0::bigint, key, '' FROM k
UNION ALL SELECT 1, id, platform, source, external_id, '', '' FROM o
UNION ALL SELECT 2, id, '', '', order_id, sku, email FROM i
UNION ALL SELECT 3, id, '', '', 0, '', '' FROM d`)
	return q.String()
}()

// newRows are the arrays of newOrdersQuery's rows.
type newRows struct {
	keys, orders, items, deliveries [][]any
}

// insertNewPostgres runs newOrdersQuery for the batch: it marks
// Redelivered the requests one of whose keys was accepted before (in this
// batch or earlier), and sets the OrderID, Enqueued items and DeliveryID of
// the requests that created their order (NewOrder).
func (db *DB) insertNewPostgres(ctx context.Context, tx *sql.Tx, batch []*writeRequest, now time.Time) error {
	keys, owner := batchKeys(batch)
	rows, err := newBatchRows(batch, keys, owner, now)
	if err != nil || len(rows.keys) == 0 && len(rows.orders) == 0 {
		return err
	}
	args := slices.Concat(transpose(rows.keys, len(keyColumns)), []any{now},
		transpose(rows.orders, 1+len(ordersInsert.types)),
		transpose(rows.items, len(itemsInsert.types)), // req and the columns but order_id
		transpose(rows.deliveries, 1+len(deliveriesInsert.types)))
	got, err := db.runNewOrders(ctx, tx, args)
	if err != nil {
		return fmt.Errorf("insert %d delivery keys, %d orders, %d items: %w",
			len(rows.keys), len(rows.orders), len(rows.items), err)
	}
	for _, k := range keys {
		if !got.keys[k] {
			owner[k].res.Redelivered = true
		}
	}
	fresh := freshOrders(batch, got.orders)
	enqueueNewItems(fresh, got.items)
	if len(got.deliveries) != len(fresh) {
		return fmt.Errorf("insert %d deliveries of new orders: %d ids returned", len(fresh), len(got.deliveries))
	}
	slices.Sort(got.deliveries) // in the order of their rows, as fresh is
	for i, r := range fresh {
		r.res.DeliveryID = got.deliveries[i]
	}
	return nil
}

// newBatchRows makes the rows of newOrdersQuery: the keys with the index
// of the request that owns each, and the order, items and delivery of
// each request that may create its order, keyed by its index.
func newBatchRows(batch []*writeRequest, keys []deliveryKey, owner map[deliveryKey]*writeRequest, now time.Time) (newRows, error) {
	var rows newRows
	index := make(map[*writeRequest]int, len(batch))
	for i, r := range batch {
		index[r] = i
	}
	for _, k := range keys {
		rows.keys = append(rows.keys, []any{string(k.platform), k.source, k.key, index[owner[k]]})
	}
	for i, r := range batch {
		if !r.createsOrder() {
			continue
		}
		if err := r.prepareRow(); err != nil {
			return rows, err
		}
		rows.orders = append(rows.orders, append([]any{i}, newOrderRow(r, now)...))
		for _, row := range newItemRows(r, now) {
			rows.items = append(rows.items, append([]any{i}, row...))
		}
		// As a new order's delivery is stored: its body kept, no reason of
		// its own (acceptedDelivery).
		d := acceptedDelivery(*r.accepted, SaveResult{NewOrder: true})
		rows.deliveries = append(rows.deliveries, append([]any{i}, r.fields.row(d, r.parsed, 0)...))
	}
	return rows, nil
}

// newOrdersResult is what newOrdersQuery returns.
type newOrdersResult struct {
	keys       map[deliveryKey]bool
	orders     map[orderKey]int64
	items      map[newItemKey]int64
	deliveries []int64
}

func (db *DB) runNewOrders(ctx context.Context, tx *sql.Tx, args []any) (newOrdersResult, error) {
	got := newOrdersResult{keys: map[deliveryKey]bool{}, orders: map[orderKey]int64{}, items: map[newItemKey]int64{}}
	rs, err := tx.QueryContext(ctx, newOrdersQuery, args...)
	if err != nil {
		return got, err
	}
	err = scanAll(rs, func(rs *sql.Rows) error {
		var kind int
		var id, n int64
		var platform enroll.Platform
		var source, s1, s2 string
		if err := rs.Scan(&kind, &id, &platform, &source, &n, &s1, &s2); err != nil {
			return err
		}
		switch kind {
		case 0:
			got.keys[deliveryKey{platform, source, s1}] = true
		case 1:
			got.orders[orderKey{platform, source, n}] = id
		case 2:
			got.items[newItemKey{n, s1, s2}] = id
		default:
			got.deliveries = append(got.deliveries, id)
		}
		return nil
	})
	return got, err
}
