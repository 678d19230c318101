package admin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Privacy requests: Shopify's compliance webhooks and redactions by hand;
// a data request's export, to send to the shop, and marking it answered.

type privacyPage struct {
	Pending  bool
	Requests []store.PrivacyRequest
	Next     string
}

func (c *console) handlePrivacy() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f := store.PrivacyFilter{Pending: q.Get("pending") == "1", Limit: pageSize}
		if b := q.Get("before"); b != "" {
			var err error
			if f.Before, err = strconv.ParseInt(b, 10, 64); err != nil || f.Before <= 0 {
				c.fail(w, r, http.StatusBadRequest, errors.New("before must be a positive request number"))
				return
			}
		}
		rs, next, err := c.DB.ListPrivacyRequests(r.Context(), f)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		p := privacyPage{Pending: f.Pending, Requests: rs}
		if next != 0 {
			p.Next = withQuery("/admin/privacy", q, "before", strconv.FormatInt(next, 10))
		}
		c.render(w, r, http.StatusOK, "privacy", p)
	})
}

type privacyRequestPage struct {
	Request store.PrivacyRequest
	// Export is what is stored about the request's email, as JSON; empty
	// when the request has no email (a redaction, or one redacted since).
	Export string
	Path   string
}

// privacyRequest loads the request the path names, and the export of its
// email.
func (c *console) privacyRequest(w http.ResponseWriter, r *http.Request) (store.PrivacyRequest, *store.Export, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		c.fail(w, r, http.StatusNotFound, fmt.Errorf("%q is not a privacy request number", r.PathValue("id")))
		return store.PrivacyRequest{}, nil, false
	}
	req, err := c.DB.PrivacyRequest(r.Context(), id)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, enroll.ErrNotFound) {
			status = http.StatusNotFound
		}
		c.fail(w, r, status, err)
		return store.PrivacyRequest{}, nil, false
	}
	if req.Email == "" {
		return req, nil, true
	}
	x, err := c.Ops.Export(r.Context(), req.Email)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, err)
		return store.PrivacyRequest{}, nil, false
	}
	return req, &x, true
}

func (c *console) handlePrivacyRequest() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, x, ok := c.privacyRequest(w, r)
		if !ok {
			return
		}
		p := privacyRequestPage{Request: req, Path: r.URL.RequestURI()}
		if x != nil {
			b, err := json.MarshalIndent(x, "", "  ")
			if err != nil {
				c.fail(w, r, http.StatusInternalServerError, err)
				return
			}
			p.Export = string(b)
		}
		c.render(w, r, http.StatusOK, "privacy_request", p)
	})
}

// handlePrivacyExport serves a data request's export as a JSON file.
func (c *console) handlePrivacyExport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, x, ok := c.privacyRequest(w, r)
		if !ok {
			return
		}
		if x == nil {
			c.fail(w, r, http.StatusNotFound, fmt.Errorf("privacy request %d names no email to export", req.ID))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="privacy-request-%d.json"`, req.ID))
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(x); err != nil {
			c.Logger.Warn("privacy export not sent whole", "request_id", req.ID, "error", err)
		}
	})
}

func (c *console) handleAnswer() http.Handler {
	return c.action(func(r *http.Request) (done, error) {
		ids, err := formIDs(r, "request_id")
		if err != nil {
			return done{}, err
		}
		if err := c.Ops.AnswerDataRequest(r.Context(), user(r), ids[0], r.PostFormValue("note")); err != nil {
			return done{}, err
		}
		return done{kind: "answered", n: 1}, nil
	})
}
