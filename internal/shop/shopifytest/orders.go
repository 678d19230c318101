package shopifytest

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Order is an order of the fake shop.
type Order struct {
	ID            int64 // the legacy resource id, as in webhooks; New assigns one when 0
	Email         string
	CustomerEmail string // empty: no customer
	// FinancialStatus is the GraphQL displayFinancialStatus: PAID (the
	// default), PENDING, AUTHORIZED, PARTIALLY_REFUNDED, REFUNDED, ...
	FinancialStatus string
	CreatedAt       time.Time // the fake's Now when zero
	UpdatedAt       time.Time // CreatedAt when zero
	CancelledAt     time.Time // zero: not cancelled
	Lines           []Line
	Refunds         []Refund
}

// Line is one line item.
type Line struct {
	ID       int64 // assigned when 0
	SKU      string
	Quantity int // 1 when 0
	// Learners are the line's custom attributes named email, one each.
	Learners []string
}

// Refund is one refund of an order.
type Refund struct {
	ID        int64
	CreatedAt time.Time
	Lines     []RefundLine
}

// RefundLine is the refunded quantity of one line item.
type RefundLine struct {
	LineItemID int64
	Quantity   int
}

// AddOrder adds an order and returns it with its ids and times filled in.
func (s *Shop) AddOrder(o Order) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.ID == 0 {
		o.ID = s.newID()
	}
	if o.CreatedAt.IsZero() {
		o.CreatedAt = s.now()
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	if o.FinancialStatus == "" {
		o.FinancialStatus = "PAID"
	}
	o.Lines = slices.Clone(o.Lines)
	for i := range o.Lines {
		if o.Lines[i].ID == 0 {
			o.Lines[i].ID = s.newID()
		}
		if o.Lines[i].Quantity == 0 {
			o.Lines[i].Quantity = 1
		}
		o.Lines[i].Learners = slices.Clone(o.Lines[i].Learners)
	}
	o.Refunds = slices.Clone(o.Refunds)
	stored := o
	s.orders[o.ID] = &stored
	return clone(stored)
}

func (s *Shop) newID() int64 {
	s.nextID++
	return s.nextID
}

func clone(o Order) Order {
	o.Lines = slices.Clone(o.Lines)
	for i := range o.Lines {
		o.Lines[i].Learners = slices.Clone(o.Lines[i].Learners)
	}
	o.Refunds = slices.Clone(o.Refunds)
	for i := range o.Refunds {
		o.Refunds[i].Lines = slices.Clone(o.Refunds[i].Lines)
	}
	return o
}

// Order returns the order with id id.
func (s *Shop) Order(id int64) (Order, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		return Order{}, false
	}
	return clone(*o), true
}

// Orders returns every order, oldest update first.
func (s *Shop) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Order
	for _, o := range s.sorted() {
		out = append(out, clone(*o))
	}
	return out
}

// Update changes an order with change and moves its updatedAt to the
// fake's Now, as any change does in Shopify. It panics on an unknown id, a
// mistake of the test.
func (s *Shop) Update(id int64, change func(*Order)) Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[id]
	if !ok {
		panic(fmt.Sprintf("shopifytest: no order %d", id))
	}
	change(o)
	o.UpdatedAt = s.now()
	return clone(*o)
}

// Pay marks an order paid (it was pending: paid later).
func (s *Shop) Pay(id int64) Order {
	return s.Update(id, func(o *Order) { o.FinancialStatus = "PAID" })
}

// Cancel cancels an order.
func (s *Shop) Cancel(id int64) Order {
	now := s.Now()
	return s.Update(id, func(o *Order) { o.CancelledAt = now })
}

// RefundLines refunds the given lines of an order (every seat of every line
// when none are given) and returns the refund. The order's status becomes
// REFUNDED when every seat is refunded, PARTIALLY_REFUNDED otherwise.
func (s *Shop) RefundLines(id int64, lines ...RefundLine) Refund {
	now := s.Now()
	var refund Refund
	s.mu.Lock()
	refund.ID = s.newID()
	s.mu.Unlock()
	refund.CreatedAt = now
	s.Update(id, func(o *Order) {
		if len(lines) == 0 {
			for _, l := range o.Lines {
				lines = append(lines, RefundLine{LineItemID: l.ID, Quantity: l.Quantity})
			}
		}
		refund.Lines = slices.Clone(lines)
		o.Refunds = append(o.Refunds, refund)
		o.FinancialStatus = "REFUNDED"
		refunded := map[int64]int{}
		for _, r := range o.Refunds {
			for _, l := range r.Lines {
				refunded[l.LineItemID] += l.Quantity
			}
		}
		for _, l := range o.Lines {
			if refunded[l.ID] < l.Quantity {
				o.FinancialStatus = "PARTIALLY_REFUNDED"
			}
		}
	})
	return refund
}

// sorted returns the orders in the order of sortKey UPDATED_AT (ties by id).
func (s *Shop) sorted() []*Order {
	list := make([]*Order, 0, len(s.orders))
	for _, o := range s.orders {
		list = append(list, o)
	}
	slices.SortFunc(list, func(a, b *Order) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.ID, b.ID))
	})
	return list
}

