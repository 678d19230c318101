package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

const pageSize = 50

type window struct {
	Label string
	Stats store.Stats
}

type lmsState struct {
	Known bool
	// State is "up" (the LMS answered below 500), "erroring" (5xx),
	// "down" (no answer: network error or timeout) or "" when the last
	// attempt tells nothing about the LMS (say, an item with no email).
	State string
	Last  store.AttemptRecord
}

func lmsStateOf(last store.AttemptRecord, ok bool) lmsState {
	s := lmsState{Known: ok, Last: last}
	switch {
	case !ok:
	case last.HTTPStatus >= 500:
		s.State = "erroring"
	case last.HTTPStatus > 0:
		s.State = "up"
	case last.Outcome == enroll.OutcomeRetry:
		s.State = "down"
	}
	return s
}

type dashboard struct {
	Windows   []window
	Backlog   store.Backlog
	OldestAge time.Duration
	LMS       lmsState
	// DataRequests are the privacy data requests waiting for an answer.
	DataRequests int
	Shops        shopAlarms
}

func (c *console) handleDashboard() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, now := r.Context(), c.Now()
		var d dashboard
		for _, win := range []struct {
			label string
			since time.Duration
		}{{"Last 24 hours", 24 * time.Hour}, {"Last 7 days", 7 * 24 * time.Hour}} {
			s, err := c.DB.Stats(ctx, now.Add(-win.since))
			if err != nil {
				c.fail(w, r, http.StatusInternalServerError, err)
				return
			}
			d.Windows = append(d.Windows, window{win.label, s})
		}
		var err error
		if d.Backlog, err = c.DB.Backlog(ctx); err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		if !d.Backlog.Oldest.IsZero() {
			d.OldestAge = now.Sub(d.Backlog.Oldest)
		}
		last, ok, err := c.DB.LastAttempt(ctx)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		d.LMS = lmsStateOf(last, ok)
		if d.DataRequests, err = c.DB.PendingDataRequests(ctx); err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		if d.Shops, err = c.shopAlarms(ctx, now); err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		c.render(w, r, http.StatusOK, "dashboard", d)
	})
}

type ordersPage struct {
	Query   url.Values
	Filter  store.OrderFilter
	Orders  []store.OrderRecord
	Next    string
	Heading string
}

// Statuses are those the status filter offers: every item status, then
// every order status, as enroll lists them.
func (ordersPage) Statuses() []string {
	var out []string
	for _, s := range enroll.ItemStatuses() {
		out = append(out, string(s))
	}
	for _, s := range enroll.OrderStatuses() {
		out = append(out, string(s))
	}
	return out
}

// StatusDescription is an item status with what it means.
type StatusDescription struct {
	Status enroll.ItemStatus
	Text   string
}

// StatusDescriptions explain every item status, as enroll describes them.
func (ordersPage) StatusDescriptions() []StatusDescription {
	var out []StatusDescription
	for _, s := range enroll.ItemStatuses() {
		out = append(out, StatusDescription{s, s.Describe()})
	}
	return out
}

// Filtered tells whether a search narrows the orders: "Retry all failed"
// is offered where ops would take it (ops.HasFilter), never for every
// order there is.
func (p ordersPage) Filtered() bool { return ops.HasFilter(p.Filter) }

func (c *console) handleOrders() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f, err := orderFilter(q, c.Now())
		if err != nil {
			c.fail(w, r, http.StatusBadRequest, err)
			return
		}
		if b := q.Get("before"); b != "" {
			if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before <= 0 {
				c.fail(w, r, http.StatusBadRequest, errors.New("before must be a positive order number"))
				return
			}
		}
		f.Limit = pageSize
		orders, next, err := c.DB.ListOrders(r.Context(), f)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		p := ordersPage{Query: q, Filter: f, Orders: orders, Heading: "Orders"}
		if next != 0 {
			p.Next = withQuery("/admin/orders", q, "before", strconv.FormatInt(next, 10))
		}
		c.render(w, r, http.StatusOK, "orders", p)
	})
}

