// Package edxtest is a fake Open edX LMS for tests: an httptest server that
// issues OAuth2 tokens, answers the bulk enrollment API, the accounts lookup
// and the Enrollment API (modes) in the shapes the real LMS uses, redirects
// SKU paths to course pages, lets learners register later, records every
// enrollment call and injects faults (errors, throttling, delays, outages,
// expired tokens).
//
// It speaks the wire format only and does not import package edx, so tests
// of edx and of the packages above it exercise the real client code.
package edxtest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BulkEnrollPath is where the LMS serves the bulk enrollment view; newer
// Open edX releases route it only without a trailing slash.
const BulkEnrollPath = "/api/bulk_enroll/v1/bulk_enroll"

// Kind is how the fake answers for one identifier.
type Kind int

const (
	// Enrolled: the learner has an account and gets enrolled (the default).
	Enrolled Kind = iota
	// NoAccount: no account yet; the LMS only allows the enrollment.
	NoAccount
	// Invalid: the LMS answers invalidIdentifier.
	Invalid
	// Error: the LMS answers error, as on a server-side exception.
	Error
)

// Call is one request to the bulk enrollment view, whatever its answer.
type Call struct {
	Time          time.Time
	Token         string // from "Authorization: JWT <token>"; empty when absent
	Action        string
	Courses       []string
	Identifiers   []string
	AutoEnroll    bool
	EmailStudents bool
	Status        int // the status the fake answered
}

// LMS is a running fake LMS. Its methods are safe for concurrent use.
// ClientID and ClientSecret may be changed before the first request only.
type LMS struct {
	URL          string
	ClientID     string
	ClientSecret string

	srv *httptest.Server

	mu             sync.Mutex
	down           bool
	bulkEnabled    bool
	tokenLifetime  time.Duration
	tokens         map[string]bool // token → still valid
	tokenRequests  int
	skuRequests    int
	kinds          map[string]Kind // lower-cased identifier → kind
	courses        map[string]bool // known courses; empty means all exist
	skus           map[string]string
	calls          []Call
	enrollments    map[pair]*enrollment
	enrollCount    map[pair]int
	usernames      map[string]string   // lower-cased email → username of its account
	emails         map[string]string   // username → lower-cased email
	modes          map[string][]string // course → the modes it offers
	defaultModes   []string            // the modes of a course without its own
	apiCalls       []EnrollmentCall
	lookups        int
	failN          int
	failStatus     int
	retryAfter     time.Duration
	fault          func(*http.Request) (int, bool)
	hold           func(*http.Request, Call)
	delay          time.Duration
	throttleCalls  int           // calls that pass the throttle per throttleWindow
	throttleWindow time.Duration // a minute unless SetThrottleRate says
	throttleWait   time.Duration // the Retry-After of a throttled call; 0: until a call would pass
	accepted       []time.Time   // recent calls that passed the throttle
}

type pair struct{ course, identifier string }

// enrollment is a learner's standing in a course: enrolled (an active
// enrollment, in mode), or allowed to enroll on registration (with
// autoEnroll, the LMS enrolls them then).
type enrollment struct {
	enrolled, allowed, autoEnroll bool
	mode                          string
}

// New starts a fake LMS that stops when the test ends. It accepts client id
// "test-client" with secret "test-secret", issues tokens valid for an hour,
// and knows every well-formed course key until AddCourse is called.
func New(t testing.TB) *LMS {
	l := Start()
	t.Cleanup(l.Close)
	return l
}

// Start starts a fake LMS like New, for programs outside tests (the
// benchmark command); the caller stops it with Close.
func Start() *LMS {
	l, h := newLMS("test-client", "test-secret")
	l.srv = httptest.NewServer(h)
	l.URL = l.srv.URL
	return l
}