// updatedSince reads the one filter the client sends: updated_at:>='<time>'.
var updatedSince = regexp.MustCompile(`^\s*updated_at:>=\s*['"]?([^'"\s]+)['"]?\s*$`)

func (s *Shop) answerOrders(req request) answer {
	var v struct {
		First *int    `json:"first"`
		After *string `json:"after"`
		Query *string `json:"query"`
	}
	if !variables(req, &v) {
		return queryError("Variables do not fit the Orders query")
	}
	if !strings.Contains(req.Query, "sortKey: UPDATED_AT") {
		return queryError("the fake shop answers orders sorted by UPDATED_AT only")
	}
	if v.First == nil || *v.First < 1 || *v.First > 250 {
		return queryError("first must be between 1 and 250")
	}
	var since time.Time
	if v.Query != nil && *v.Query != "" {
		m := updatedSince.FindStringSubmatch(*v.Query)
		if m == nil {
			return queryError("the fake shop understands the search query updated_at:>='<time>' only, not %q", *v.Query)
		}
		t, err := time.Parse(time.RFC3339, m[1])
		if err != nil {
			return queryError("updated_at %q is not an RFC 3339 time", m[1])
		}
		since = t
	}
	var after cursor
	if v.After != nil {
		c, ok := parseCursor(*v.After)
		if !ok {
			return queryError("Invalid cursor for current pagination.")
		}
		after = c
	}
	oldest := s.now().Add(-Window)
	var nodes []map[string]any
	hasNext := false
	var last cursor
	for _, o := range s.sorted() {
		if o.UpdatedAt.Before(since) || (!s.readAll && o.CreatedAt.Before(oldest)) {
			continue
		}
		c := cursor{o.UpdatedAt, o.ID}
		if v.After != nil && !c.after(after) {
			continue
		}
		if len(nodes) == *v.First {
			hasNext = true
			break
		}
		nodes = append(nodes, orderNode(o))
		last = c
	}
	pageInfo := map[string]any{"hasNextPage": hasNext, "endCursor": nil}
	if len(nodes) > 0 {
		pageInfo["endCursor"] = last.String()
	}
	if nodes == nil {
		nodes = []map[string]any{}
	}
	return answer{
		data:      map[string]any{"orders": map[string]any{"pageInfo": pageInfo, "nodes": nodes}},
		requested: ordersCost(*v.First),
		actual:    ordersCost(len(nodes)),
	}
}

// cursor is the position of an order in UPDATED_AT order.
type cursor struct {
	at time.Time
	id int64
}

func (c cursor) after(d cursor) bool {
	return c.at.After(d.at) || (c.at.Equal(d.at) && c.id > d.id)
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%d", c.at.UnixNano(), c.id))
}

func parseCursor(s string) (cursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, false
	}
	at, id, ok := strings.Cut(string(b), ":")
	if !ok {
		return cursor{}, false
	}
	ns, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil {
		return cursor{}, false
	}
	return cursor{time.Unix(0, ns).UTC(), n}, true
}

func gid(kind string, id int64) string { return fmt.Sprintf("gid://shopify/%s/%d", kind, id) }

func timeValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// orderNode is an order as the orders connection returns it.
func orderNode(o *Order) map[string]any {
	lines := make([]map[string]any, 0, len(o.Lines))
	for _, l := range o.Lines {
		attrs := make([]map[string]any, 0, len(l.Learners))
		for _, email := range l.Learners {
			attrs = append(attrs, map[string]any{"key": "email", "value": email})
		}
		lines = append(lines, map[string]any{"id": gid("LineItem", l.ID), "sku": l.SKU, "quantity": l.Quantity,
			"customAttributes": attrs})
	}
	refunds := make([]map[string]any, 0, len(o.Refunds))
	for _, r := range o.Refunds {
		rl := make([]map[string]any, 0, len(r.Lines))
		for _, l := range r.Lines {
			rl = append(rl, map[string]any{"lineItem": map[string]any{"id": gid("LineItem", l.LineItemID)}, "quantity": l.Quantity})
		}
		refunds = append(refunds, map[string]any{"id": gid("Refund", r.ID), "createdAt": timeValue(r.CreatedAt),
			"refundLineItems": map[string]any{"nodes": rl}})
	}
	var customer any
	if o.CustomerEmail != "" {
		customer = map[string]any{"email": o.CustomerEmail}
	}
	return map[string]any{
		"id":                     gid("Order", o.ID),
		"legacyResourceId":       strconv.FormatInt(o.ID, 10),
		"createdAt":              timeValue(o.CreatedAt),
		"updatedAt":              timeValue(o.UpdatedAt),
		"displayFinancialStatus": o.FinancialStatus,
		"cancelledAt":            timeValue(o.CancelledAt),
		"email":                  o.Email,
		"customer":               customer,
		"lineItems":              map[string]any{"nodes": lines},
		"refunds":                refunds,
	}
}
