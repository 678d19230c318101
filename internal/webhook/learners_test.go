package webhook

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLearners(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   []string
	}{
		{"none", nil, nil},
		{"empty", []string{"", " ", ",;\n\r"}, nil},
		{"one", []string{" a@example.com "}, []string{"a@example.com"}},
		{"separators", []string{"a@x.org,b@x.org;c@x.org\nd@x.org\r\ne@x.org"},
			[]string{"a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"}},
		{"spaces are no separators", []string{"a@x.org b@x.org"}, []string{"a@x.org b@x.org"}},
		{"first spelling kept", []string{"A@X.org", "a@x.ORG;b@x.org", "B@X.ORG"}, []string{"A@X.org", "b@x.org"}},
		{"unicode case", []string{"ſtraße@x.org", "STRAßE@x.org", "straSSe@x.org"}, []string{"ſtraße@x.org", "straSSe@x.org"}},
		{"kelvin sign", []string{"\u212a@x.org", "k@x.org"}, []string{"\u212a@x.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l learners
			for _, v := range tt.values {
				l.add(v)
			}
			if diff := cmp.Diff(tt.want, l.list); diff != "" {
				t.Errorf("learners mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A line of many learners finds duplicates as a short one does.
func TestManyLearners(t *testing.T) {
	var values, want []string
	for i := range 3 * manyLearners {
		want = append(want, fmt.Sprintf("Learner%d@example.com", i))
	}
	values = append(values, strings.Join(want, ","))
	for i := range 3 * manyLearners {
		values = append(values, fmt.Sprintf("learner%d@EXAMPLE.COM;\u212aelvin@example.com", i))
	}
	want = append(want, "\u212aelvin@example.com")
	var l learners
	for _, v := range values {
		l.add(v)
	}
	if diff := cmp.Diff(want, l.list); diff != "" {
		t.Errorf("learners mismatch (-want +got):\n%s", diff)
	}
}

// foldKey draws the line strings.EqualFold draws.
func TestFoldKey(t *testing.T) {
	words := []string{"a", "A", "k", "K", "\u212a", "s", "S", "ſ", "ß", "ẞ", "ss", "σ", "ς", "Σ", "i", "I", "İ", "ı",
		"µ", "μ", "Μ", "ǅ", "ǆ", "Ǆ", "\uFFFD", "é", "É", "e\u0301"}
	for _, a := range words {
		for _, b := range words {
			if got, want := foldKey(a) == foldKey(b), strings.EqualFold(a, b); got != want {
				t.Errorf("%q, %q: same key %v, EqualFold %v", a, b, got, want)
			}
		}
	}
}
