package edx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// bulkEnrollPath has no trailing slash: newer LMS releases route only this form.
const bulkEnrollPath = "/api/bulk_enroll/v1/bulk_enroll"

// A result lists every identifier of every course; a few MB is far beyond
// any batch we send and keeps a broken LMS from exhausting memory.
const maxResult = 8 << 20

// BulkEnrollRequest is one call to the bulk enrollment API.
type BulkEnrollRequest struct {
	Action        string   // "enroll" (when empty) or "unenroll"
	Courses       []string // course ids, e.g. course-v1:edX+DemoX+2024
	Identifiers   []string // emails or usernames
	AutoEnroll    bool     // learners without an account yet are enrolled when they register
	EmailStudents bool     // the LMS emails each learner
}

// BulkEnrollResult is the LMS's answer to a successful call. A successful
// call does not mean every learner was enrolled: look at each result.
type BulkEnrollResult struct {
	Courses map[string]CourseResult `json:"courses"`
}

// CourseResult holds the outcomes for one course.
type CourseResult struct {
	Action     string             `json:"action"`
	AutoEnroll bool               `json:"auto_enroll"`
	Results    []IdentifierResult `json:"results"`
}

// IdentifierResult is the outcome for one learner in one course.
// Either InvalidIdentifier or Error is set, or Before and After are.
type IdentifierResult struct {
	Identifier        string           `json:"identifier"`
	InvalidIdentifier bool             `json:"invalidIdentifier"` // unknown username or bad email
	Error             bool             `json:"error"`             // the LMS failed on this learner
	Before            *EnrollmentState `json:"before"`
	After             *EnrollmentState `json:"after"`
}

// EnrollmentState is a learner's standing in a course. After an enroll,
// Enrollment true means enrolled; User false with Allowed true means the
// learner has no account yet and will be enrolled on registration.
type EnrollmentState struct {
	Enrollment bool `json:"enrollment"`
	AutoEnroll bool `json:"auto_enroll"`
	User       bool `json:"user"`
	Allowed    bool `json:"allowed"`
}

// Lookup finds the result for an identifier (compared case-insensitively,
// as the LMS matches emails) in a course.
func (r *BulkEnrollResult) Lookup(course, identifier string) (IdentifierResult, bool) {
	if r == nil {
		return IdentifierResult{}, false
	}
	for _, res := range r.Courses[course].Results {
		if strings.EqualFold(res.Identifier, identifier) {
			return res, true
		}
	}
	return IdentifierResult{}, false
}

// BulkEnrollURL is where the client calls the bulk enrollment view.
func (c *Client) BulkEnrollURL() string { return c.base + bulkEnrollPath }

// BulkEnroll enrolls (or unenrolls) identifiers in courses in one call.
// A refused token is replaced and the call retried once. Errors are
// *APIError for answers other than 200, with Status 429 and RetryAfter set
// without calling the LMS while an earlier 429 asks to wait. A 200 whose
// body cannot be read is a plain error, which callers treat as transient:
// enrolling again is harmless.
func (c *Client) BulkEnroll(ctx context.Context, r BulkEnrollRequest) (*BulkEnrollResult, error) {
	action := r.Action
	if action == "" {
		action = "enroll"
	}
	form := url.Values{
		"action":         {action},
		"auto_enroll":    {strconv.FormatBool(r.AutoEnroll)},
		"email_students": {strconv.FormatBool(r.EmailStudents)},
		"courses":        {strings.Join(r.Courses, ",")},
		"identifiers":    {strings.Join(r.Identifiers, ",")},
	}
	a, err := c.authorized(ctx, "bulk enroll", EndpointBulkEnroll, http.MethodPost, c.BulkEnrollURL(), formBody(form), maxResult)
	if err != nil {
		return nil, err
	}
	if a.status != http.StatusOK {
		return nil, c.bulkEnrollError(a, r.Courses)
	}
	c.enrolled.Store(true)
	var res BulkEnrollResult
	if err := json.Unmarshal(a.body, &res); err != nil {
		return nil, fmt.Errorf("bulk enroll: read answer: %w", err)
	}
	if res.Courses == nil {
		return nil, errors.New("bulk enroll: read answer: no courses")
	}
	return &res, nil
}

func (c *Client) bulkEnrollError(a answer, courses []string) *APIError {
	e := c.apiError("bulk enroll", a)
	list := strings.Join(courses, ", ")
	switch {
	case a.status == http.StatusNotFound && !c.enrolled.Load():
		// The LMS does not route the view unless it is enabled, and we
		// have never seen it answer: the setting is the likelier cause.
		e.Detail = "the bulk enrollment view may be disabled (ENABLE_BULK_ENROLLMENT_VIEW must be true in the LMS settings) or course " + list + " does not exist"
	case a.status == http.StatusNotFound:
		e.Detail = "course not found: " + list
	}
	return e
}

// ProbeBulkEnroll posts an empty form without credentials and returns the
// status: 401 or 403 means the bulk enrollment view is enabled, 404 that it
// is not. The error is only for failing to get an answer.
func (c *Client) ProbeBulkEnroll(ctx context.Context) (status int, err error) {
	a, err := c.send(ctx, EndpointBulkEnroll, c.post, http.MethodPost, c.BulkEnrollURL(), formBody(url.Values{}), nil, 64<<10)
	if err != nil {
		return 0, fmt.Errorf("probe bulk enroll: %w", err)
	}
	return a.status, nil
}
