package edx

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

// observed records what an Observer hears.
type observed struct {
	mu       sync.Mutex
	requests []string // "endpoint status"
	untimed  int      // requests reported to take no time
	tokens   int
}

func (o *observed) LMSRequest(endpoint string, status int, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if took <= 0 {
		o.untimed++
	}
	o.requests = append(o.requests, fmt.Sprintf("%s %d", endpoint, status))
}

func (o *observed) TokenRefreshed() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tokens++
}

func TestObserverHearsEveryRequest(t *testing.T) {
	lms := edxtest.New(t)
	lms.AddSKU("sku/ABC-1", course)
	var obs observed
	c := newClient(lms, func(o *Options) { o.Observer, o.SKUPrefix = &obs, "sku/" })
	ctx := t.Context()

	if _, err := enroll(ctx, c, "learner@example.com"); err != nil {
		t.Fatal(err)
	}
	lms.ExpireTokens()
	if _, err := enroll(ctx, c, "learner@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CourseID(ctx, "ABC-1"); err != nil {
		t.Fatal(err)
	}
	lms.FailNext(1, 503)
	if _, err := enroll(ctx, c, "learner@example.com"); err == nil {
		t.Fatal("enroll succeeded despite a 503")
	}
	lms.Close()
	if _, err := enroll(ctx, c, "learner@example.com"); err == nil {
		t.Fatal("enroll succeeded with the LMS gone")
	}

	want := []string{
		"token 200", "bulk_enroll 200",
		"bulk_enroll 401", "token 200", "bulk_enroll 200", // a refused token is replaced
		"course_lookup 200", // after following the redirect
		"bulk_enroll 503",
		"bulk_enroll 0", // no answer
	}
	if diff := cmp.Diff(want, obs.requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if obs.untimed > 0 {
		t.Errorf("%d requests reported without a duration", obs.untimed)
	}
	if obs.tokens != 2 {
		t.Errorf("token refreshes = %d, want 2", obs.tokens)
	}
}
