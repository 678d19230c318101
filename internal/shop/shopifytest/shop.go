// Package shopifytest is a fake Shopify Admin GraphQL API for tests: an
// httptest TLS server that answers the orders query (cursor paging, sorted
// by update time, the 60-day window of readable orders), the webhook
// subscription query and mutations, with Shopify's cost-based throttle
// (THROTTLED errors answered with HTTP 200) and, on demand, 429 with
// Retry-After. Tests add orders and change them over time (paid later,
// refunded, cancelled), and break subscriptions (deleted, pointed elsewhere).
//
// It recognises the queries by their operation name and reads their
// variables; it does not parse GraphQL. It speaks the wire format only and
// does not import package shopify, so tests exercise the real client.
package shopifytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Token is the access token the fake accepts unless a test sets another.
const Token = "shpat_fake_admin_token"

// Window is how far back orders are readable without read_all_orders,
// counted from their creation.
const Window = 60 * 24 * time.Hour

// Request is one request to the GraphQL endpoint, whatever its answer.
type Request struct {
	Operation string // the operation name; empty when the request had none
	Version   string // the API version in the path
	Status    int    // the HTTP status answered
	Throttled bool   // answered with a THROTTLED error
	Cost      int    // points taken from the bucket
}

// Shop is a running fake shop. Its methods are safe for concurrent use.
type Shop struct {
	srv *httptest.Server

	mu       sync.Mutex
	token    string
	offset   time.Duration // added to the real clock: Advance moves time on
	readAll  bool
	bucket   bucket
	fail429  int
	retryIn  time.Duration
	failN    int
	failWith int
	requests []Request
	orders   map[int64]*Order
	nextID   int64
	subs     []*Subscription
	nextSub  int64
	cc       *clientCredentials
}

// New starts a fake shop, closed when the test ends. Its bucket holds 1000
// points and restores 50 points a second, as on a standard plan's GraphQL
// Admin API.
func New(t testing.TB) *Shop {
	s := &Shop{
		token:  Token,
		orders: map[int64]*Order{},
		nextID: 5000000000, // above 2^32, as real Shopify ids are
		bucket: bucket{max: 1000, restore: 50, available: 1000},
	}
	s.bucket.last = s.now()
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// Domain is the shop's host:port, what a client is given as its shop domain.
func (s *Shop) Domain() string { return s.srv.Listener.Addr().String() }

// URL is the shop's https base URL.
func (s *Shop) URL() string { return s.srv.URL }

// Client is an HTTP client that trusts the fake's certificate.
func (s *Shop) Client() *http.Client { return s.srv.Client() }

// Close stops the server; New already arranged it for the test's end.
func (s *Shop) Close() { s.srv.Close() }

// SetToken changes the access token the fake accepts.
func (s *Shop) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// Now is the fake's clock: the real time moved on by every Advance.
func (s *Shop) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Shop) now() time.Time { return time.Now().UTC().Add(s.offset) }

// Advance moves the fake's clock on by d: the bucket refills for d, and
// orders changed afterwards are updated later.
func (s *Shop) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// SetReadAllOrders gives the app the read_all_orders scope (on) or takes it
// away (off, the default): without it, orders created more than 60 days ago
// are not returned.
func (s *Shop) SetReadAllOrders(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readAll = on
}

// Answer429 makes the next n requests answer 429 Too Many Requests with a
// Retry-After of retryAfter (whole seconds, at least one).
func (s *Shop) Answer429(n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail429, s.retryIn = n, retryAfter
}

// Fail makes the next n requests answer status (a 502 from a proxy, a 503
// in an outage) with a short text body.
func (s *Shop) Fail(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failWith = n, status
}

// Requests returns every request answered so far.
func (s *Shop) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

var (
	graphQLPath   = regexp.MustCompile(`^/admin/api/([0-9]{4}-[0-9]{2}|unstable)/graphql\.json$`)
	operationName = regexp.MustCompile(`^\s*(?:query|mutation)\s+([A-Za-z_][A-Za-z0-9_]*)`)
)

type request struct {
	Query         string          `json:"query"`
	OperationName string          `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
}

// answer is what a handler of one operation returns: its data, or the
// errors of a query that could not run, and its cost.
type answer struct {
	data      any
	errors    []gqlError
	requested int
	actual    int
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func (s *Shop) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == tokenPath {
		s.serveToken(w, r)
		return
	}
	m := graphQLPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "reading body", http.StatusBadRequest)
		return
	}
	var req request
	_ = json.Unmarshal(body, &req) // a bad body is answered below as an unknown operation
	op := req.OperationName
	if op == "" {
		if om := operationName.FindStringSubmatch(req.Query); om != nil {
			op = om[1]
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	rec := Request{Operation: op, Version: m[1]}
	defer func() { s.requests = append(s.requests, rec) }()

	if !s.validToken(r.Header.Get("X-Shopify-Access-Token")) {
		rec.Status = http.StatusUnauthorized
		writeJSON(w, rec.Status, map[string]any{
			"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
		return
	}
	if s.failN > 0 {
		s.failN--
		rec.Status = s.failWith
		http.Error(w, http.StatusText(s.failWith), s.failWith)
		return
	}
	if s.fail429 > 0 {
		s.fail429--
		rec.Status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", fmt.Sprint(max(int(s.retryIn/time.Second), 1)))
		writeJSON(w, rec.Status, map[string]any{"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."})
		return
	}

	var a answer
	switch op {
	case "Orders":
		a = s.answerOrders(req)
	case "WebhookSubscriptions":
		a = s.answerSubscriptions(req)
	case "WebhookSubscriptionCreate":
		a = s.answerCreate(req)
	case "WebhookSubscriptionUpdate":
		a = s.answerUpdate(req)
	case "WebhookSubscriptionDelete":
		a = s.answerDelete(req)
	default:
		a = answer{errors: []gqlError{{Message: fmt.Sprintf("the fake shop does not know the operation %q", op)}}}
	}
	rec.Status = http.StatusOK

	now := s.now()
	s.bucket.refill(now)
	out := map[string]any{}
	cost := map[string]any{"requestedQueryCost": a.requested}
	switch {
	case a.errors != nil:
		out["errors"] = a.errors
	case a.requested > int(s.bucket.max):
		out["errors"] = []gqlError{{Message: fmt.Sprintf("Query cost is %d, which exceeds the single query max cost limit (%d).", a.requested, int(s.bucket.max)),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": a.requested, "maxCost": int(s.bucket.max)}}}
	case float64(a.requested) > s.bucket.available:
		rec.Throttled = true
		out["errors"] = []gqlError{{Message: "Throttled",
			Extensions: map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/limits#rate-limits"}}}
		cost["actualQueryCost"] = nil
	default:
		s.bucket.available -= float64(a.actual)
		rec.Cost = a.actual
		out["data"] = a.data
		cost["actualQueryCost"] = a.actual
	}
	cost["throttleStatus"] = map[string]any{
		"maximumAvailable":   s.bucket.max,
		"currentlyAvailable": int(s.bucket.available),
		"restoreRate":        s.bucket.restore,
	}
	out["extensions"] = map[string]any{"cost": cost}
	writeJSON(w, rec.Status, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// variables decodes a request's variables into v; false when they do not fit.
func variables(req request, v any) bool {
	if len(req.Variables) == 0 || strings.TrimSpace(string(req.Variables)) == "null" {
		return true
	}
	return json.Unmarshal(req.Variables, v) == nil
}

func queryError(format string, args ...any) answer {
	return answer{errors: []gqlError{{Message: fmt.Sprintf(format, args...)}}}
}
