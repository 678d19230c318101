package edx

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// courseTTL bounds how long a SKU's course is remembered: long enough to
// spare the LMS a lookup per order, short enough to follow a changed redirect.
const courseTTL = 10 * time.Minute

var courseInPath = regexp.MustCompile(`course-v1:[^/]+`)

type cachedCourse struct {
	id      string
	expires time.Time
}

// CourseID returns the course id a shop SKU stands for. A SKU that is
// already a course id (course-v1:...) is returned as is. Otherwise the LMS
// page {BaseURL}/{SKUPrefix}{sku} is expected to redirect to a URL whose
// path holds the course id, as course about pages do. An error wrapping
// ErrNoCourse is permanent; other errors are transient.
func (c *Client) CourseID(ctx context.Context, sku string) (string, error) {
	sku = strings.TrimSpace(sku)
	if sku == "" {
		return "", fmt.Errorf("course for empty sku: %w", ErrNoCourse)
	}
	if strings.HasPrefix(sku, "course-v1:") {
		return sku, nil
	}
	c.courseMu.Lock()
	cached, ok := c.courses[sku]
	c.courseMu.Unlock()
	if ok && c.now().Before(cached.expires) {
		return cached.id, nil
	}

	a, err := c.send(ctx, EndpointCourseLookup, c.http, http.MethodHead, c.base+"/"+c.skuPrefix+url.PathEscape(sku), nil, nil, 0)
	if err != nil {
		return "", fmt.Errorf("course for sku %q: %w", sku, err)
	}
	if a.status >= 500 || a.status == http.StatusTooManyRequests {
		return "", fmt.Errorf("course for sku %q: LMS answered %d %s", sku, a.status, http.StatusText(a.status))
	}
	id := courseInPath.FindString(a.url.Path)
	if id == "" {
		// The LMS answered: its status goes with the error, for the record.
		return "", fmt.Errorf("course for sku %q: %w: %w", sku, ErrNoCourse,
			&APIError{Op: "course lookup", Status: a.status, Detail: "no course id in " + a.url.Path})
	}
	c.courseMu.Lock()
	c.courses[sku] = cachedCourse{id: id, expires: c.now().Add(courseTTL)}
	c.courseMu.Unlock()
	return id, nil
}
