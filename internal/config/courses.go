package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Course is a course sold in an enrollment mode (a certificate track such
// as verified): its items are enrolled in that mode through the
// Enrollment API. It is matched by SKU, or, without one, by the course id
// that is the items' SKU.
type Course struct {
	SKU string
	// CourseID is the course; with a SKU, it saves looking the SKU up.
	CourseID string
	Mode     string
}

// key is the SKU of the items a course entry matches.
func (c Course) key() string {
	if c.SKU != "" {
		return c.SKU
	}
	return c.CourseID
}

// Course returns the course settings of the items with this SKU.
func (c Config) Course(sku string) (Course, bool) {
	sku = strings.TrimSpace(sku)
	for _, co := range c.Courses {
		if co.key() == sku && sku != "" {
			return co, true
		}
	}
	return Course{}, false
}

// ApplyCourses sets the mode, and the course id when the settings name
// it, of the items sold as a course of the settings.
func (c Config) ApplyCourses(items []enroll.Item) {
	if len(c.Courses) == 0 {
		return
	}
	for i := range items {
		co, ok := c.Course(items[i].SKU)
		if !ok {
			continue
		}
		items[i].Mode = co.Mode
		if co.CourseID != "" {
			items[i].CourseID = co.CourseID
		}
	}
}

// validateCourses checks what the rows cannot: that each entry names its
// items by a SKU or a course id, and that no two entries name the same.
func (c Config) validateCourses() []error {
	var errs []error
	seen := map[string]int{}
	for i, co := range c.Courses {
		entry := fmt.Sprintf("courses[%d]", i)
		key := co.key()
		switch j, dup := seen[key]; {
		case key == "":
			errs = append(errs, fmt.Errorf("%s: %w", c.Source(entry+".sku"), errors.New("must be set, or course_id: name the course's items")))
		case dup && co.SKU == "":
			// A repeated sku is reported with the list's ids.
			errs = append(errs, fmt.Errorf("%s: %q is already configured as courses[%d]", c.Source(entry+".course_id"), key, j))
		case !dup:
			seen[key] = i
		}
	}
	return errs
}

func courseID(s string) error {
	if s != "" && !strings.HasPrefix(s, "course-v1:") {
		return fmt.Errorf("must be a course id such as course-v1:Org+Course+Run, got %q", s)
	}
	return nil
}

// age is a duration in days (30d) or a Go duration (720h), positive.
func age[S any](get func(*S) *time.Duration) kind {
	return field[S, time.Duration]{get: get, valid: positive[time.Duration], fromText: ParseRetention, format: formatRetention,
		fromYAML: func(n *yaml.Node, _ bool) (time.Duration, error) {
			s, err := yamlValue[string](n, false)
			if err != nil {
				return 0, err
			}
			return ParseRetention(s)
		}}
}
