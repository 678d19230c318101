// Package wootest is a fake WooCommerce REST API (wc/v3) for tests: an
// HTTPS httptest server that checks HTTP Basic auth with a consumer key and
// secret, lists orders with modified_after and page paging (and can behave
// like old versions that ignore modified_after), lists an order's refunds,
// manages webhooks, lets tests change orders and webhooks over time (pay,
// refund, cancel, disable after failures) and answers 429 with Retry-After.
//
// It speaks the wire format only and does not import package woo, so tests
// of woo and of the packages above it exercise the real client code.
package wootest

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// APIPath is where the WooCommerce REST API lives under the site URL.
const APIPath = "/wp-json/wc/v3"

// Request is one request the fake received, whatever its answer.
type Request struct {
	Method string
	Path   string // without the query
	Query  string // the raw query
	Status int    // the status the fake answered
}

// Shop is a running fake WooCommerce site. Its methods are safe for
// concurrent use. ConsumerKey and ConsumerSecret may be changed before the
// first request only.
type Shop struct {
	URL            string // https://127.0.0.1:port, the site URL
	ConsumerKey    string
	ConsumerSecret string

	srv *httptest.Server

	mu                  sync.Mutex
	now                 time.Time
	orders              map[int64]*order
	webhooks            map[int64]*webhook
	lastID              int64 // orders, items, refunds and webhooks share WordPress's post ids
	ignoreModifiedAfter bool
	ignoreOrderBy       bool
	after               func(Request)
	throttleN           int
	retryAfter          string
	requests            []Request
}

// New starts a fake site that stops when the test ends. It accepts consumer
// key "ck_test" with secret "cs_test", and its clock starts at
// 2026-12-01T10:00:00Z.
func New(t testing.TB) *Shop {
	s := &Shop{
		ConsumerKey:    "ck_test",
		ConsumerSecret: "cs_test",
		now:            time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC),
		orders:         map[int64]*order{},
		webhooks:       map[int64]*webhook{},
		lastID:         100,
		retryAfter:     "1",
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+APIPath+"/orders", s.handleOrders)
	mux.HandleFunc("GET "+APIPath+"/orders/{id}/refunds", s.handleRefunds)
	mux.HandleFunc("GET "+APIPath+"/webhooks", s.handleWebhooks)
	mux.HandleFunc("POST "+APIPath+"/webhooks", s.handleCreateWebhook)
	mux.HandleFunc("PUT "+APIPath+"/webhooks/{id}", s.handleUpdateWebhook)
	s.srv = httptest.NewTLSServer(s.front(mux))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Client returns an HTTP client that trusts the fake's certificate.
func (s *Shop) Client() *http.Client { return s.srv.Client() }

// Certificate returns the fake's self-signed certificate, for clients built
// elsewhere (add it to a pool of roots).
func (s *Shop) Certificate() *x509.Certificate { return s.srv.Certificate() }

// Now returns the fake's clock, which moves only with Advance.
func (s *Shop) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the fake's clock; changes made afterwards are dated then.
func (s *Shop) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// SetIgnoreModifiedAfter makes order lists ignore modified_after, as
// WooCommerce versions before the parameter existed do.
func (s *Shop) SetIgnoreModifiedAfter(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreModifiedAfter = ignore
}

// SetIgnoreOrderBy makes order lists ignore orderby and order and list
// the newest orders first, as some sites' plugins make them do; orders
// created while a client pages then push others onto the next page.
func (s *Shop) SetIgnoreOrderBy(ignore bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ignoreOrderBy = ignore
}

// SetAfter installs a hook run after each request is answered, before the
// client can read the end of the answer, with the fake unlocked: a test
// can change the site between two pages. A nil f removes it.
func (s *Shop) SetAfter(f func(Request)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.after = f
}

// Throttle makes the next n authenticated requests answer 429 with the
// given Retry-After header value ("" for none).
func (s *Shop) Throttle(n int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttleN, s.retryAfter = n, retryAfter
}

// Requests returns every request so far, in order.
func (s *Shop) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// front records requests, checks the consumer key and secret, and answers
// throttled requests, before the API proper.
func (s *Shop) front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: rec.status}
			s.mu.Lock()
			s.requests = append(s.requests, req)
			after := s.after
			s.mu.Unlock()
			if after != nil {
				after(req)
			}
		}()
		key, secret, ok := r.BasicAuth()
		if !ok || key != s.ConsumerKey || secret != s.ConsumerSecret {
			writeError(rec, http.StatusUnauthorized, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
			return
		}
		s.mu.Lock()
		throttled, retryAfter := s.throttleN > 0, s.retryAfter
		if throttled {
			s.throttleN--
		}
		s.mu.Unlock()
		if throttled {
			if retryAfter != "" {
				rec.Header().Set("Retry-After", retryAfter)
			}
			writeError(rec, http.StatusTooManyRequests, "too_many_requests", "Too many requests.")
			return
		}
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// writeError answers a WordPress REST error.
func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"code": code, "message": message, "data": map[string]int{"status": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// paging reads per_page (1 to 100, default 10) and page (default 1) as
// WordPress does; ok is false when it answered 400.
func paging(w http.ResponseWriter, r *http.Request) (perPage, page int, ok bool) {
	perPage, page = 10, 1
	for name, dst := range map[string]*int{"per_page": &perPage, "page": &page} {
		v := r.URL.Query().Get(name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (name == "per_page" && n > 100) {
			writeError(w, http.StatusBadRequest, "rest_invalid_param", fmt.Sprintf("Invalid parameter(s): %s", name))
			return 0, 0, false
		}
		*dst = n
	}
	return perPage, page, true
}

// writePage answers one page of items with X-WP-Total and X-WP-TotalPages.
func writePage[T any](w http.ResponseWriter, items []T, perPage, page int) {
	total := len(items)
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa((total+perPage-1)/perPage))
	start := min((page-1)*perPage, total)
	end := min(start+perPage, total)
	writeJSON(w, http.StatusOK, items[start:end])
}

// wooTime formats a time as WooCommerce's *_gmt fields do; zero is null.
func wooTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05")
}
