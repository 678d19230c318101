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
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Actions are POST forms that come back (303) to the page they were sent
// from, with a sentence saying what was done. Each is recorded in the
// database with the operator's name.

func (c *console) handleRetry() http.Handler {
	return c.action(func(r *http.Request) (string, error) {
		ids, err := formIDs(r, "item_id")
		if err != nil {
			return "", err
		}
		retried, err := c.Ops.Retry(r.Context(), user(r), ids...)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s queued for enrollment now.", plural(len(retried), "item")), nil
	})
}

func (c *console) handleRetryFailed() http.Handler {
	return c.action(func(r *http.Request) (string, error) {
		f, err := orderFilter(r.PostForm, c.Now())
		if err != nil {
			return "", badRequest{err}
		}
		f.Status = ""
		retried, err := c.Ops.RetryFailed(r.Context(), user(r), f)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s queued for enrollment now.", plural(len(retried), "failed item")), nil
	})
}

func (c *console) handleResolve() http.Handler {
	return c.action(func(r *http.Request) (string, error) {
		ids, err := formIDs(r, "item_id")
		if err != nil {
			return "", err
		}
		note := strings.TrimSpace(r.PostFormValue("note"))
		if note == "" {
			return "", badRequest{errors.New("say in the note how the item was resolved")}
		}
		for _, id := range ids {
			if err := c.Ops.Resolve(r.Context(), user(r), id, note); err != nil {
				return "", err
			}
		}
		return fmt.Sprintf("%s marked resolved.", plural(len(ids), "item")), nil
	})
}

func (c *console) handleReplay() http.Handler {
	return c.action(func(r *http.Request) (string, error) {
		ids, err := formIDs(r, "delivery_id")
		if err != nil {
			return "", err
		}
		res, err := c.Ops.Replay(r.Context(), user(r), ids[0])
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Delivery %d replayed: %s queued.", ids[0], plural(len(res.Enqueued), "item")), nil
	})
}

// badRequest marks an error that is the operator's to fix.
type badRequest struct{ error }

// action runs do and sends the operator back to the form's page.
func (c *console) action(do func(r *http.Request) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, http.StatusBadRequest, errors.New("the form could not be read"))
			return
		}
		done, err := do(r)
		var bad badRequest
		var refusal *ops.Refusal
		switch {
		case errors.As(err, &bad):
			c.fail(w, r, http.StatusBadRequest, bad.error)
			return
		case errors.Is(err, enroll.ErrNotFound):
			c.fail(w, r, http.StatusNotFound, err)
			return
		case errors.As(err, &refusal):
			c.fail(w, r, http.StatusUnprocessableEntity, err)
			return
		case errors.Is(err, store.ErrConflict):
			c.fail(w, r, http.StatusConflict, err)
			return
		case err != nil:
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		c.Logger.Info("admin action", "user", user(r), "path", r.URL.Path, "result", done)
		back, _ := url.Parse(safeNext(r.PostFormValue("back")))
		q := back.Query()
		q.Set("done", done)
		back.RawQuery = q.Encode()
		http.Redirect(w, r, back.String(), http.StatusSeeOther)
	})
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