// newLMS returns a fake LMS that is not listening yet, and its handler.
func newLMS(clientID, clientSecret string) (*LMS, http.Handler) {
	l := &LMS{
		ClientID:      clientID,
		ClientSecret:  clientSecret,
		bulkEnabled:   true,
		tokenLifetime: time.Hour,
		tokens:        map[string]bool{},
		kinds:         map[string]Kind{},
		courses:       map[string]bool{},
		skus:          map[string]string{},
		enrollments:   map[pair]*enrollment{},
		enrollCount:   map[pair]int{},
		usernames:     map[string]string{},
		emails:        map[string]string{},
		modes:         map[string][]string{},
		defaultModes:  []string{defaultMode},
		retryAfter:    time.Second,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/access_token", l.handleToken)
	mux.HandleFunc("POST "+BulkEnrollPath, l.handleBulkEnroll)
	mux.HandleFunc("GET "+AccountsPath, l.handleAccounts)
	mux.HandleFunc("POST "+EnrollmentPath, l.handleEnrollment)
	mux.HandleFunc("GET "+EnrollmentsPath, l.handleEnrollments)
	// Everything else, including the bulk-enroll path with a trailing slash,
	// is a page lookup: 404 unless it is a registered SKU or a course page.
	mux.HandleFunc("/", l.handlePage)
	return l, l.outage(mux)
}

// Close stops the fake LMS and waits for its outstanding requests.
func (l *LMS) Close() { l.srv.Close() }

// SetDown makes every endpoint answer 503 while down is true.
func (l *LMS) SetDown(down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = down
}

// SetBulkEnrollEnabled mimics ENABLE_BULK_ENROLLMENT_VIEW: when false the
// view is not routed and answers 404.
func (l *LMS) SetBulkEnrollEnabled(enabled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bulkEnabled = enabled
}

// SetTokenLifetime sets the expires_in of tokens issued from now on.
func (l *LMS) SetTokenLifetime(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokenLifetime = d
}

// ExpireTokens makes every token issued so far answer 401 on bulk enroll.
func (l *LMS) ExpireTokens() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for tok := range l.tokens {
		l.tokens[tok] = false
	}
}

// SetIdentifier sets how the LMS answers for an identifier (case-insensitive).
func (l *LMS) SetIdentifier(identifier string, k Kind) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kinds[strings.ToLower(identifier)] = k
}

// AddCourse registers a course. Once any course is registered, well-formed
// keys of unregistered courses answer 404.
func (l *LMS) AddCourse(courseID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.courses[courseID] = true
}

// AddSKU makes GET and HEAD on /path redirect to the course's about page.
// The path includes any prefix and no leading slash, e.g. "sku/ABC".
func (l *LMS) AddSKU(path, courseID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.skus[path] = courseID
}

// FailNext makes the next n bulk-enroll calls answer status with a short
// body; a 429 carries the Retry-After set by SetRetryAfter.
func (l *LMS) FailNext(n, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failN, l.failStatus = n, status
}

// SetRetryAfter sets the Retry-After of injected and throttled 429s
// (rounded up to whole seconds; 1 s by default).
func (l *LMS) SetRetryAfter(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retryAfter = d
}

// SetFault installs a hook consulted on every bulk-enroll call after
// FailNext: when it returns ok, the call answers status with a short body.
// A nil f removes the hook.
func (l *LMS) SetFault(f func(r *http.Request) (status int, ok bool)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fault = f
}

// SetDelay delays every bulk-enroll answer by d, or until the client gives up.
func (l *LMS) SetDelay(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.delay = d
}

// SetHold installs a hook that every bulk-enroll call runs before it is
// answered, after any delay, with the LMS unlocked: a hook that blocks
// holds that call alone, for example until its client has gone
// (r.Context() is done). The call is then answered as usual, and its
// enrollments take effect even if nobody is left to read the answer, as on
// the real LMS. A nil f removes the hook.
func (l *LMS) SetHold(f func(r *http.Request, c Call)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold = f
}

// SetThrottle limits bulk-enroll calls to perMinute in any minute, like the
// LMS's default throttle (120 for staff); excess calls get 429 with
// Retry-After. Zero, the default, turns throttling off.
func (l *LMS) SetThrottle(perMinute int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.throttleCalls, l.throttleWindow, l.throttleWait = perMinute, time.Minute, 0
	l.accepted = nil
}

// SetThrottleRate limits bulk-enroll calls to n in any window; excess calls
// get 429 with Retry-After: retryAfter, however soon a call would pass
// (an LMS that tells every client to back off as long). SetThrottleRate(1,
// time.Second, 5*time.Second) lets one call through per second.
func (l *LMS) SetThrottleRate(n int, window, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.throttleCalls, l.throttleWindow, l.throttleWait = n, window, retryAfter
	l.accepted = nil
}

// Calls returns every bulk-enroll call so far, in order.
func (l *LMS) Calls() []Call {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Call(nil), l.calls...)
}

// Enrolled reports whether the identifier is enrolled in the course.
func (l *LMS) Enrolled(course, identifier string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.enrollments[pair{course, strings.ToLower(identifier)}]
	return e != nil && e.enrolled
}

