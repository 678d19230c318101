package edxtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

const course = "course-v1:edX+DemoX+2024"

// token gets a token from lms the way the client does.
func token(t *testing.T, lms *edxtest.LMS) string {
	t.Helper()
	resp, err := http.PostForm(lms.URL+"/oauth2/access_token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {lms.ClientID},
		"client_secret": {lms.ClientSecret}, "token_type": {"jwt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token answer %d: %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

// post sends a bulk-enroll form to path and returns the status and body.
func post(t *testing.T, lms *edxtest.LMS, path, tok string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, lms.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if tok != "" {
		req.Header.Set("Authorization", "JWT "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func form(action, courses, identifiers string) url.Values {
	return url.Values{"action": {action}, "courses": {courses}, "identifiers": {identifiers}}
}

func TestBulkEnrollAnswers(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		noAuth bool
		form   url.Values
		status int
		body   string // a part of the body
	}{
		{name: "ok", form: form("enroll", course, "a@example.com"), status: 200, body: `"enrollment":true`},
		{name: "trailing slash", path: edxtest.BulkEnrollPath + "/", form: form("enroll", course, "a@example.com"), status: 404},
		{name: "no token", noAuth: true, form: form("enroll", course, "a@example.com"), status: 401},
		{name: "bad action", form: form("join", course, "a@example.com"), status: 400, body: `"action"`},
		{name: "no identifiers", form: form("enroll", course, " , "), status: 400, body: `"identifiers"`},
		{name: "malformed course", form: form("enroll", "DemoX", "a@example.com"), status: 400, body: `{"courses":["Course key not valid: DemoX"]}`},
		{name: "bad boolean", form: url.Values{"action": {"enroll"}, "courses": {course}, "identifiers": {"a"}, "auto_enroll": {"yes"}},
			status: 400, body: `"auto_enroll"`},
		{name: "unknown course", form: form("enroll", "course-v1:edX+Gone+2020", "a@example.com"), status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lms := edxtest.New(t)
			lms.AddCourse(course)
			tok := token(t, lms)
			if tt.noAuth {
				tok = ""
			}
			path := tt.path
			if path == "" {
				path = edxtest.BulkEnrollPath
			}
			status, body := post(t, lms, path, tok, tt.form)
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Errorf("got %d %s; want %d with %s", status, body, tt.status, tt.body)
			}
		})
	}
}

func TestEnrollmentsTracked(t *testing.T) {
	lms := edxtest.New(t)
	lms.SetIdentifier("new@example.com", edxtest.NoAccount)
	tok := token(t, lms)
	for _, f := range []url.Values{
		form("enroll", course, "A@example.com,new@example.com"),
		form("enroll", course, "a@example.com,b@example.com"),
		form("unenroll", course, "b@example.com"),
	} {
		if status, body := post(t, lms, edxtest.BulkEnrollPath, tok, f); status != 200 {
			t.Fatalf("got %d %s", status, body)
		}
	}
	if !lms.Enrolled(course, "a@example.com") || lms.Enrolled(course, "b@example.com") || lms.Enrolled(course, "new@example.com") {
		t.Error("wrong learners enrolled")
	}
	if n := lms.Enrollments(); n != 1 {
		t.Errorf("enrollments = %d, want 1", n)
	}
	if n := lms.EnrollCount(course, "a@example.com"); n != 2 {
		t.Errorf("enroll count = %d, want 2", n)
	}
	if n := len(lms.Calls()); n != 3 {
		t.Errorf("calls = %d, want 3", n)
	}
}

// A held call holds only itself, and takes effect even when its client has
// given up waiting for the answer.
func TestHold(t *testing.T) {
	lms := edxtest.New(t)
	tok := token(t, lms)
	held := make(chan struct{})
	lms.SetHold(func(r *http.Request, c edxtest.Call) {
		if c.Identifiers[0] == "held@example.com" {
			close(held)
			<-r.Context().Done()
		}
	})
	ctx, cancel := context.WithCancel(t.Context())
	gone := make(chan error)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, lms.URL+edxtest.BulkEnrollPath,
			strings.NewReader(form("enroll", course, "held@example.com").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "JWT "+tok)
		_, err := http.DefaultClient.Do(req)
		gone <- err
	}()
	<-held
	if status, body := post(t, lms, edxtest.BulkEnrollPath, tok, form("enroll", course, "other@example.com")); status != 200 {
		t.Fatalf("call beside a held one: %d %s", status, body)
	}
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("the held call was answered")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !lms.Enrolled(course, "held@example.com") { // answered after its client left
		if time.Now().After(deadline) {
			t.Fatal("a call held until its client left never took effect")
		}
		time.Sleep(time.Millisecond)
	}
	if n := lms.EnrollCount(course, "held@example.com"); n != 1 {
		t.Errorf("enroll count = %d, want 1", n)
	}
}

func TestTokenEndpoint(t *testing.T) {
	tests := []struct {
		name   string
		change func(url.Values)
		status int
	}{
		{name: "ok", change: func(url.Values) {}, status: 200},
		{name: "bad secret", change: func(f url.Values) { f.Set("client_secret", "nope") }, status: 401},
		{name: "bad grant", change: func(f url.Values) { f.Set("grant_type", "password") }, status: 400},
		{name: "no jwt", change: func(f url.Values) { f.Del("token_type") }, status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lms := edxtest.New(t)
			f := url.Values{"grant_type": {"client_credentials"}, "client_id": {"test-client"},
				"client_secret": {"test-secret"}, "token_type": {"jwt"}}
			tt.change(f)
			resp, err := http.PostForm(lms.URL+"/oauth2/access_token", f)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if n := lms.TokenRequests(); n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}
		})
	}
}

