// Package shopify is a client of Shopify's Admin GraphQL API for what the
// receiver needs from a shop besides its webhooks: the orders updated in a
// window, read as the webhook parser reads them (for reconciliation), and
// the shop's webhook subscriptions (to create and repair them). It respects
// Shopify's cost-based throttle and its 429s, and knows nothing of the
// store, the jobs or the command line.
package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultAPIVersion is the Admin API version used when none is configured.
// Shopify releases a dated stable version each quarter (YYYY-01, -04, -07,
// -10) and supports each for at least twelve months.
const DefaultAPIVersion = "2026-10"

// Options configure a Client. Domain is required; the rest have defaults.
type Options struct {
	// Domain is the shop's domain (shop.myshopify.com, or host:port for a
	// test server); the API is always reached over HTTPS.
	Domain string
	// Token is the Admin API access token (X-Shopify-Access-Token).
	Token string
	// ClientID and ClientSecret, when Token is empty, are those of an app
	// from the Dev Dashboard: the client asks the shop for a token by the
	// client-credentials grant, keeps it, and asks again before it expires.
	ClientID     string
	ClientSecret string
	// APIVersion is a dated Admin API version; DefaultAPIVersion when empty.
	APIVersion string
	// HTTPClient sends the requests; a client with a 30-second timeout when nil.
	HTTPClient *http.Client
	// PageSize is the orders asked for per page: 1 to 250, 50 when 0.
	PageSize int
	// MaxAttempts bounds the tries of one request through throttling, 429s,
	// 5xx answers and network errors: 10 when 0.
	MaxAttempts int
	// ReadAllOrders says the app has the read_all_orders scope: Orders then
	// reads back further than Shopify's 60 days.
	ReadAllOrders bool
	// Now is the clock that places the 60-day window; time.Now when nil.
	Now func() time.Time
	// Sleep waits d or until ctx ends (throttling, Retry-After, backoff); a
	// timer when nil. Tests give one that moves a fake shop's clock instead.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client talks to one shop's Admin GraphQL API.
type Client struct {
	domain      string
	endpoint    string
	token       string
	grant       *grant // nil with a configured token
	http        *http.Client
	pageSize    int
	maxAttempts int
	readAll     bool
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error
}

// Endpoint is the Admin GraphQL API's URL, of the client's API version.
func (c *Client) Endpoint() string { return c.endpoint }

// New returns a client for the shop opts name.
func New(opts Options) (*Client, error) {
	domain := strings.TrimSpace(opts.Domain)
	if domain == "" || strings.ContainsAny(domain, "/?#@ ") {
		return nil, fmt.Errorf("shopify domain %q: want a host such as shop.myshopify.com", opts.Domain)
	}
	version := cmpOr(opts.APIVersion, DefaultAPIVersion)
	if !validVersion(version) {
		return nil, fmt.Errorf("shopify api version %q: want a dated version such as %s", version, DefaultAPIVersion)
	}
	if opts.PageSize < 0 || opts.PageSize > 250 {
		return nil, fmt.Errorf("shopify page size %d: want 1 to 250", opts.PageSize)
	}
	c := &Client{
		domain:      domain,
		endpoint:    (&url.URL{Scheme: "https", Host: domain, Path: "/admin/api/" + version + "/graphql.json"}).String(),
		token:       opts.Token,
		http:        opts.HTTPClient,
		pageSize:    opts.PageSize,
		maxAttempts: opts.MaxAttempts,
		readAll:     opts.ReadAllOrders,
		now:         opts.Now,
		sleep:       opts.Sleep,
	}
	if c.token == "" && opts.ClientID != "" {
		c.grant = &grant{id: opts.ClientID, secret: opts.ClientSecret}
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.pageSize == 0 {
		c.pageSize = 50
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = 10
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleep
	}
	return c, nil
}

func cmpOr(s, fallback string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return fallback
}

// validVersion accepts YYYY-MM and "unstable".
func validVersion(v string) bool {
	if v == "unstable" {
		return true
	}
	y, m, ok := strings.Cut(v, "-")
	if !ok || len(y) != 4 || len(m) != 2 {
		return false
	}
	_, err1 := strconv.Atoi(y)
	month, err2 := strconv.Atoi(m)
	return err1 == nil && err2 == nil && month >= 1 && month <= 12
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Errors callers branch on. Neither ever holds the token.
var (
	// ErrUnauthorized: Shopify answered 401, the token is missing or wrong.
	ErrUnauthorized = errors.New("the shop refused the access token (401): check api_token")
	// ErrForbidden: Shopify answered 403, the token lacks a scope.
	ErrForbidden = errors.New("the access token lacks a scope this needs (403): read_orders, and write access to webhooks for subscriptions")
	// ErrThrottled: the attempts ran out while Shopify kept throttling.
	ErrThrottled = errors.New("throttled by the shop")
)

// GraphQLError is an error Shopify reported in the errors of an answer.
type GraphQLError struct {
	Code    string // extensions.code, when given
	Message string
}

func (e *GraphQLError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("graphql error %s: %s", e.Code, e.Message)
	}
	return "graphql error: " + e.Message
}

// envelope is a GraphQL answer.
type envelope struct {
	Data   json.RawMessage `json:"data"`
	Errors json.RawMessage `json:"errors"`
	Ext    struct {
		Cost *cost `json:"cost"`
	} `json:"extensions"`
}

type cost struct {
	Requested float64 `json:"requestedQueryCost"`
	Throttle  struct {
		Maximum   float64 `json:"maximumAvailable"`
		Available float64 `json:"currentlyAvailable"`
		Restore   float64 `json:"restoreRate"`
	} `json:"throttleStatus"`
}

type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// refillWait is how long the bucket takes to hold the points a query
// requests; a second when the answer does not say.
func (c *cost) refillWait() time.Duration {
	if c == nil || c.Throttle.Restore <= 0 {
		return time.Second
	}
	missing := c.Requested - c.Throttle.Available
	if missing <= 0 {
		return 0
	}
	d := time.Duration(missing / c.Throttle.Restore * float64(time.Second))
	return min(d.Round(time.Millisecond)+10*time.Millisecond, time.Minute)
}

// call is one GraphQL operation: its name (sent as operationName), its
// text and its variables.
type call struct {
	name      string
	query     string
	variables map[string]any
}

// stats counts the waits for the throttle of the calls that share it.
type stats struct {
	waits  int           // waits for the bucket to refill, THROTTLED answers and 429s
	waited time.Duration // time spent in them
}

// do runs a call and decodes its data into out, waiting out throttling,
// 429s, 5xx answers and network errors up to maxAttempts tries.
func (c *Client) do(ctx context.Context, op call, out any, st *stats) error {
	body, err := json.Marshal(map[string]any{"query": op.query, "operationName": op.name, "variables": op.variables})
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", op.name, err)
	}
	for attempt := 1; ; attempt++ {
		wait, throttled, err := c.try(ctx, op.name, body, out)
		if err == nil {
			if wait > 0 {
				// The bucket is too low for another query like this one:
				// let it refill rather than be throttled. The answer is in
				// out already; a cancelled context shows at the next call.
				st.add(true, wait)
				_ = c.sleep(ctx, wait)
			}
			return nil
		}
		if wait == 0 {
			return err
		}
		if attempt >= c.maxAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		if !throttled {
			// A 5xx or a network error: back off further each time.
			wait = min(wait<<(attempt-1), 30*time.Second)
		}
		st.add(throttled, wait)
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("shopify %s: %s: waiting to retry: %w", c.domain, op.name, err)
		}
	}
}

