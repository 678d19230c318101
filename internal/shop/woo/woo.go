// Package woo is a client of the WooCommerce REST API (wc/v3): it reads a
// site's orders changed since a time and an order's refunds, for
// reconciliation, and lists, creates and repairs the site's webhooks. It
// authenticates with a consumer key and secret over HTTP Basic, which
// WooCommerce accepts over HTTPS only, so it refuses plain HTTP.
//
// It knows nothing of the database or of jobs: callers decide what to do
// with what it reads.
package woo

import (
	"bytes"
	"context"
	"crypto/sha256"
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

// APIVersion is the version of the REST API the client calls.
const APIVersion = "wc/v3"

// apiPath is where the REST API lives under the site URL.
const apiPath = "/wp-json/" + APIVersion

// Options configure a Client. BaseURL, ConsumerKey and ConsumerSecret are
// required; the rest have defaults.
type Options struct {
	// BaseURL is the site URL (https://shop.example.com, or with a path for
	// a WordPress in a folder); the API is under /wp-json/wc/v3.
	BaseURL        string
	ConsumerKey    string
	ConsumerSecret string
	// HTTPClient sends the requests; http.DefaultClient when nil. Its
	// Timeout bounds each request; redirects to plain HTTP are refused.
	HTTPClient *http.Client
	// MaxRetries is how many times a request answered 429 is sent again
	// (3 when zero; negative for none).
	MaxRetries int
	// MaxRetryWait is the longest Retry-After waited for before sending
	// again (30 s when zero); a longer one is returned as an *APIError
	// for the caller to reschedule.
	MaxRetryWait time.Duration
}

// Client calls one site's REST API. It is safe for concurrent use.
type Client struct {
	base         *url.URL
	key, secret  string
	http         *http.Client
	maxRetries   int
	maxRetryWait time.Duration
}

// Endpoint is the REST API's URL, without credentials.
func (c *Client) Endpoint() string { return c.base.String() + apiPath }

// New returns a client of the site at o.BaseURL. It refuses a URL that is
// not https://, as the credentials would cross the network in clear.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.BaseURL)
	if err != nil {
		// url.Parse's error quotes the URL, which may hold credentials.
		return nil, errors.New("woocommerce base URL is not a URL")
	}
	// The URL is shown without credentials or query, where a secret could be.
	shown := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	switch {
	case u.Scheme == "http":
		return nil, fmt.Errorf("woocommerce base URL %s: plain HTTP refused, the consumer key and secret are sent only over HTTPS (use https://)", shown)
	case u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("woocommerce base URL %s: want https://host", shown)
	case u.User != nil:
		return nil, fmt.Errorf("woocommerce base URL %s: put the credentials in the consumer key and secret, not in the URL", shown)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("woocommerce base URL %s: want no query or fragment", shown)
	case o.ConsumerKey == "" || o.ConsumerSecret == "":
		return nil, errors.New("woocommerce: a consumer key and a consumer secret are required")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	hc := http.DefaultClient
	if o.HTTPClient != nil {
		hc = o.HTTPClient
	}
	safe := *hc
	safe.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("redirected to %s: plain HTTP refused, the credentials are sent only over HTTPS", req.URL.Redacted())
		}
		if hc.CheckRedirect != nil {
			return hc.CheckRedirect(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	c := &Client{base: u, key: o.ConsumerKey, secret: o.ConsumerSecret, http: &safe,
		maxRetries: o.MaxRetries, maxRetryWait: o.MaxRetryWait}
	if c.maxRetries == 0 {
		c.maxRetries = 3
	}
	if c.maxRetryWait == 0 {
		c.maxRetryWait = 30 * time.Second
	}
	return c, nil
}

// APIError is an answer other than success from the REST API.
type APIError struct {
	Op         string // what was attempted: "list orders"
	Status     int
	Code       string        // WordPress's error code, such as woocommerce_rest_authentication_error
	Message    string        // WordPress's message, shortened
	RetryAfter time.Duration // from Retry-After on a 429; zero when absent
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: woocommerce answered %d", e.Op, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		s += " (check the consumer key and secret)"
	case http.StatusForbidden:
		s += " (the key's user lacks the permission: read for orders, read/write for webhooks)"
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// answer is a successful answer's body and headers.
type answer struct {
	body   []byte
	header http.Header
}

// maxBody bounds an answer: a page of 100 orders with long meta data stays
// well below it.
const maxBody = 64 << 20

// call sends one request to the API (path under /wp-json/wc/v3) with the
// credentials, sending it again after a 429 while Retry-After is short and
// retries are left. Any answer but 2xx is an *APIError.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, in any) (answer, error) {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return answer{}, fmt.Errorf("%s: encode request: %w", op, err)
		}
	}
	u := *c.base
	u.Path += apiPath + path
	u.RawQuery = query.Encode()
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(payload))
		if err != nil {
			return answer{}, fmt.Errorf("%s: %w", op, err)
		}
		req.SetBasicAuth(c.key, c.secret)
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return answer{}, fmt.Errorf("%s: %w", op, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err != nil {
			return answer{}, fmt.Errorf("%s: read answer: %w", op, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if len(body) > maxBody {
				return answer{}, fmt.Errorf("%s: answer larger than %d bytes", op, maxBody)
			}
			return answer{body: body, header: resp.Header}, nil
		}
		e := c.apiError(op, resp.StatusCode, body)
		if resp.StatusCode != http.StatusTooManyRequests {
			return answer{}, e
		}
		wait, known := retryAfter(resp.Header.Get("Retry-After"), time.Now())
		e.RetryAfter = wait
		if !known {
			wait = time.Second
		}
		if attempt >= c.maxRetries || wait > c.maxRetryWait {
			return answer{}, e
		}
		if err := sleep(ctx, wait); err != nil {
			return answer{}, fmt.Errorf("%s: wait %s after 429: %w", op, wait, err)
		}
	}
}