// An unenroll answers after.enrollment false, removes an email that was
// only allowed from the allowed list, and is a no-op when repeated.
func TestUnenroll(t *testing.T) {
	lms := edxtest.New(t)
	lms.SetIdentifier("new@example.com", edxtest.NoAccount)
	tok := token(t, lms)
	if status, body := post(t, lms, edxtest.BulkEnrollPath, tok, form("enroll", course, "a@example.com,new@example.com")); status != 200 {
		t.Fatalf("enroll: %d %s", status, body)
	}
	if !lms.Enrolled(course, "a@example.com") || !lms.Allowed(course, "new@example.com") || lms.Allowed(course, "a@example.com") {
		t.Fatal("after the enroll: want a enrolled and new allowed")
	}
	type after struct {
		Enrollment, Allowed bool
	}
	for i := range 2 {
		status, body := post(t, lms, edxtest.BulkEnrollPath, tok, form("unenroll", course, "A@example.com,new@example.com"))
		if status != 200 {
			t.Fatalf("unenroll %d: %d %s", i, status, body)
		}
		var res struct {
			Courses map[string]struct {
				Action  string `json:"action"`
				Results []struct {
					Identifier string `json:"identifier"`
					After      after  `json:"after"`
				} `json:"results"`
			} `json:"courses"`
		}
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		cr := res.Courses[course]
		if cr.Action != "unenroll" || len(cr.Results) != 2 {
			t.Fatalf("unenroll %d: %s", i, body)
		}
		for _, r := range cr.Results {
			if r.After != (after{}) {
				t.Errorf("unenroll %d of %s: after %+v; want neither enrolled nor allowed", i, r.Identifier, r.After)
			}
		}
	}
	if lms.Enrolled(course, "a@example.com") || lms.Allowed(course, "new@example.com") || lms.EnrollCount(course, "a@example.com") != 1 {
		t.Error("after the unenrolls: a learner is enrolled or allowed still")
	}
	calls := lms.Calls()
	if len(calls) != 3 || calls[1].Action != "unenroll" {
		t.Errorf("calls %+v; want the enroll and two unenrolls, each with its action", calls)
	}
}

// get sends an authorized GET and returns the status and body.
func get(t *testing.T, lms *edxtest.LMS, tok, pathAndQuery string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, lms.URL+pathAndQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "JWT "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// A learner who registers after buying gets an account, and the courses
// that allowed the email with auto_enroll enroll it, in the default mode.
func TestRegisterLater(t *testing.T) {
	lms := edxtest.New(t)
	const other = "course-v1:edX+Other+2024"
	lms.SetIdentifier("later@example.com", edxtest.NoAccount)
	tok := token(t, lms)
	f := form("enroll", course, "later@example.com")
	f.Set("auto_enroll", "true")
	for _, f := range []url.Values{f, form("enroll", other, "later@example.com")} {
		if status, body := post(t, lms, edxtest.BulkEnrollPath, tok, f); status != 200 {
			t.Fatalf("enroll: %d %s", status, body)
		}
	}
	if status, _ := get(t, lms, tok, edxtest.AccountsPath+"?email=later%40example.com"); status != 404 {
		t.Fatalf("accounts lookup before registering: %d; want 404", status)
	}
	lms.Register("later@example.com", "later_learner")
	if status, body := get(t, lms, tok, edxtest.AccountsPath+"?email=later%40example.com"); status != 200 ||
		!strings.Contains(body, `"username":"later_learner"`) {
		t.Fatalf("accounts lookup after registering: %d %s", status, body)
	}
	if mode, active := lms.EnrollmentOf(course, "later@example.com"); mode != "audit" || !active {
		t.Errorf("enrollment after registering: %q, %v; want audit, active", mode, active)
	}
	if lms.Enrolled(other, "later@example.com") {
		t.Error("a course that allowed the email without auto_enroll enrolled it on registration")
	}
	status, body := get(t, lms, tok, edxtest.EnrollmentsPath+"?course_id="+url.QueryEscape(course)+"&username=later_learner,nobody")
	if status != 200 || !strings.Contains(body, `"mode":"audit"`) || !strings.Contains(body, `"is_active":true`) {
		t.Errorf("enrollments read-back: %d %s", status, body)
	}
}