func (st *stats) add(throttled bool, wait time.Duration) {
	if st == nil || !throttled {
		return
	}
	st.waits++
	st.waited += wait
}

// try sends one request. It returns the time to wait and the error of a
// try worth repeating (err != nil, wait > 0), a final error (wait == 0), or
// success (err == nil), with a wait > 0 when the bucket is too low for
// another query of the same cost.
func (c *Client) try(ctx context.Context, name string, body []byte, out any) (time.Duration, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, false, fmt.Errorf("shopify %s: %s: %w", c.domain, name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	token, err := c.accessToken(ctx)
	if err != nil {
		if errors.Is(err, ErrClientCredentials) || ctx.Err() != nil {
			return 0, false, fmt.Errorf("%s: %w", name, err)
		}
		return 2 * time.Second, false, fmt.Errorf("%s: %w", name, err)
	}
	if token != "" {
		req.Header.Set("X-Shopify-Access-Token", token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, false, fmt.Errorf("shopify %s: %s: %w", c.domain, name, ctx.Err())
		}
		return 2 * time.Second, false, fmt.Errorf("shopify %s: %s: %w", c.domain, name, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 2 * time.Second, false, fmt.Errorf("shopify %s: %s: read answer: %w", c.domain, name, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized && c.grant != nil:
		// A granted token revoked early: ask for a new one and try again.
		c.forgetToken()
		return 100 * time.Millisecond, false, fmt.Errorf("shopify %s: %s: %w", c.domain, name, ErrUnauthorized)
	case resp.StatusCode == http.StatusUnauthorized:
		return 0, false, fmt.Errorf("shopify %s: %s: %w", c.domain, name, ErrUnauthorized)
	case resp.StatusCode == http.StatusForbidden:
		return 0, false, fmt.Errorf("shopify %s: %s: %w", c.domain, name, ErrForbidden)
	case resp.StatusCode == http.StatusTooManyRequests:
		return retryAfter(resp.Header.Get("Retry-After"), c.now()), true,
			fmt.Errorf("shopify %s: %s: 429 too many requests: %w", c.domain, name, ErrThrottled)
	case resp.StatusCode >= 500:
		return 2 * time.Second, false, fmt.Errorf("shopify %s: %s: answered %s", c.domain, name, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return 0, false, fmt.Errorf("shopify %s: %s: answered %s: %s", c.domain, name, resp.Status, snippet(data))
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return 0, false, fmt.Errorf("shopify %s: %s: answer is not GraphQL JSON: %w", c.domain, name, err)
	}
	if errs := graphQLErrors(env.Errors); len(errs) > 0 {
		for _, e := range errs {
			if e.Code == "THROTTLED" {
				return max(env.Ext.Cost.refillWait(), 100*time.Millisecond), true,
					fmt.Errorf("shopify %s: %s: %w", c.domain, name, ErrThrottled)
			}
		}
		return 0, false, fmt.Errorf("shopify %s: %s: %w", c.domain, name, errors.Join(asErrors(errs)...))
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return 0, false, fmt.Errorf("shopify %s: %s: decode data: %w", c.domain, name, err)
	}
	return env.Ext.Cost.paceWait(), false, nil
}

// paceWait is how long to let the bucket refill after a successful query
// before another of the same cost: zero while it holds enough.
func (c *cost) paceWait() time.Duration {
	if c == nil || c.Throttle.Restore <= 0 || c.Throttle.Available >= c.Requested {
		return 0
	}
	return c.refillWait()
}

// graphQLErrors reads the errors of an answer: a list of objects, or, as
// on some Shopify errors, a single message.
func graphQLErrors(raw json.RawMessage) []*GraphQLError {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var list []gqlError
	if json.Unmarshal(raw, &list) == nil {
		out := make([]*GraphQLError, 0, len(list))
		for _, e := range list {
			out = append(out, &GraphQLError{Code: e.Extensions.Code, Message: e.Message})
		}
		return out
	}
	var msg string
	if json.Unmarshal(raw, &msg) == nil {
		return []*GraphQLError{{Message: msg}}
	}
	return []*GraphQLError{{Message: snippet(raw)}}
}

func asErrors(errs []*GraphQLError) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// retryAfter reads a Retry-After header (seconds, or an HTTP date); two
// seconds when it is missing or odd, at most a minute.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if s, err := strconv.ParseFloat(h, 64); err == nil && s >= 0 {
		return min(max(time.Duration(s*float64(time.Second)), 100*time.Millisecond), time.Minute)
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 100*time.Millisecond), time.Minute)
	}
	return 2 * time.Second
}

// snippet is the start of an answer for an error message.
func snippet(b []byte) string {
	const n = 200
	s := strings.ToValidUTF8(string(b), "?")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.TrimSpace(s)
}
