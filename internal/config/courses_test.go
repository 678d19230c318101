package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

func TestCoursesChecked(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // the whole error, after the file's name
	}{
		{name: "no mode", yaml: "courses:\n  - sku: PY101\n", want: "courses[0].mode: must not be empty"},
		{name: "blank mode", yaml: "courses:\n  - sku: PY101\n    mode: ' '\n", want: "courses[0].mode: must not be empty"},
		{name: "neither sku nor course id", yaml: "courses:\n  - mode: verified\n",
			want: "courses[0].sku: must be set, or course_id: name the course's items"},
		{name: "not a course id", yaml: "courses:\n  - sku: PY101\n    course_id: PY101\n    mode: verified\n",
			want: `courses[0].course_id: must be a course id such as course-v1:Org+Course+Run, got "PY101"`},
		{name: "same sku twice", yaml: "courses:\n  - sku: PY101\n    mode: verified\n  - sku: PY101\n    mode: audit\n",
			want: `courses[1].sku: "PY101" is already configured as courses[0]`},
		{name: "a course id that is another's sku", yaml: "courses:\n  - sku: course-v1:O+C+1\n    mode: verified\n" +
			"  - course_id: course-v1:O+C+1\n    mode: professional\n",
			want: `courses[1].course_id: "course-v1:O+C+1" is already configured as courses[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "c.yaml", tt.yaml)
			_, _, err := Load(mapenv(nil), Flags{File: path})
			if want := "--config " + path + ": " + tt.want; err == nil || err.Error() != want {
				t.Errorf("error %v; want %s", err, want)
			}
		})
	}
}

// The Django app had no courses: a courses section in its file is ignored
// with a warning, as any key it did not know.
func TestCoursesNotInTheLegacyFile(t *testing.T) {
	path := writeFile(t, "legacy.yaml", "WEBHOOK_RECEIVER_SETTINGS:\n  courses:\n    sku: PY101\n")
	c, warnings := mustLoad(t, map[string]string{envLegacyFile: path}, "")
	if len(c.Courses) != 0 || len(warnings) == 0 || !strings.Contains(strings.Join(warnings, "\n"), "ignoring unknown key WEBHOOK_RECEIVER_SETTINGS.courses") {
		t.Errorf("courses %v, warnings %q; want none, and a warning", c.Courses, warnings)
	}
}

func TestApplyCourses(t *testing.T) {
	c := Config{Courses: []Course{
		{SKU: "PY101", Mode: "verified"},
		{SKU: "GO201", CourseID: "course-v1:Org+Go+1", Mode: "professional"},
		{CourseID: "course-v1:Org+Cert+1", Mode: "verified"},
	}}
	items := []enroll.Item{
		{SKU: "PY101", Email: "a@example.com"},
		{SKU: "GO201", Email: "a@example.com"},
		{SKU: "course-v1:Org+Cert+1", Email: "a@example.com"},
		{SKU: "course-v1:Org+Go+1", Email: "a@example.com"},
		{SKU: "", Email: "a@example.com"},
		{SKU: "OTHER", Email: "a@example.com", CourseID: ""},
	}
	c.ApplyCourses(items)
	want := []enroll.Item{
		{SKU: "PY101", Email: "a@example.com", Mode: "verified"},
		{SKU: "GO201", Email: "a@example.com", Mode: "professional", CourseID: "course-v1:Org+Go+1"},
		{SKU: "course-v1:Org+Cert+1", Email: "a@example.com", Mode: "verified", CourseID: "course-v1:Org+Cert+1"},
		{SKU: "course-v1:Org+Go+1", Email: "a@example.com"}, // sold by its SKU only
		{SKU: "", Email: "a@example.com"},
		{SKU: "OTHER", Email: "a@example.com"},
	}
	if diff := cmp.Diff(want, items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}