// Allowed reports whether the identifier is allowed to enroll in the
// course on registration: it has no account, and was enrolled with no
// unenroll since.
func (l *LMS) Allowed(course, identifier string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.enrollments[pair{course, strings.ToLower(identifier)}]
	return e != nil && e.allowed
}

// Enrollments counts the distinct (course, identifier) pairs enrolled.
func (l *LMS) Enrollments() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, e := range l.enrollments {
		if e.enrolled {
			n++
		}
	}
	return n
}

// EnrollCount counts the successful enroll results returned for the pair,
// so tests can prove an enrollment was sent exactly once.
func (l *LMS) EnrollCount(course, identifier string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enrollCount[pair{course, strings.ToLower(identifier)}]
}

// TokenRequests counts requests to the token endpoint, failed ones included.
func (l *LMS) TokenRequests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tokenRequests
}

// SKURequests counts GET and HEAD requests on page paths (SKU lookups and
// the course pages they redirect to).
func (l *LMS) SKURequests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.skuRequests
}

func (l *LMS) outage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		down := l.down
		l.mu.Unlock()
		if down {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (l *LMS) handleToken(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokenRequests++
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
	case r.PostForm.Get("client_id") != l.ClientID || r.PostForm.Get("client_secret") != l.ClientSecret:
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
	case !strings.EqualFold(r.PostForm.Get("token_type"), "jwt"):
		// The real LMS would issue an opaque Bearer token; the client must ask for a JWT.
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "token_type must be jwt"})
	default:
		tok := fmt.Sprintf("token-%d", len(l.tokens)+1)
		l.tokens[tok] = true
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": tok,
			"token_type":   "JWT",
			"expires_in":   int(l.tokenLifetime / time.Second),
			"scope":        "read write email profile",
		})
	}
}

var courseKey = regexp.MustCompile(`^course-v1:[^+]+\+[^+]+\+[^+]+$`)

func (l *LMS) handleBulkEnroll(w http.ResponseWriter, r *http.Request) {
	// Parse first so that every call is recorded with its fields.
	_ = r.ParseForm()
	f := r.PostForm
	call := Call{
		Time:          time.Now(),
		Action:        f.Get("action"),
		Courses:       splitList(f.Get("courses")),
		Identifiers:   splitList(f.Get("identifiers")),
		AutoEnroll:    f.Get("auto_enroll") == "true",
		EmailStudents: f.Get("email_students") == "true",
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "JWT "); ok {
		call.Token = tok
	}

	l.mu.Lock()
	delay := l.delay
	l.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	l.mu.Lock()
	hold := l.hold
	l.mu.Unlock()
	if hold != nil {
		hold(r, call)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	status, body, retryAfter := l.answer(r, &call)
	call.Status = status
	l.calls = append(l.calls, call)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
	}
	if s, ok := body.(string); ok {
		http.Error(w, s, status)
		return
	}
	writeJSON(w, status, body)
}