// orderFilter reads the filter fields shared by the orders page and the
// "Retry all failed" action.
func orderFilter(q url.Values, now time.Time) (store.OrderFilter, error) {
	f := store.OrderFilter{
		Query:    strings.TrimSpace(q.Get("q")),
		Status:   q.Get("status"),
		Platform: enroll.Platform(q.Get("platform")),
		Source:   strings.TrimSpace(q.Get("source")),
	}
	if f.Status != "" && !enroll.ItemStatus(f.Status).Valid() && !enroll.OrderStatus(f.Status).Valid() {
		return f, fmt.Errorf("unknown status %q", f.Status)
	}
	var err error
	if f.Since, err = ops.ParseTime(q.Get("since"), now, false); err != nil {
		return f, fmt.Errorf("from: %w", err)
	}
	if f.Until, err = ops.ParseTime(q.Get("until"), now, true); err != nil {
		return f, fmt.Errorf("to: %w", err)
	}
	return f, nil
}

type itemView struct {
	store.ItemRecord
	Attempts []store.AttemptRecord
	// Seats are those of the item's line.
	Seats enroll.Seats
}

// CanRetry tells whether ops.Retry takes the item.
func (v itemView) CanRetry() bool { return v.Status.Retryable() }

// CanResolve tells whether ops.Resolve takes the item (unless a job is
// enrolling it at that very moment).
func (v itemView) CanResolve() bool { return v.Status.Resolvable() }

type orderPage struct {
	store.OrderDetail
	Items  []itemView
	Failed []int64
	Path   string
	// Lines are shown when one of them bought more than one seat.
	Lines []store.Line
}

// Ignored says how many deliveries of the order changed nothing: "2 stale
// snapshots, 1 duplicate delivery"; "" for none.
func (p orderPage) Ignored() string {
	var parts []string
	if n := p.StaleSnapshots(); n > 0 {
		parts = append(parts, plural(n, "stale snapshot"))
	}
	switch n := p.Duplicates(); {
	case n == 1:
		parts = append(parts, "1 duplicate delivery")
	case n > 1:
		parts = append(parts, fmt.Sprintf("%d duplicate deliveries", n))
	}
	return strings.Join(parts, ", ")
}

func (c *console) handleOrder() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ext, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			c.fail(w, r, http.StatusNotFound, fmt.Errorf("%q is not an order number", r.PathValue("id")))
			return
		}
		found, err := c.DB.OrdersByExternalID(r.Context(), ext)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		found = ops.OrdersOfShop(found, enroll.Platform(r.URL.Query().Get("platform")), r.URL.Query().Get("source"))
		switch len(found) {
		case 0:
			c.fail(w, r, http.StatusNotFound, fmt.Errorf("no order %d", ext))
			return
		case 1:
		default:
			// The same number in several shops: let the operator pick.
			q := url.Values{"q": {strconv.FormatInt(ext, 10)}}
			c.render(w, r, http.StatusOK, "orders", ordersPage{Query: q, Filter: store.OrderFilter{Query: q.Get("q")}, Orders: found,
				Heading: fmt.Sprintf("Order %d exists in %d shops", ext, len(found))})
			return
		}
		detail, err := c.DB.OrderDetail(r.Context(), found[0].ID)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		p := orderPage{OrderDetail: detail, Failed: ops.FailedItems(detail.OrderRecord), Path: r.URL.RequestURI()}
		seats := detail.SeatsByItem()
		for _, it := range detail.Items {
			p.Items = append(p.Items, itemView{it, detail.Attempts[it.ID], seats[it.ID]})
		}
		lines := detail.Lines()
		if slices.ContainsFunc(lines, func(l store.Line) bool { return l.Seats.Quantity > 1 }) {
			p.Lines = lines
		}
		c.render(w, r, http.StatusOK, "order", p)
	})
}

// orderURL is the order page's address; the shop is named when needed.
func orderURL(o store.OrderRecord) string {
	return fmt.Sprintf("/admin/orders/%d?platform=%s&source=%s", o.ExternalID,
		url.QueryEscape(string(o.Platform)), url.QueryEscape(o.Source))
}

type deliveriesPage struct {
	Rejected   bool
	Deliveries []store.DeliveryRecord
	Next       string
}

func (c *console) handleDeliveries() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := store.DeliveryFilter{Rejected: q.Get("rejected") == "1", Limit: pageSize}
		if b := q.Get("before"); b != "" {
			var err error
			if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before <= 0 {
				c.fail(w, r, http.StatusBadRequest, errors.New("before must be a positive delivery number"))
				return
			}
		}
		ds, next, err := c.DB.ListDeliveries(r.Context(), f)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		p := deliveriesPage{Rejected: f.Rejected, Deliveries: ds}
		if next != 0 {
			p.Next = withQuery("/admin/deliveries", q, "before", strconv.FormatInt(next, 10))
		}
		c.render(w, r, http.StatusOK, "deliveries", p)
	})
}
