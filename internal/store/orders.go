package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Reading orders: by their shop's identity, by shop order id, and the
// searches of the console and the ops commands.

// OrderRecord is a stored order with its items.
type OrderRecord struct {
	ID         int64
	Platform   enroll.Platform
	Source     string
	ExternalID int64
	Email      string
	Status     enroll.OrderStatus
	CreatedAt  time.Time
	// Snapshot is the newest snapshot of the order applied: its At is zero
	// before the first (and for orders stored before snapshots were kept).
	Snapshot enroll.Snapshot
	// RedactedAt is when a privacy redaction erased the order's personal
	// data; zero if never.
	RedactedAt time.Time
	Items      []ItemRecord
}

// ItemRecord is a stored enrollment item.
type ItemRecord struct {
	ID         int64
	LineItemID int64
	SKU        string
	Email      string
	CourseID   string
	Status     enroll.ItemStatus
	// Want is the item's desired state, which its jobs drive the LMS towards.
	Want enroll.Want
	// Mode is the enrollment mode bought; empty for the course's default.
	Mode string
	// LineQuantity is the seats bought on the item's line (see Lines).
	LineQuantity int
	// Refunded: a refund took this learner's seat.
	Refunded  bool
	Attempts  int
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// orderColumns are the columns OrderRecord.fields scans, of orders o.
const orderColumns = `o.id, o.platform, o.source, o.external_id, o.email, o.status, o.created_at,
	o.snapshot_at, o.shop_status, o.cancelled, o.refunded, o.partial_refund, o.redacted_at`

func (o *OrderRecord) fields() []any {
	return []any{&o.ID, &o.Platform, &o.Source, &o.ExternalID, &o.Email, &o.Status, &o.CreatedAt,
		nullTime{&o.Snapshot.At}, &o.Snapshot.ShopStatus, &o.Snapshot.Cancelled, &o.Snapshot.Refunded,
		&o.Snapshot.PartialRefund, nullTime{&o.RedactedAt}}
}

// itemColumns are the columns ItemRecord.fields scans.
const itemColumns = `id, line_item_id, sku, email, course_id, status, want, mode, line_quantity, refunded,
	attempts, last_error, created_at, updated_at`

func (it *ItemRecord) fields() []any {
	return []any{&it.ID, &it.LineItemID, &it.SKU, &it.Email, &it.CourseID, &it.Status, &it.Want, &it.Mode,
		&it.LineQuantity, &it.Refunded, &it.Attempts, &it.LastError, &it.CreatedAt, &it.UpdatedAt}
}

// FindOrder loads an order by its shop's identity, with its items as they
// were at the same moment.
func (db *DB) FindOrder(ctx context.Context, p enroll.Platform, source string, externalID int64) (OrderRecord, error) {
	var orders []OrderRecord
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		orders, err = queryOrders(ctx, tx, `SELECT `+orderColumns+` FROM orders o
			WHERE o.platform = $1 AND o.source = $2 AND o.external_id = $3`, p, source, externalID)
		if err != nil {
			return fmt.Errorf("load order %d of %s: %w", externalID, source, err)
		}
		return fillItems(ctx, tx, orders)
	})
	if err != nil {
		return OrderRecord{}, err
	}
	if len(orders) == 0 {
		return OrderRecord{}, fmt.Errorf("order %d of %s: %w", externalID, source, enroll.ErrNotFound)
	}
	return orders[0], nil
}

const ordersByExternalIDQuery = `SELECT ` + orderColumns + ` FROM orders o WHERE o.external_id = $1 ORDER BY o.id`

// OrdersByExternalID returns every shop's order with that shop order id
// (usually one), with their items.
func (db *DB) OrdersByExternalID(ctx context.Context, externalID int64) ([]OrderRecord, error) {
	var orders []OrderRecord
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		orders, err = queryOrders(ctx, tx, ordersByExternalIDQuery, externalID)
		if err != nil {
			return fmt.Errorf("find orders %d: %w", externalID, err)
		}
		return fillItems(ctx, tx, orders)
	})
	return orders, err
}

// OrderFilter selects orders; zero fields do not filter.
type OrderFilter struct {
	// Query is a shop order id (digits), a learner email (has '@',
	// case-insensitive), or a course id or SKU (anything else: matches
	// items.course_id or items.sku).
	Query string
	// Status is an item status (enroll.ItemStatuses): orders with at least
	// one item in it; or an order status (enroll.OrderStatuses).
	Status   string
	Platform enroll.Platform
	// Source names a shop: a domain or site URL, as enroll.SameSource
	// compares them (a Shopify domain in any case, a site URL with any
	// case of scheme and host, with or without its trailing slash).
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
	case enroll.ItemStatus(s).Valid():
		itemConds = append(itemConds, item+"status = "+p.add(s))
	case enroll.OrderStatus(s).Valid():
		orderConds = append(orderConds, "o.status = "+p.add(s))
	default:
		return nil, nil, fmt.Errorf("unknown status %q: use %s (items), or %s (orders)",
			s, enroll.Or(enroll.ItemStatuses()), enroll.Or(enroll.OrderStatuses()))
	}
	// Most deployments have one or two shops: reading orders newest first
	// and skipping other shops' beats sorting all of a shop's orders, so the
	// shop key's index is kept out of it (|| '' hides it from SQLite).
	if f.Platform != "" {
		orderConds = append(orderConds, "o.platform || '' = "+p.add(f.Platform))
	}
	if s := strings.TrimSpace(f.Source); s != "" {
		// Every name of the shop (enroll.SameSource) and, rarely, a site
		// whose path differs in case: ofShop drops those.
		orderConds = append(orderConds, "rtrim(lower(o.source), '/') = rtrim(lower("+p.add(s)+"), '/')")
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

// ofShop reports whether an order the query found is of the shop f names:
// the query's condition on the shop ignores the case of a site URL's path,
// which enroll.SameSource does not.
func (f OrderFilter) ofShop(p enroll.Platform, source string) bool {
	return strings.TrimSpace(f.Source) == "" || enroll.SameSource(p, source, f.Source)
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
		orders = slices.DeleteFunc(orders, func(o OrderRecord) bool { return !f.ofShop(o.Platform, o.Source) })
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

func queryOrders(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]OrderRecord, error) {
	return queryRows(ctx, tx, (*OrderRecord).fields, query, args...)
}

// itemsOfOrdersQuery builds fillItems' query.
func itemsOfOrdersQuery(orderIDs []int64) (string, []any) {
	var p params
	return `SELECT order_id, ` + itemColumns + ` FROM items WHERE order_id IN (` + p.list(orderIDs) + `) ORDER BY order_id, id`, p.args
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
	type orderItem struct {
		orderID int64
		item    ItemRecord
	}
	query, args := itemsOfOrdersQuery(ids)
	items, err := queryRows(ctx, tx, func(x *orderItem) []any { return append([]any{&x.orderID}, x.item.fields()...) }, query, args...)
	if err != nil {
		return fmt.Errorf("load items of %d orders: %w", len(orders), err)
	}
	for _, x := range items {
		o := &orders[index[x.orderID]]
		o.Items = append(o.Items, x.item)
	}
	return nil
}