// answer decides a bulk-enroll call in the order the LMS would: routing,
// injected faults, authentication, throttling, validation, course lookup.
// It returns a string body for plain-text answers, and how long a 429 asks
// the client to wait. l.mu is held.
func (l *LMS) answer(r *http.Request, c *Call) (status int, body any, retryAfter time.Duration) {
	if !l.bulkEnabled {
		return http.StatusNotFound, "Not Found", 0
	}
	if l.failN > 0 {
		l.failN--
		return l.failStatus, http.StatusText(l.failStatus), l.retryAfter
	}
	if l.fault != nil {
		if status, ok := l.fault(r); ok {
			return status, http.StatusText(status), l.retryAfter
		}
	}
	if c.Token == "" || !l.tokens[c.Token] {
		return http.StatusUnauthorized, map[string]string{"detail": "Authentication credentials were not provided."}, 0
	}
	if l.throttleCalls > 0 {
		now := time.Now()
		for len(l.accepted) > 0 && now.Sub(l.accepted[0]) >= l.throttleWindow {
			l.accepted = l.accepted[1:]
		}
		if len(l.accepted) >= l.throttleCalls {
			wait := l.accepted[0].Add(l.throttleWindow).Sub(now)
			if l.throttleWait > 0 {
				wait = l.throttleWait
			}
			return http.StatusTooManyRequests, map[string]string{"detail": "Request was throttled."}, wait
		}
		l.accepted = append(l.accepted, now)
	}

	f := r.PostForm
	invalid := map[string][]string{}
	if c.Action != "enroll" && c.Action != "unenroll" {
		invalid["action"] = []string{fmt.Sprintf("%q is not a valid choice.", c.Action)}
	}
	for _, name := range []string{"auto_enroll", "email_students"} {
		if v, ok := f[name]; ok && v[0] != "true" && v[0] != "false" {
			invalid[name] = []string{"Must be a valid boolean."}
		}
	}
	if len(c.Identifiers) == 0 {
		invalid["identifiers"] = []string{"This field is required."}
	}
	if len(c.Courses) == 0 {
		invalid["courses"] = []string{"This field is required."}
	}
	for _, course := range c.Courses {
		if !courseKey.MatchString(course) {
			invalid["courses"] = append(invalid["courses"], fmt.Sprintf("Course key not valid: %s", course))
		}
	}
	if len(invalid) > 0 {
		return http.StatusBadRequest, invalid, 0
	}
	for _, course := range c.Courses {
		if len(l.courses) > 0 && !l.courses[course] {
			return http.StatusNotFound, map[string]string{"detail": "Not found."}, 0
		}
	}

	out := response{Action: c.Action, AutoEnroll: c.AutoEnroll, EmailStudents: c.EmailStudents, Courses: map[string]courseResponse{}}
	for _, course := range c.Courses {
		cr := courseResponse{Action: c.Action, AutoEnroll: c.AutoEnroll, Results: []result{}}
		for _, id := range c.Identifiers {
			cr.Results = append(cr.Results, l.apply(course, id, c.Action == "enroll", c.AutoEnroll))
		}
		out.Courses[course] = cr
	}
	return http.StatusOK, out, 0
}

// apply enrolls or unenrolls one identifier and returns its result. l.mu is held.
func (l *LMS) apply(course, identifier string, enroll, autoEnroll bool) result {
	key := pair{course, strings.ToLower(identifier)}
	kind := l.kinds[key.identifier]
	switch kind {
	case Invalid:
		return result{Identifier: identifier, InvalidIdentifier: true}
	case Error:
		return result{Identifier: identifier, Error: true}
	}
	e := l.enrollments[key]
	if e == nil {
		e = &enrollment{}
		l.enrollments[key] = e
	}
	user := kind == Enrolled
	before := state{Enrollment: e.enrolled, AutoEnroll: autoEnroll, User: user, Allowed: e.allowed}
	switch {
	case enroll && user:
		if !e.enrolled { // an active enrollment keeps its mode
			e.mode = defaultMode
		}
		e.enrolled = true
		l.enrollCount[key]++
	case enroll:
		e.allowed, e.autoEnroll = true, autoEnroll
	default:
		e.enrolled, e.allowed = false, false
	}
	after := state{Enrollment: e.enrolled, AutoEnroll: autoEnroll, User: user, Allowed: e.allowed}
	return result{Identifier: identifier, Before: &before, After: &after}
}

func (l *LMS) handlePage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.NotFound(w, r)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	l.mu.Lock()
	l.skuRequests++
	course, ok := l.skus[path]
	l.mu.Unlock()
	switch {
	case ok:
		http.Redirect(w, r, "/courses/"+course+"/about", http.StatusFound)
	case strings.HasPrefix(path, "courses/") && strings.HasSuffix(path, "/about"):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintln(w, "<!DOCTYPE html><title>About</title>")
	default:
		http.NotFound(w, r)
	}
}

// The answer of the bulk enrollment view, as the LMS writes it.
type response struct {
	Action        string                    `json:"action"`
	AutoEnroll    bool                      `json:"auto_enroll"`
	EmailStudents bool                      `json:"email_students"`
	Courses       map[string]courseResponse `json:"courses"`
}

type courseResponse struct {
	Action     string   `json:"action"`
	AutoEnroll bool     `json:"auto_enroll"`
	Results    []result `json:"results"`
}

type result struct {
	Identifier        string `json:"identifier"`
	InvalidIdentifier bool   `json:"invalidIdentifier,omitempty"`
	Error             bool   `json:"error,omitempty"`
	Before            *state `json:"before,omitempty"`
	After             *state `json:"after,omitempty"`
}

type state struct {
	Enrollment bool `json:"enrollment"`
	AutoEnroll bool `json:"auto_enroll"`
	User       bool `json:"user"`
	Allowed    bool `json:"allowed"`
}

// splitList splits a comma-separated field the way the LMS does:
// trimmed, empty entries dropped.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
