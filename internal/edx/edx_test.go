package edx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

const course = "course-v1:edX+DemoX+2024"

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClient returns a Client for lms; change adjusts the options first.
func newClient(lms *edxtest.LMS, change func(*Options)) *Client {
	o := Options{
		BaseURL:      lms.URL + "/", // a trailing slash must not matter
		ClientID:     lms.ClientID,
		ClientSecret: lms.ClientSecret,
		Timeout:      5 * time.Second,
	}
	if change != nil {
		change(&o)
	}
	return New(o)
}

func enroll(ctx context.Context, c *Client, identifiers ...string) (*BulkEnrollResult, error) {
	return c.BulkEnroll(ctx, BulkEnrollRequest{Courses: []string{course}, Identifiers: identifiers, AutoEnroll: true})
}

func statuses(calls []edxtest.Call) []int {
	var out []int
	for _, c := range calls {
		out = append(out, c.Status)
	}
	return out
}

func TestBulkEnrollSendsForm(t *testing.T) {
	tests := []struct {
		name string
		req  BulkEnrollRequest
		want edxtest.Call
	}{
		{
			name: "defaults",
			req:  BulkEnrollRequest{Courses: []string{course}, Identifiers: []string{"a@example.com"}},
			want: edxtest.Call{Action: "enroll", Courses: []string{course}, Identifiers: []string{"a@example.com"}},
		},
		{
			name: "everything set",
			req: BulkEnrollRequest{
				Action:        "unenroll",
				Courses:       []string{course, "course-v1:edX+Other+2025"},
				Identifiers:   []string{"a@example.com", "bob"},
				AutoEnroll:    true,
				EmailStudents: true,
			},
			want: edxtest.Call{
				Action:        "unenroll",
				Courses:       []string{course, "course-v1:edX+Other+2025"},
				Identifiers:   []string{"a@example.com", "bob"},
				AutoEnroll:    true,
				EmailStudents: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lms := edxtest.New(t)
			c := newClient(lms, nil)
			if _, err := c.BulkEnroll(t.Context(), tt.req); err != nil {
				t.Fatal(err)
			}
			calls := lms.Calls()
			if len(calls) != 1 {
				t.Fatalf("LMS got %d calls, want 1", len(calls))
			}
			got := calls[0]
			if got.Token != "token-1" || got.Status != http.StatusOK {
				t.Errorf("call had token %q and status %d, want token-1 and 200", got.Token, got.Status)
			}
			got.Time, got.Token, got.Status = time.Time{}, "", 0
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("call (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBulkEnrollReusesToken(t *testing.T) {
	lms := edxtest.New(t)
	c := newClient(lms, nil)
	for range 5 {
		if _, err := enroll(t.Context(), c, "a@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if n := lms.TokenRequests(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
	if n := lms.EnrollCount(course, "a@example.com"); n != 5 {
		t.Errorf("enroll count = %d, want 5", n)
	}
}

func TestBulkEnrollRefreshesRefusedToken(t *testing.T) {
	lms := edxtest.New(t)
	c := newClient(lms, nil)
	if _, err := enroll(t.Context(), c, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	lms.ExpireTokens()
	if _, err := enroll(t.Context(), c, "b@example.com"); err != nil {
		t.Fatalf("after tokens expired: %v", err)
	}
	if !lms.Enrolled(course, "b@example.com") {
		t.Error("b@example.com not enrolled")
	}
	if n := lms.TokenRequests(); n != 2 {
		t.Errorf("token requests = %d, want 2", n)
	}
	if diff := cmp.Diff([]int{200, 401, 200}, statuses(lms.Calls())); diff != "" {
		t.Errorf("call statuses (-want +got):\n%s", diff)
	}
}

func TestTokenLifetime(t *testing.T) {
	tests := []struct {
		expiresIn, want time.Duration
	}{
		{time.Hour, 54 * time.Minute},      // 10 % is more than a minute
		{5 * time.Minute, 4 * time.Minute}, // a minute is more than 10 %
		{30 * time.Second, 0},              // shorter than the margin: use once
		{0, 0},
	}
	for _, tt := range tests {
		if got := tokenLifetime(tt.expiresIn); got != tt.want {
			t.Errorf("tokenLifetime(%s) = %s, want %s", tt.expiresIn, got, tt.want)
		}
	}
}

func TestTokenCachedUntilShortlyBeforeExpiry(t *testing.T) {
	lms := edxtest.New(t)
	clk := newClock()
	c := newClient(lms, func(o *Options) { o.Now = clk.Now })
	for _, step := range []struct {
		advance  time.Duration
		requests int
	}{
		{0, 1},
		{53 * time.Minute, 1},
		{2 * time.Minute, 2}, // 55 minutes in: within the margin before expiry
		{time.Minute, 2},
	} {
		clk.Advance(step.advance)
		if _, err := c.Token(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n := lms.TokenRequests(); n != step.requests {
			t.Fatalf("after %s more: token requests = %d, want %d", step.advance, n, step.requests)
		}
	}
}

func TestBadClientSecret(t *testing.T) {
	const secret = "wrong-secret-4f9a"
	lms := edxtest.New(t)
	c := newClient(lms, func(o *Options) { o.ClientSecret = secret })

	_, err := c.Token(t.Context())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Op != "token" || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("Token error = %v, want a token *APIError with status 401", err)
	}
	if apiErr.Temporary() {
		t.Error("bad credentials reported as temporary")
	}
	msg := err.Error()
	if !strings.Contains(msg, "credentials") || strings.Contains(msg, secret) {
		t.Errorf("error %q should mention credentials and not show the secret", msg)
	}

	_, err = enroll(t.Context(), c, "a@example.com")
	if !errors.As(err, &apiErr) || apiErr.Op != "token" {
		t.Errorf("BulkEnroll error = %v, want a token *APIError", err)
	}
	if n := len(lms.Calls()); n != 0 {
		t.Errorf("bulk enroll called %d times without a token", n)
	}
}

func TestConcurrentCallsShareTokenFetch(t *testing.T) {
	lms := edxtest.New(t)
	c := newClient(lms, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := enroll(t.Context(), c, "a@example.com")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := lms.TokenRequests(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
	if n := lms.EnrollCount(course, "a@example.com"); n != 20 {
		t.Errorf("enroll count = %d, want 20", n)
	}
}

func TestBulkEnrollResults(t *testing.T) {
	lms := edxtest.New(t)
	lms.SetIdentifier("new@example.com", edxtest.NoAccount)
	lms.SetIdentifier("nobody", edxtest.Invalid)
	lms.SetIdentifier("crash@example.com", edxtest.Error)
	c := newClient(lms, nil)
	res, err := enroll(t.Context(), c, "learner@example.com", "new@example.com", "nobody", "crash@example.com")
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		identifier string // as looked up: case must not matter
		want       IdentifierResult
	}{
		{"Learner@Example.com", IdentifierResult{
			Identifier: "learner@example.com",
			Before:     &EnrollmentState{AutoEnroll: true, User: true},
			After:      &EnrollmentState{Enrollment: true, AutoEnroll: true, User: true},
		}},
		{"NEW@example.com", IdentifierResult{
			Identifier: "new@example.com",
			Before:     &EnrollmentState{AutoEnroll: true},
			After:      &EnrollmentState{AutoEnroll: true, Allowed: true},
		}},
		{"nobody", IdentifierResult{Identifier: "nobody", InvalidIdentifier: true}},
		{"crash@example.com", IdentifierResult{Identifier: "crash@example.com", Error: true}},
	}
	for _, tt := range tests {
		t.Run(tt.identifier, func(t *testing.T) {
			got, ok := res.Lookup(course, tt.identifier)
			if !ok {
				t.Fatal("not found")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}

	if _, ok := res.Lookup(course, "stranger@example.com"); ok {
		t.Error("found an identifier that was not sent")
	}
	if _, ok := res.Lookup("course-v1:edX+Other+2025", "learner@example.com"); ok {
		t.Error("found a course that was not sent")
	}
	if _, ok := (*BulkEnrollResult)(nil).Lookup(course, "learner@example.com"); ok {
		t.Error("found a result in a nil result")
	}
}

func TestBulkEnrollPausesAfter429(t *testing.T) {
	lms := edxtest.New(t)
	clk := newClock()
	c := newClient(lms, func(o *Options) { o.Now = clk.Now })
	lms.FailNext(1, http.StatusTooManyRequests)
	lms.SetRetryAfter(30 * time.Second)

	for _, step := range []struct {
		advance    time.Duration
		retryAfter time.Duration
	}{
		{0, 30 * time.Second}, // the LMS answers 429
		{0, 30 * time.Second}, // paused: not sent
		{10 * time.Second, 20 * time.Second},
	} {
		clk.Advance(step.advance)
		_, err := enroll(t.Context(), c, "a@example.com")
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests || !apiErr.Temporary() {
			t.Fatalf("error = %v, want a temporary *APIError with status 429", err)
		}
		if apiErr.RetryAfter != step.retryAfter {
			t.Errorf("RetryAfter = %s, want %s", apiErr.RetryAfter, step.retryAfter)
		}
		if n := len(lms.Calls()); n != 1 {
			t.Fatalf("LMS got %d calls, want 1", n)
		}
	}

	clk.Advance(21 * time.Second)
	if _, err := enroll(t.Context(), c, "a@example.com"); err != nil {
		t.Fatalf("after the pause: %v", err)
	}
	if n := len(lms.Calls()); n != 2 {
		t.Errorf("LMS got %d calls, want 2", n)
	}
}

func TestBulkEnrollThrottledByLMS(t *testing.T) {
	lms := edxtest.New(t)
	lms.SetThrottle(2)
	c := newClient(lms, nil)
	for i := range 2 {
		if _, err := enroll(t.Context(), c, "a@example.com"); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
	_, err := enroll(t.Context(), c, "a@example.com")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests {
		t.Fatalf("error = %v, want a *APIError with status 429", err)
	}
	if apiErr.RetryAfter <= 0 || apiErr.RetryAfter > time.Minute {
		t.Errorf("RetryAfter = %s, want within a minute", apiErr.RetryAfter)
	}
}

func TestBulkEnrollErrors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(*edxtest.LMS)
		course    string
		op        string
		status    int
		temporary bool
		detail    string // a part of Detail
	}{
		{name: "unavailable", setup: func(l *edxtest.LMS) { l.FailNext(1, 503) },
			op: "bulk enroll", status: 503, temporary: true, detail: "Service Unavailable"},
		{name: "server error", setup: func(l *edxtest.LMS) { l.FailNext(1, 500) },
			op: "bulk enroll", status: 500, temporary: true},
		{name: "request timeout", setup: func(l *edxtest.LMS) { l.FailNext(1, 408) },
			op: "bulk enroll", status: 408, temporary: true},
		{name: "malformed course", course: "not-a-course",
			op: "bulk enroll", status: 400, detail: "Course key not valid: not-a-course"},
		{name: "unknown course", setup: func(l *edxtest.LMS) { l.AddCourse("course-v1:edX+Other+2025") },
			op: "bulk enroll", status: 404, detail: "ENABLE_BULK_ENROLLMENT_VIEW"},
		{name: "view disabled", setup: func(l *edxtest.LMS) { l.SetBulkEnrollEnabled(false) },
			op: "bulk enroll", status: 404, detail: "ENABLE_BULK_ENROLLMENT_VIEW"},
		{name: "not staff", setup: func(l *edxtest.LMS) { l.FailNext(1, 403) },
			op: "bulk enroll", status: 403, detail: "global staff"},
		{name: "token refused twice", setup: func(l *edxtest.LMS) { l.FailNext(2, 401) },
			op: "bulk enroll", status: 401, detail: "freshly issued token"},
		{name: "LMS down", setup: func(l *edxtest.LMS) { l.SetDown(true) },
			op: "token", status: 503, temporary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lms := edxtest.New(t)
			if tt.setup != nil {
				tt.setup(lms)
			}
			c := newClient(lms, nil)
			courseID := course
			if tt.course != "" {
				courseID = tt.course
			}
			_, err := c.BulkEnroll(t.Context(), BulkEnrollRequest{Courses: []string{courseID}, Identifiers: []string{"a@example.com"}})
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v, want *APIError", err)
			}
			if apiErr.Op != tt.op || apiErr.Status != tt.status || apiErr.Temporary() != tt.temporary {
				t.Errorf("got op %q, status %d, temporary %t; want %q, %d, %t",
					apiErr.Op, apiErr.Status, apiErr.Temporary(), tt.op, tt.status, tt.temporary)
			}
			if !strings.Contains(apiErr.Detail, tt.detail) {
				t.Errorf("Detail %q does not contain %q", apiErr.Detail, tt.detail)
			}
			if msg := err.Error(); strings.Contains(msg, "token-") || strings.Contains(msg, "a@example.com") {
				t.Errorf("error %q shows a token or a learner", msg)
			}
		})
	}
}

func TestBulkEnroll404AfterSuccessNamesCourse(t *testing.T) {
	lms := edxtest.New(t)
	lms.AddCourse(course)
	c := newClient(lms, nil)
	if _, err := enroll(t.Context(), c, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	const missing = "course-v1:edX+Gone+2020"
	_, err := c.BulkEnroll(t.Context(), BulkEnrollRequest{Courses: []string{missing}, Identifiers: []string{"a@example.com"}})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Fatalf("error = %v, want *APIError with status 404", err)
	}
	if !strings.Contains(apiErr.Detail, "course not found: "+missing) || strings.Contains(apiErr.Detail, "ENABLE_BULK_ENROLLMENT_VIEW") {
		t.Errorf("Detail = %q, want it to name the missing course only", apiErr.Detail)
	}
}

// An unreadable 200 is a plain error, so callers retry it.
func TestBulkEnrollUnreadableAnswer(t *testing.T) {
	lms := edxtest.New(t)
	lms.SetFault(func(*http.Request) (int, bool) { return http.StatusOK, true })
	c := newClient(lms, nil)
	_, err := enroll(t.Context(), c, "a@example.com")
	var apiErr *APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want a non-API error", err)
	}
}

func TestBulkEnrollRedirectIsReported(t *testing.T) {
	lms := edxtest.New(t)
	redirect := httptest.NewServer(http.RedirectHandler(lms.URL, http.StatusMovedPermanently))
	t.Cleanup(redirect.Close)
	c := newClient(lms, func(o *Options) { o.BaseURL = redirect.URL })
	_, err := enroll(t.Context(), c, "a@example.com")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusMovedPermanently || !strings.Contains(apiErr.Detail, "base URL") {
		t.Fatalf("error = %v, want a 301 *APIError about the base URL", err)
	}
}

func TestBulkEnrollRateLimit(t *testing.T) {
	t.Run("waits within the context", func(t *testing.T) {
		lms := edxtest.New(t)
		c := newClient(lms, func(o *Options) { o.RateLimit = 1.0 / 3600 })
		if _, err := enroll(t.Context(), c, "a@example.com"); err != nil {
			t.Fatal(err) // the burst lets the first call through
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if _, err := enroll(ctx, c, "b@example.com"); err == nil {
			t.Fatal("second call within the hour succeeded")
		}
		if n := len(lms.Calls()); n != 1 {
			t.Errorf("LMS got %d calls, want 1", n)
		}
	})
	t.Run("lets calls through", func(t *testing.T) {
		lms := edxtest.New(t)
		c := newClient(lms, func(o *Options) { o.RateLimit = 1000 })
		for range 5 {
			if _, err := enroll(t.Context(), c, "a@example.com"); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(lms.Calls()); n != 5 {
			t.Errorf("LMS got %d calls, want 5", n)
		}
	})
}

func TestBulkEnrollTimeout(t *testing.T) {
	lms := edxtest.New(t)
	lms.SetDelay(time.Minute) // the fake answers early when the client gives up
	c := newClient(lms, func(o *Options) { o.Timeout = 50 * time.Millisecond })
	_, err := enroll(t.Context(), c, "a@example.com")
	var apiErr *APIError
	if err == nil || errors.As(err, &apiErr) {
		t.Fatalf("error = %v, want a non-API error", err)
	}
	if !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("error %q does not name the timeout", err)
	}
}

func TestCourseID(t *testing.T) {
	tests := []struct {
		name     string
		prefix   string
		sku      string
		want     string
		wantErr  error
		requests bool // whether the LMS is asked
	}{
		{name: "course id", sku: " " + course + " ", want: course},
		{name: "sku with prefix", prefix: "sku/", sku: "ABC-1", want: course, requests: true},
		{name: "prefix with leading slash", prefix: "/sku/", sku: "ABC-1", want: course, requests: true},
		{name: "sku needing escapes", prefix: "sku/", sku: "Intro to Go", want: "course-v1:Go+Intro+2025", requests: true},
		{name: "no prefix", sku: "PLAIN", want: "course-v1:Plain+P1+2025", requests: true},
		{name: "unknown sku", prefix: "sku/", sku: "NOPE", wantErr: ErrNoCourse, requests: true},
		{name: "empty sku", sku: "  ", wantErr: ErrNoCourse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lms := edxtest.New(t)
			lms.AddSKU("sku/ABC-1", course)
			lms.AddSKU("sku/Intro to Go", "course-v1:Go+Intro+2025")
			lms.AddSKU("PLAIN", "course-v1:Plain+P1+2025")
			c := newClient(lms, func(o *Options) { o.SKUPrefix = tt.prefix })
			got, err := c.CourseID(t.Context(), tt.sku)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("course id = %q, want %q", got, tt.want)
			}
			if asked := lms.SKURequests() > 0; asked != tt.requests {
				t.Errorf("LMS asked: %t, want %t", asked, tt.requests)
			}
		})
	}
}

func TestCourseIDCache(t *testing.T) {
	lms := edxtest.New(t)
	lms.AddSKU("sku/ABC-1", course)
	clk := newClock()
	c := newClient(lms, func(o *Options) { o.SKUPrefix, o.Now = "sku/", clk.Now })

	lookup := func(sku string) error {
		t.Helper()
		_, err := c.CourseID(t.Context(), sku)
		return err
	}
	if err := lookup("ABC-1"); err != nil {
		t.Fatal(err)
	}
	first := lms.SKURequests()
	clk.Advance(9 * time.Minute)
	if err := lookup("ABC-1"); err != nil {
		t.Fatal(err)
	}
	if n := lms.SKURequests(); n != first {
		t.Errorf("cached lookup made %d requests", n-first)
	}
	clk.Advance(2 * time.Minute)
	if err := lookup("ABC-1"); err != nil {
		t.Fatal(err)
	}
	if n := lms.SKURequests(); n == first {
		t.Error("expired entry was not looked up again")
	}

	// Failures are not cached: a SKU added later is found.
	if err := lookup("NEW-2"); !errors.Is(err, ErrNoCourse) {
		t.Fatalf("error = %v, want ErrNoCourse", err)
	}
	lms.AddSKU("sku/NEW-2", course)
	if err := lookup("NEW-2"); err != nil {
		t.Fatal(err)
	}
}

func TestCourseIDTransientError(t *testing.T) {
	lms := edxtest.New(t)
	lms.AddSKU("ABC-1", course)
	lms.SetDown(true)
	c := newClient(lms, nil)
	_, err := c.CourseID(t.Context(), "ABC-1")
	if err == nil || errors.Is(err, ErrNoCourse) {
		t.Fatalf("error = %v, want a transient error", err)
	}
	lms.SetDown(false)
	if got, err := c.CourseID(t.Context(), "ABC-1"); err != nil || got != course {
		t.Errorf("after recovery: %q, %v", got, err)
	}
}

func TestProbeBulkEnroll(t *testing.T) {
	tests := []struct {
		name  string
		setup func(*edxtest.LMS)
		want  int
	}{
		{name: "enabled", want: http.StatusUnauthorized},
		{name: "disabled", setup: func(l *edxtest.LMS) { l.SetBulkEnrollEnabled(false) }, want: http.StatusNotFound},
		{name: "down", setup: func(l *edxtest.LMS) { l.SetDown(true) }, want: http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lms := edxtest.New(t)
			if tt.setup != nil {
				tt.setup(lms)
			}
			got, err := newClient(lms, nil).ProbeBulkEnroll(t.Context())
			if err != nil || got != tt.want {
				t.Errorf("ProbeBulkEnroll = %d, %v; want %d", got, err, tt.want)
			}
			if n := lms.TokenRequests(); n != 0 {
				t.Errorf("probe asked for %d tokens", n)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		if _, err := New(Options{BaseURL: srv.URL}).ProbeBulkEnroll(t.Context()); err == nil {
			t.Error("no error from a closed server")
		}
	})
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{" 5 ", 5 * time.Second},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.header, got, tt.want)
		}
	}
}

func TestSummary(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct {
		name, body, want string
	}{
		{"json", "{\"courses\": [\"Course key not valid: x\"]}\n", `{"courses": ["Course key not valid: x"]}`},
		{"html", "<html>\n<head><title>502 Bad\n Gateway</title></head><body>nginx</body></html>", "502 Bad Gateway"},
		{"lines", "line one\n\tline two\n", "line one line two"},
		{"long", long, strings.Repeat("é", 100) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summary([]byte(tt.body)); got != tt.want {
				t.Errorf("summary = %q, want %q", got, tt.want)
			}
		})
	}
}
