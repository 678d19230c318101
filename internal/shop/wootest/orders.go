package wootest

import (
	"cmp"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Line is one line item of an order a test adds. Meta becomes its
// meta_data entries, in key order; a learner's email under key "email" is
// the simplest way to name one.
type Line struct {
	SKU      string
	Quantity int // 1 when zero
	Meta     map[string]any
}

// NewOrder is an order a test adds.
type NewOrder struct {
	Email string
	Paid  bool // paid at once (status processing); otherwise pending
	Lines []Line
}

type order struct {
	id                      int64
	status                  string
	email                   string
	created, modified, paid time.Time
	lines                   []line
	refunds                 []refund
}

type line struct {
	id       int64
	sku      string
	quantity int
	meta     map[string]any
}

type refund struct {
	id      int64
	created time.Time
	lines   []refundLine
}

type refundLine struct {
	id, itemID int64
	quantity   int
}

// AddOrder adds an order dated now and returns its id and its line item ids.
func (s *Shop) AddOrder(o NewOrder) (id int64, lineIDs []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ord := &order{id: s.nextID(), status: "pending", email: o.Email, created: s.now, modified: s.now}
	if o.Paid {
		ord.status, ord.paid = "processing", s.now
	}
	for _, l := range o.Lines {
		ln := line{id: s.nextID(), sku: l.SKU, quantity: max(l.Quantity, 1), meta: l.Meta}
		ord.lines = append(ord.lines, ln)
		lineIDs = append(lineIDs, ln.id)
	}
	s.orders[ord.id] = ord
	return ord.id, lineIDs
}

// Pay marks an order paid now (status processing).
func (s *Shop) Pay(id int64) {
	s.change(id, func(o *order) { o.status, o.paid = "processing", s.now })
}

// Cancel cancels an order now.
func (s *Shop) Cancel(id int64) {
	s.change(id, func(o *order) { o.status = "cancelled" })
}

// Refund refunds seats of an order's lines now (line item id → seats) and
// returns the refund's id. Refunding every seat makes the order refunded,
// as WooCommerce does; less leaves its status and only adds to its refunds.
func (s *Shop) Refund(id int64, seats map[int64]int) int64 {
	var refundID int64
	s.change(id, func(o *order) {
		r := refund{id: s.nextID(), created: s.now}
		for _, itemID := range slices.Sorted(maps.Keys(seats)) {
			r.lines = append(r.lines, refundLine{id: s.nextID(), itemID: itemID, quantity: seats[itemID]})
		}
		o.refunds = append(o.refunds, r)
		refundID = r.id
		if o.allRefunded() {
			o.status = "refunded"
		}
	})
	return refundID
}

// change applies f to an order and dates the order now.
func (s *Shop) change(id int64, f func(*order)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	if o == nil {
		panic(fmt.Sprintf("wootest: no order %d", id))
	}
	f(o)
	o.modified = s.now
}

func (s *Shop) nextID() int64 {
	s.lastID++
	return s.lastID
}

func (o *order) allRefunded() bool {
	refunded := map[int64]int{}
	for _, r := range o.refunds {
		for _, l := range r.lines {
			refunded[l.itemID] += l.quantity
		}
	}
	for _, l := range o.lines {
		if refunded[l.id] < l.quantity {
			return false
		}
	}
	return true
}

// json is the order as the REST API and the order webhooks show it.
func (o *order) json() map[string]any {
	items := []any{}
	for _, l := range o.lines {
		meta := []any{}
		for i, k := range slices.Sorted(maps.Keys(l.meta)) {
			meta = append(meta, map[string]any{"id": l.id*100 + int64(i), "key": k, "value": l.meta[k]})
		}
		items = append(items, map[string]any{"id": l.id, "sku": l.sku, "quantity": l.quantity, "meta_data": meta})
	}
	refunds := []any{}
	for _, r := range o.refunds {
		refunds = append(refunds, map[string]any{"id": r.id, "reason": "", "total": fmt.Sprintf("-%d.00", r.seats()*10)})
	}
	return map[string]any{
		"id":                o.id,
		"status":            o.status,
		"date_created_gmt":  wooTime(o.created),
		"date_modified_gmt": wooTime(o.modified),
		"date_paid_gmt":     wooTime(o.paid),
		"billing":           map[string]any{"email": o.email},
		"line_items":        items,
		"refunds":           refunds,
	}
}

func (r refund) seats() int {
	n := 0
	for _, l := range r.lines {
		n += l.quantity
	}
	return n
}

// json is the refund as GET /orders/<id>/refunds shows it: its line items
// have negative quantities and name the order's line in _refunded_item_id.
func (r refund) json() map[string]any {
	items := []any{}
	for _, l := range r.lines {
		items = append(items, map[string]any{
			"id":       l.id,
			"quantity": -l.quantity,
			"total":    fmt.Sprintf("-%d.00", l.quantity*10),
			"meta_data": []any{map[string]any{
				"id": l.id * 100, "key": "_refunded_item_id", "value": strconv.FormatInt(l.itemID, 10),
			}},
		})
	}
	return map[string]any{
		"id":               r.id,
		"date_created_gmt": wooTime(r.created),
		"amount":           fmt.Sprintf("%d.00", r.seats()*10),
		"reason":           "",
		"line_items":       items,
	}
}

// handleOrders lists orders, newest first by default, or by id or date
// modified with orderby and order; modified_after (exclusive) filters them
// unless the site is set to ignore it.
func (s *Shop) handleOrders(w http.ResponseWriter, r *http.Request) {
	perPage, page, ok := paging(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var after time.Time
	if v := q.Get("modified_after"); v != "" {
		t, err := parseWooTime(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): modified_after")
			return
		}
		after = t
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*order
	for _, o := range s.orders {
		if !after.IsZero() && !s.ignoreModifiedAfter && !o.modified.After(after) {
			continue
		}
		list = append(list, o)
	}
	// Orders are created in id order here, so date order is id order.
	compare := func(a, b *order) int { return cmp.Compare(a.id, b.id) }
	orderBy, desc := q.Get("orderby"), q.Get("order") != "asc"
	if s.ignoreOrderBy {
		orderBy, desc = "date", true
	}
	switch orderBy {
	case "", "date", "id", "include":
	case "modified":
		compare = func(a, b *order) int { return cmp.Or(a.modified.Compare(b.modified), cmp.Compare(a.id, b.id)) }
	default:
		writeError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): orderby")
		return
	}
	slices.SortFunc(list, func(a, b *order) int {
		if desc {
			a, b = b, a
		}
		return compare(a, b)
	})
	out := make([]map[string]any, len(list))
	for i, o := range list {
		out[i] = o.json()
	}
	writePage(w, out, perPage, page)
}

// handleRefunds lists an order's refunds, newest first.
func (s *Shop) handleRefunds(w http.ResponseWriter, r *http.Request) {
	perPage, page, ok := paging(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.orders[id]
	if err != nil || o == nil {
		writeError(w, http.StatusNotFound, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
		return
	}
	out := []map[string]any{}
	for i := len(o.refunds) - 1; i >= 0; i-- {
		out = append(out, o.refunds[i].json())
	}
	writePage(w, out, perPage, page)
}

// parseWooTime reads an ISO 8601 time as the REST API takes it: with a
// zone, or without one (then UTC, as with dates_are_gmt=true).
func parseWooTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not ISO 8601", v)
}
