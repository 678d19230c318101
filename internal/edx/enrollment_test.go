package edx

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

func TestAccountByEmail(t *testing.T) {
	lms := edxtest.New(t)
	lms.SetIdentifier("new@example.com", edxtest.NoAccount)
	lms.Register("named@example.com", "named_learner")
	c := newClient(lms, nil)
	tests := []struct {
		email    string
		username string
		found    bool
	}{
		{"named@example.com", "named_learner", true},
		{"Learner@Example.com", "learner", true},
		{"new@example.com", "", false},
	}
	for _, tt := range tests {
		u, found, err := c.AccountByEmail(t.Context(), tt.email)
		if err != nil || u != tt.username || found != tt.found {
			t.Errorf("AccountByEmail(%q) = %q, %v, %v; want %q, %v", tt.email, u, found, err, tt.username, tt.found)
		}
	}
	if n := lms.TokenRequests(); n != 1 {
		t.Errorf("%d token requests; want 1, shared by every call", n)
	}
}

// Older releases answer the account itself, not a list of one.
func TestAccountByEmailObjectAnswer(t *testing.T) {
	lms := edxtest.New(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/oauth2/access_token":
			w.Write([]byte(`{"access_token": "t", "expires_in": 3600}`))
		case "/api/user/v1/accounts":
			if r.Header.Get("Authorization") != "JWT t" || r.URL.Query().Get("email") != "a+b@example.com" {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"username": "ab", "email": "a+b@example.com"}`))
		}
	}))
	defer srv.Close()
	c := newClient(lms, func(o *Options) { o.BaseURL = srv.URL })
	if u, found, err := c.AccountByEmail(t.Context(), "a+b@example.com"); err != nil || !found || u != "ab" {
		t.Fatalf("AccountByEmail = %q, %v, %v; want ab", u, found, err)
	}
}

func TestSetEnrollment(t *testing.T) {
	lms := edxtest.New(t)
	lms.AddCourseMode(course, "audit")
	lms.AddCourseMode(course, "verified")
	c := newClient(lms, nil)
	ctx := t.Context()
	// An audit enrollment made by bulk enrollment, then upgraded.
	if _, err := enroll(ctx, c, "audit@example.com"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		user, mode string
		active     bool
		wantStatus int    // 0: no error
		wantDetail string // part of the error
		email      string
		wantMode   string
		wantActive bool
	}{
		{user: "audit", mode: "verified", active: true, email: "audit@example.com", wantMode: "verified", wantActive: true},
		{user: "fresh", mode: "verified", active: true, email: "fresh@example.com", wantMode: "verified", wantActive: true},
		{user: "fresh", mode: "professional", active: true, wantStatus: 400,
			wantDetail: "The [professional] course mode is expired or otherwise unavailable", email: "fresh@example.com",
			wantMode: "verified", wantActive: true},
		{user: "fresh", mode: "audit", active: false, wantStatus: 400, wantDetail: "mode mismatch",
			email: "fresh@example.com", wantMode: "verified", wantActive: true},
		{user: "fresh", mode: "verified", active: false, email: "fresh@example.com", wantMode: "verified", wantActive: false},
	}
	// The accounts the LMS names after the emails.
	for _, email := range []string{"audit@example.com", "fresh@example.com"} {
		if _, _, err := c.AccountByEmail(ctx, email); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range steps {
		err := c.SetEnrollment(ctx, s.user, course, s.mode, s.active)
		var apiErr *APIError
		switch {
		case s.wantStatus == 0 && err != nil:
			t.Errorf("step %d: %v", i, err)
		case s.wantStatus != 0 && (!errors.As(err, &apiErr) || apiErr.Status != s.wantStatus || apiErr.Temporary() ||
			!strings.Contains(err.Error(), s.wantDetail)):
			t.Errorf("step %d: error %v; want a permanent %d saying %q", i, err, s.wantStatus, s.wantDetail)
		}
		if mode, active := lms.EnrollmentOf(course, s.email); mode != s.wantMode || active != s.wantActive {
			t.Errorf("step %d: enrollment %q, active %v; want %q, %v", i, mode, active, s.wantMode, s.wantActive)
		}
	}
	calls := lms.EnrollmentCalls()
	if len(calls) != len(steps) || calls[0].User != "audit" || calls[0].Mode != "verified" || !calls[0].IsActive ||
		calls[0].Course != course || calls[0].Status != 200 {
		t.Errorf("enrollment calls %+v", calls)
	}
}

func TestEnrollmentAPIErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		temporary bool
	}{
		{"server error", http.StatusServiceUnavailable, true},
		{"throttled", http.StatusTooManyRequests, true},
		{"not staff", http.StatusForbidden, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lms := edxtest.New(t)
			lms.SetRetryAfter(30 * time.Second)
			lms.SetFault(func(r *http.Request) (int, bool) {
				return tt.status, r.URL.Path == edxtest.EnrollmentPath || r.URL.Path == edxtest.AccountsPath
			})
			clk := newClock() // stands still: a paused call waits the whole Retry-After
			c := newClient(lms, func(o *Options) { o.Now = clk.Now })
			_, _, lookupErr := c.AccountByEmail(t.Context(), "a@example.com")
			setErr := c.SetEnrollment(t.Context(), "a", course, "verified", true)
			for _, err := range []error{lookupErr, setErr} {
				var apiErr *APIError
				if !errors.As(err, &apiErr) || apiErr.Status != tt.status || apiErr.Temporary() != tt.temporary {
					t.Errorf("error %v; want a *APIError %d, temporary %v", err, tt.status, tt.temporary)
				}
				if tt.status == http.StatusTooManyRequests && apiErr != nil && apiErr.RetryAfter != 30*time.Second {
					t.Errorf("RetryAfter = %s; want 30s", apiErr.RetryAfter)
				}
			}
			if tt.status == http.StatusTooManyRequests && len(lms.EnrollmentCalls()) != 0 {
				t.Error("the enrollment call was sent while the LMS asked to wait")
			}
		})
	}
}
