package edx

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// enrollmentPath is the Enrollment API, which enrolls an existing account
// in a chosen mode (the bulk enrollment API cannot choose one).
const enrollmentPath = "/api/enrollment/v1/enrollment"

// SetEnrollment enrolls the account username in a course, in mode, or
// changes the mode of its enrollment (an audit enrollment is upgraded);
// with active false it deactivates the enrollment. A 400 (a mode the
// course does not offer, an unknown course, a deactivation in a mode other
// than the enrollment's) is a permanent *APIError carrying the LMS's
// message; a 429, 5xx or no answer is transient, as for BulkEnroll.
func (c *Client) SetEnrollment(ctx context.Context, username, courseID, mode string, active bool) error {
	const op = "enrollment"
	type courseDetails struct {
		CourseID string `json:"course_id"`
	}
	data, err := json.Marshal(struct {
		User          string        `json:"user"`
		Mode          string        `json:"mode"`
		IsActive      bool          `json:"is_active"`
		CourseDetails courseDetails `json:"course_details"`
	}{username, mode, active, courseDetails{courseID}})
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	a, err := c.authorized(ctx, op, EndpointEnrollment, http.MethodPost, c.base+enrollmentPath, jsonBody(data), 1<<20)
	switch {
	case err != nil:
		return err
	case a.status == http.StatusOK:
		return nil
	}
	e := c.apiError(op, a)
	// The API explains a refusal in "message".
	var answer struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(a.body, &answer) == nil && answer.Message != "" {
		e.Detail = summary([]byte(answer.Message))
	}
	return e
}
