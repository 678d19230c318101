// Package edx is a client for the parts of an Open edX LMS the receiver
// needs: OAuth2 client-credentials tokens, the bulk enrollment API, and the
// lookup of a course id from a shop SKU through the LMS's redirects.
//
// Errors tell callers what to do next. A *APIError carries the LMS's status
// (Temporary reports whether trying again may help, RetryAfter how long to
// wait); an error wrapping ErrNoCourse is permanent; any other error (network,
// timeout, an answer that cannot be read) is transient.
//
// The package knows nothing about shops or orders.
package edx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// ErrNoCourse means a SKU does not lead to a course id; trying again will not help.
var ErrNoCourse = errors.New("no course for sku")

// Options configure a Client. Only BaseURL and the client credentials are required.
type Options struct {
	BaseURL      string // e.g. https://lms.example.com; a trailing slash is tolerated
	ClientID     string
	ClientSecret string
	SKUPrefix    string           // prepended to a SKU to form its LMS path, e.g. "sku/"
	Timeout      time.Duration    // per HTTP request; 30s when zero
	RateLimit    float64          // enrollment API calls per second from this Client (bulk enroll, accounts, enrollment); 0 = unlimited
	HTTPClient   *http.Client     // optional; its redirect policy is kept for SKU lookups only
	Now          func() time.Time // optional, for tests
	Observer     Observer         // optional; hears of every request, for metrics
}

// Endpoints of the LMS, as named to an Observer.
const (
	EndpointToken         = "token"
	EndpointBulkEnroll    = "bulk_enroll"
	EndpointCourseLookup  = "course_lookup"
	EndpointAccountLookup = "account_lookup"
	EndpointEnrollment    = "enrollment"
)

// Observer hears about the client's work, for metrics. Its methods are
// called from concurrent requests and must return quickly.
type Observer interface {
	// LMSRequest reports one request to an endpoint that took took; status
	// is the final answer's HTTP status, 0 when none came (network error,
	// timeout, cancelled).
	LMSRequest(endpoint string, status int, took time.Duration)
	// TokenRefreshed reports a new access token obtained from the LMS.
	TokenRefreshed()
}

// Client talks to one LMS. It is safe for concurrent use.
type Client struct {
	base         string
	clientID     string
	clientSecret string
	skuPrefix    string
	timeout      time.Duration
	http         *http.Client // follows redirects, for SKU lookups
	post         *http.Client // same transport, never follows redirects
	now          func() time.Time
	limiter      *rate.Limiter // nil when unlimited
	observer     Observer      // nil when none

	tokenMu     sync.Mutex
	token       string
	tokenExpiry time.Time
	tokenCall   *tokenCall // the fetch in flight, shared by concurrent callers

	pauseMu     sync.Mutex
	pausedUntil time.Time // set by a 429 with Retry-After

	// enrolled is set once a bulk-enroll call succeeded: from then on the
	// view is known to be enabled, so a 404 can only mean a missing course.
	enrolled atomic.Bool

	courseMu sync.Mutex
	courses  map[string]cachedCourse // sku → course id
}

// New returns a Client for the LMS at o.BaseURL.
func New(o Options) *Client {
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: timeout}
	}
	// A POST that is redirected comes back as a GET, which the LMS answers
	// with a page or a 405; better to report the redirect itself (usually
	// BaseURL says http where the LMS wants https, or the wrong host).
	post := *hc
	post.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	now := o.Now
	if now == nil {
		now = time.Now
	}
	c := &Client{
		base:         strings.TrimRight(o.BaseURL, "/"),
		clientID:     o.ClientID,
		clientSecret: o.ClientSecret,
		skuPrefix:    strings.TrimLeft(o.SKUPrefix, "/"),
		timeout:      timeout,
		http:         hc,
		post:         &post,
		now:          now,
		courses:      map[string]cachedCourse{},
		observer:     o.Observer,
	}
	if o.RateLimit > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(o.RateLimit), 1)
	}
	return c
}

// APIError is an answer from the LMS other than success.
type APIError struct {
	Op         string        // "token", "bulk enroll", "account lookup", "enrollment"
	Status     int           // HTTP status
	RetryAfter time.Duration // from Retry-After on a 429; zero when absent
	Detail     string        // a one-line explanation, never the full body
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s: LMS answered %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Detail != "" && e.Detail != http.StatusText(e.Status) {
		s += ": " + e.Detail
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter.Round(time.Millisecond))
	}
	return s
}

// Temporary reports whether the same request may succeed later: on
// throttling (429), timeouts (408) and server errors (5xx).
func (e *APIError) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout || e.Status >= 500
}

// answer is what send read from the LMS.
type answer struct {
	status int
	header http.Header
	body   []byte
	url    *url.URL // the final URL, after redirects
}

// body is what a request sends: a form or a JSON document.
type body struct {
	contentType string
	data        []byte
}

func formBody(form url.Values) *body {
	return &body{contentType: "application/x-www-form-urlencoded", data: []byte(form.Encode())}
}

func jsonBody(data []byte) *body { return &body{contentType: "application/json", data: data} }

// send makes one request to an endpoint within the per-request timeout and
// reads at most limit bytes of the answer. A nil b sends no body.
func (c *Client) send(ctx context.Context, endpoint string, hc *http.Client, method, target string, b *body, header http.Header, limit int64) (answer, error) {
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var r io.Reader
	if b != nil {
		r = bytes.NewReader(b.data)
	}
	req, err := http.NewRequestWithContext(reqCtx, method, target, r)
	if err != nil {
		return answer{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if b != nil {
		req.Header.Set("Content-Type", b.contentType)
	}
	start := time.Now()
	resp, err := hc.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var b []byte
		b, err = io.ReadAll(io.LimitReader(resp.Body, limit))
		if err == nil {
			c.observe(endpoint, resp.StatusCode, start)
			return answer{status: resp.StatusCode, header: resp.Header, body: b, url: resp.Request.URL}, nil
		}
	}
	c.observe(endpoint, 0, start)
	// Name our own timeout, which the bare error leaves to guess; a caller's
	// cancelled context speaks for itself.
	var ne net.Error
	if ctx.Err() == nil && (reqCtx.Err() != nil || errors.As(err, &ne) && ne.Timeout()) {
		return answer{}, fmt.Errorf("no answer within %s: %w", c.timeout, err)
	}
	return answer{}, err
}

// observe tells the observer, if any, of a request that began at start.
func (c *Client) observe(endpoint string, status int, start time.Time) {
	if c.observer != nil {
		c.observer.LMSRequest(endpoint, status, time.Since(start))
	}
}

const maxDetail = 200

var (
	space     = regexp.MustCompile(`\s+`)
	htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
)

// summary makes a short single-line Detail from an error body: proxies and
// Django answer with whole HTML pages, of which the title says enough.
func summary(body []byte) string {
	s := string(body)
	if m := htmlTitle.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	s = strings.TrimSpace(space.ReplaceAllString(s, " "))
	if len(s) <= maxDetail {
		return s
	}
	cut := maxDetail
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
// It returns zero when the header is absent, malformed or in the past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(d, 0)
}