// apiError reads WordPress's error body ({"code", "message"}), never
// quoting the rest of it, and never the credentials.
func (c *Client) apiError(op string, status int, body []byte) *APIError {
	var wp struct {
		Code    any `json:"code"`
		Message any `json:"message"`
	}
	_ = json.Unmarshal(body, &wp) // any other body says nothing more than its status
	e := &APIError{Op: op, Status: status, Code: c.scrub(text(wp.Code), 80), Message: c.scrub(text(wp.Message), 200)}
	return e
}

// scrub shortens a text from the site and removes the credentials from it,
// should the site echo them.
func (c *Client) scrub(s string, limit int) string {
	s = strings.ReplaceAll(s, c.secret, "[redacted]")
	s = strings.ReplaceAll(s, c.key, "[redacted]")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > limit {
		s = string(r[:limit]) + "…"
	}
	return s
}

// text is a JSON string as is, and nothing for any other value.
func text(v any) string {
	s, _ := v.(string)
	return s
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
// known is false when the header is absent or unreadable.
func retryAfter(v string, now time.Time) (d time.Duration, known bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 32); err == nil {
		return time.Duration(max(n, 0)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// sleep waits for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// perPage is the largest page the REST API serves.
const perPage = 100

// pages reads every page of a list, from page 1 until X-WP-TotalPages (read
// anew on each page, as the list may grow) or, without that header, until
// a page shorter than perPage. each decodes a page and returns how many
// items it had. A full page that repeats the one before it means the site
// (or a cache in front of it) ignores page: without the header that would
// never end, so it is an error.
func (c *Client) pages(ctx context.Context, op, path string, query url.Values, each func(page int, body []byte) (int, error)) error {
	var last [sha256.Size]byte
	for page := 1; ; page++ {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("per_page", strconv.Itoa(perPage))
		q.Set("page", strconv.Itoa(page))
		a, err := c.call(ctx, fmt.Sprintf("%s, page %d", op, page), http.MethodGet, path, q, nil)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(a.body)
		if page > 1 && sum == last {
			return fmt.Errorf("%s, page %d: the site answered page %d again: it ignores the page parameter (a caching plugin or proxy?), so the list cannot be read whole", op, page, page-1)
		}
		last = sum
		n, err := each(page, a.body)
		if err != nil {
			return err
		}
		total, err := strconv.Atoi(a.header.Get("X-WP-TotalPages"))
		if n == 0 || (err == nil && page >= total) || (err != nil && n < perPage) {
			return nil
		}
	}
}
