package admin

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
)

// Actions are POST forms that come back (303) to the page they were sent
// from, which then says what was done. Each is recorded in the database
// with the operator's name.

// done is what an action did, carried to the page it returns to as query
// parameters: that page builds its sentence from them, so a link cannot
// make the console say anything else.
type done struct {
	kind     string // retried, retried-failed, resolved, replayed, reconcile-queued
	n        int
	delivery int64
	shop     string // the shop or site a reconciliation was queued for
}

func (d done) query(q url.Values) {
	q.Set("done", d.kind)
	q.Set("n", strconv.Itoa(d.n))
	if d.delivery != 0 {
		q.Set("delivery", strconv.FormatInt(d.delivery, 10))
	}
	if d.shop != "" {
		q.Set("shop", d.shop)
	}
}

// flash is the sentence for the action a page's query says was done; ""
// for none. A shop is named only when it is a configured one.
func (c *console) flash(q url.Values) string {
	n, _ := strconv.Atoi(q.Get("n"))
	delivery, _ := strconv.ParseInt(q.Get("delivery"), 10, 64)
	switch q.Get("done") {
	case "retried":
		return plural(n, "item") + " queued for enrollment now."
	case "retried-failed":
		return plural(n, "failed item") + " queued for enrollment now."
	case "resolved":
		return plural(n, "item") + " marked resolved."
	case "answered":
		return "Data request marked answered."
	case "replayed":
		return fmt.Sprintf("Delivery %d replayed: %s queued.", delivery, plural(n, "item"))
	case "reconcile-queued":
		if shop := c.configuredName(q.Get("shop")); shop != "" {
			return "Reconciliation of " + shop + " queued."
		}
	}
	return ""
}

func (c *console) handleRetry() http.Handler {
	return c.action(func(r *http.Request) (done, error) {
		ids, err := formIDs(r, "item_id")
		if err != nil {
			return done{}, err
		}
		retried, err := c.Ops.Retry(r.Context(), user(r), ids...)
		if err != nil {
			return done{}, err
		}
		return done{kind: "retried", n: len(retried)}, nil
	})
}

func (c *console) handleRetryFailed() http.Handler {
	return c.action(func(r *http.Request) (done, error) {
		f, err := orderFilter(r.PostForm, c.Now())
		if err != nil {
			return done{}, badRequest{err}
		}
		retried, err := c.Ops.RetryFailed(r.Context(), user(r), f)
		if err != nil {
			return done{}, err
		}
		return done{kind: "retried-failed", n: len(retried)}, nil
	})
}

func (c *console) handleResolve() http.Handler {
	return c.action(func(r *http.Request) (done, error) {
		ids, err := formIDs(r, "item_id")
		if err != nil {
			return done{}, err
		}
		note := strings.TrimSpace(r.PostFormValue("note"))
		if note == "" {
			return done{}, badRequest{errors.New("say in the note how the item was resolved")}
		}
		for _, id := range ids {
			if err := c.Ops.Resolve(r.Context(), user(r), id, note); err != nil {
				return done{}, err
			}
		}
		return done{kind: "resolved", n: len(ids)}, nil
	})
}

func (c *console) handleReplay() http.Handler {
	return c.action(func(r *http.Request) (done, error) {
		ids, err := formIDs(r, "delivery_id")
		if err != nil {
			return done{}, err
		}
		res, err := c.Ops.Replay(r.Context(), user(r), ids[0])
		if err != nil {
			return done{}, err
		}
		return done{kind: "replayed", n: len(res.Enqueued), delivery: ids[0]}, nil
	})
}

// badRequest marks an error that is the operator's to fix.
type badRequest struct{ error }

// action runs do and sends the operator back to the form's page.
func (c *console) action(do func(r *http.Request) (done, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, http.StatusBadRequest, errors.New("the form could not be read"))
			return
		}
		d, err := do(r)
		var bad badRequest
		var refusal *ops.Refusal
		switch {
		case errors.As(err, &bad):
			c.fail(w, r, http.StatusBadRequest, bad.error)
			return
		case errors.Is(err, ops.ErrNoFilter):
			c.fail(w, r, http.StatusBadRequest, errors.New("search first: Retry all failed takes the failed items of the orders a search finds"))
			return
		case errors.Is(err, enroll.ErrNotFound):
			c.fail(w, r, http.StatusNotFound, err)
			return
		case errors.As(err, &refusal):
			c.fail(w, r, http.StatusUnprocessableEntity, err)
			return
		case errors.Is(err, enroll.ErrConflict):
			c.fail(w, r, http.StatusConflict, err)
			return
		case err != nil:
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		c.Logger.Info("admin action", "user", user(r), "action", d.kind, "count", d.n,
			"item_ids", r.PostForm["item_id"], "delivery_id", r.PostFormValue("delivery_id"), "shop", d.shop)
		http.Redirect(w, r, backTo(r.PostFormValue("back"), d), http.StatusSeeOther)
	})
}

// backTo is the console page an action returns to: the form's back field
// when it is a console page, else the dashboard, with what was done.
func backTo(back string, d done) string {
	u, err := url.Parse(safeNext(back))
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/admin/") {
		u = &url.URL{Path: "/admin/"}
	}
	u.Fragment, u.RawFragment = "", ""
	q := u.Query()
	d.query(q)
	u.RawQuery = q.Encode()
	return u.String()
}

// formIDs reads one or more positive ids from a form field.
func formIDs(r *http.Request, field string) ([]int64, error) {
	var ids []int64
	for _, v := range r.PostForm[field] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return nil, badRequest{fmt.Errorf("%s %q is not a positive number", field, v)}
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, badRequest{fmt.Errorf("no %s given", field)}
	}
	return ids, nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
