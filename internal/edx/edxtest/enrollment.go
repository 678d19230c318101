package edxtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The accounts lookup and the Enrollment API, which enrolls an existing
// account in a chosen mode.
const (
	AccountsPath    = "/api/user/v1/accounts"
	EnrollmentPath  = "/api/enrollment/v1/enrollment"
	EnrollmentsPath = "/api/enrollment/v1/enrollments"
)

// defaultMode is the mode the bulk enrollment API and auto-enrollment on
// registration enroll in, as the LMS's default course mode.
const defaultMode = "audit"

// EnrollmentCall is one request to the Enrollment API, whatever its answer.
type EnrollmentCall struct {
	Time     time.Time
	User     string
	Course   string
	Mode     string
	IsActive bool
	Status   int // the status the fake answered
}

// SetModes sets the modes offered by every course that has none of its
// own (AddCourseMode); audit only by default.
func (l *LMS) SetModes(modes ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.defaultModes = slices.Clone(modes)
}

// AddCourseMode makes a mode (verified, professional, ...) available in a
// course. A course with none added offers those of SetModes.
func (l *LMS) AddCourseMode(courseID, mode string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.modes[courseID], mode) {
		l.modes[courseID] = append(l.modes[courseID], mode)
	}
}

// Register gives an email an account named username, as a learner who
// signs up: it is no longer NoAccount, and every course that allowed the
// email with auto_enroll enrolls it, in the default mode, as the LMS does.
func (l *LMS) Register(email, username string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := strings.ToLower(email)
	l.kinds[key] = Enrolled
	l.usernames[key], l.emails[username] = username, key
	for p, e := range l.enrollments {
		if p.identifier == key && e.allowed && e.autoEnroll && !e.enrolled {
			e.enrolled, e.mode = true, defaultMode
		}
	}
}

// EnrollmentOf returns the mode of the identifier's enrollment in the
// course and whether it is active; "" when it has never been enrolled.
func (l *LMS) EnrollmentOf(course, identifier string) (mode string, active bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.enrollments[pair{course, strings.ToLower(identifier)}]
	if e == nil {
		return "", false
	}
	return e.mode, e.enrolled
}

// EnrollmentCalls returns every Enrollment API call so far, in order.
func (l *LMS) EnrollmentCalls() []EnrollmentCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.apiCalls)
}

// AccountLookups counts requests to the accounts API.
func (l *LMS) AccountLookups() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lookups
}

// username returns the username of the email's account; ok is false when
// it has none. An account the test did not name is named after the
// email's local part. l.mu is held.
func (l *LMS) username(email string) (string, bool) {
	key := strings.ToLower(email)
	if l.kinds[key] != Enrolled || !strings.Contains(key, "@") {
		return "", false
	}
	if u, ok := l.usernames[key]; ok {
		return u, true
	}
	base, _, _ := strings.Cut(key, "@")
	u := base
	for n := 2; l.emails[u] != ""; n++ {
		u = base + strconv.Itoa(n)
	}
	l.usernames[key], l.emails[u] = u, key
	return u, true
}

// apiCheck answers a call to the accounts or Enrollment API as the LMS
// would before looking at it: injected faults, then authentication. ok is
// false when it has answered. l.mu is held.
func (l *LMS) apiCheck(w http.ResponseWriter, r *http.Request) (ok bool) {
	if l.fault != nil {
		if status, ok := l.fault(r); ok {
			if status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", strconv.Itoa(int(l.retryAfter.Seconds()+0.999)))
			}
			http.Error(w, http.StatusText(status), status)
			return false
		}
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "JWT ")
	if tok == "" || !l.tokens[tok] {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"detail": "Authentication credentials were not provided."})
		return false
	}
	return true
}

// handleAccounts answers GET /api/user/v1/accounts?email=: a list of the
// one matching account, as newer releases do, or 404.
func (l *LMS) handleAccounts(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lookups++
	if !l.apiCheck(w, r) {
		return
	}
	email := r.URL.Query().Get("email")
	u, ok := l.username(email)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"developer_message": "no user with this email"})
		return
	}
	writeJSON(w, http.StatusOK, []map[string]any{{"username": u, "email": email, "is_active": true}})
}

// handleEnrollment answers POST /api/enrollment/v1/enrollment as the LMS
// does for global staff: it enrolls an account in any available mode,
// changes the mode of an existing enrollment, or deactivates it (in its
// own mode only).
func (l *LMS) handleEnrollment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User          string `json:"user"`
		Mode          string `json:"mode"`
		IsActive      *bool  `json:"is_active"`
		CourseDetails struct {
			CourseID string `json:"course_id"`
		} `json:"course_details"`
	}
	decodeErr := json.NewDecoder(r.Body).Decode(&req)
	l.mu.Lock()
	defer l.mu.Unlock()
	call := EnrollmentCall{Time: time.Now(), User: req.User, Course: req.CourseDetails.CourseID, Mode: req.Mode,
		IsActive: req.IsActive == nil || *req.IsActive}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	defer func() { call.Status = rec.status; l.apiCalls = append(l.apiCalls, call) }()
	if !l.apiCheck(rec, r) {
		return
	}
	course, mode := call.Course, call.Mode
	email, known := l.emails[req.User]
	message := func(status int, format string, args ...any) {
		writeJSON(rec, status, map[string]string{"message": fmt.Sprintf(format, args...)})
	}
	switch {
	case decodeErr != nil || course == "":
		message(http.StatusBadRequest, "Course ID must be specified to create a new enrollment.")
		return
	case !known:
		message(http.StatusNotAcceptable, "The user %s does not exist.", req.User)
		return
	case !courseKey.MatchString(course) || len(l.courses) > 0 && !l.courses[course]:
		message(http.StatusBadRequest, "No course '%s' found for enrollment", course)
		return
	}
	modes := l.modes[course]
	if len(modes) == 0 {
		modes = l.defaultModes
	}
	if mode == "" {
		mode = defaultMode
	}
	if !slices.Contains(modes, mode) {
		message(http.StatusBadRequest, "The [%s] course mode is expired or otherwise unavailable for course run [%s].", mode, course)
		return
	}
	key := pair{course, email}
	e := l.enrollments[key]
	if e == nil {
		e = &enrollment{}
		l.enrollments[key] = e
	}
	if e.enrolled && !call.IsActive && e.mode != mode {
		message(http.StatusBadRequest, "Enrollment mode mismatch: active mode=%s, requested mode=%s. Won't deactivate.", e.mode, mode)
		return
	}
	e.enrolled, e.mode = call.IsActive, mode
	writeJSON(rec, http.StatusOK, l.enrollmentJSON(course, req.User, e))
}

// handleEnrollments answers GET /api/enrollment/v1/enrollments?course_id=&username=a,b
// with the enrollments of those accounts in the course, in one page.
func (l *LMS) handleEnrollments(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.apiCheck(w, r) {
		return
	}
	q := r.URL.Query()
	course := q.Get("course_id")
	results := []map[string]any{}
	for _, u := range splitList(q.Get("username")) {
		email, ok := l.emails[u]
		if !ok {
			continue
		}
		if e := l.enrollments[pair{course, email}]; e != nil && e.mode != "" {
			results = append(results, l.enrollmentJSON(course, u, e))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"next": nil, "previous": nil, "results": results})
}

func (l *LMS) enrollmentJSON(course, username string, e *enrollment) map[string]any {
	return map[string]any{"mode": e.mode, "is_active": e.enrolled, "user": username,
		"course_details": map[string]any{"course_id": course}}
}
