package jobs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

const verifiedCourse = "course-v1:Org+Verified+1"

// verified is an item of a course sold in the verified mode, as the
// course settings make it.
func verified(email string) enroll.Item {
	return enroll.Item{LineItemID: 1, SKU: "CERT101", Email: email, CourseID: verifiedCourse, Mode: "verified"}
}

// modesFixture is a fixture whose LMS offers audit and verified in
// verifiedCourse, with the registration check every check (0: hourly).
func modesFixture(t *testing.T, d store.Dialect, opts jobs.Options) *fixture {
	t.Helper()
	f := newFixture(t, d, 3)
	stop(t, f.queue)
	f.queue = f.startWith(t, opts)
	f.lms.AddCourseMode(verifiedCourse, "audit")
	f.lms.AddCourseMode(verifiedCourse, "verified")
	return f
}

// itemOf reads the order's only item.
func (f *fixture) itemOf(t *testing.T, id int64) store.ItemRecord {
	t.Helper()
	o, err := f.db.FindOrder(context.Background(), enroll.Shopify, source, id)
	if err != nil {
		t.Fatal(err)
	}
	return o.Items[0]
}

// waitStatus waits until the order's only item has the status.
func (f *fixture) waitStatus(t *testing.T, id int64, s enroll.ItemStatus) store.ItemRecord {
	t.Helper()
	waitFor(t, "the item to be "+string(s), func() bool { return f.itemOf(t, id).Status == s })
	return f.itemOf(t, id)
}

func (f *fixture) wantEnrollment(t *testing.T, email, mode string, active bool) {
	t.Helper()
	if m, a := f.lms.EnrollmentOf(verifiedCourse, email); m != mode || a != active {
		t.Errorf("%s: enrollment %q, active %v; want %q, active %v", email, m, a, mode, active)
	}
}

func TestModes(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		t.Run("an existing account is enrolled in the mode", func(t *testing.T) {
			f := modesFixture(t, d, jobs.Options{})
			it := f.settled(t, f.order(t, verified("has@example.com"))).Items[0]
			if it.Status != enroll.ItemEnrolled || it.LastError != "" {
				t.Fatalf("item %s (%q); want enrolled", it.Status, it.LastError)
			}
			f.wantEnrollment(t, "has@example.com", "verified", true)
			if calls := f.lms.EnrollmentCalls(); len(calls) != 1 || calls[0].Mode != "verified" || !calls[0].IsActive {
				t.Errorf("enrollment calls %+v; want one, in verified", calls)
			}
			if n := len(f.lms.Calls()); n != 0 {
				t.Errorf("%d bulk enrollment calls; want none", n)
			}
		})
		t.Run("an audit enrollment is upgraded", func(t *testing.T) {
			f := modesFixture(t, d, jobs.Options{})
			f.settled(t, f.order(t, item(verifiedCourse, "audit@example.com")))
			f.wantEnrollment(t, "audit@example.com", "audit", true)
			if it := f.settled(t, f.order(t, verified("audit@example.com"))).Items[0]; it.Status != enroll.ItemEnrolled {
				t.Fatalf("item %s (%q); want enrolled", it.Status, it.LastError)
			}
			f.wantEnrollment(t, "audit@example.com", "verified", true)
		})
		t.Run("a mode the course does not offer fails with the LMS's message", func(t *testing.T) {
			f := modesFixture(t, d, jobs.Options{})
			it := f.settled(t, f.order(t, enroll.Item{LineItemID: 1, SKU: "PRO", Email: "pro@example.com",
				CourseID: verifiedCourse, Mode: "professional"})).Items[0]
			if it.Status != enroll.ItemFailed ||
				!strings.Contains(it.LastError, "The [professional] course mode is expired or otherwise unavailable for course run") {
				t.Fatalf("item %s (%q); want failed with the LMS's message", it.Status, it.LastError)
			}
			if n := len(f.lms.EnrollmentCalls()); n != 1 {
				t.Errorf("%d enrollment calls; want 1: a 400 is not retried", n)
			}
		})
		t.Run("a learner who registers later gets the mode", func(t *testing.T) {
			f := modesFixture(t, d, jobs.Options{RegistrationCheck: 20 * time.Millisecond})
			f.lms.SetIdentifier("later@example.com", edxtest.NoAccount)
			id := f.order(t, verified("later@example.com"))
			it := f.waitStatus(t, id, enroll.ItemAwaitingRegistration)
			attempts, err := f.db.Attempts(context.Background(), it.ID)
			if err != nil || len(attempts) != 1 || attempts[0].Outcome != enroll.OutcomeAllowed ||
				!strings.Contains(attempts[0].Detail, "no account yet") || !f.lms.Allowed(verifiedCourse, "later@example.com") {
				t.Errorf("attempts %+v, %v, allowed %v; want one saying why, and the learner allowed", attempts, err,
					f.lms.Allowed(verifiedCourse, "later@example.com"))
			}
			if calls := f.lms.Calls(); len(calls) != 1 || !calls[0].AutoEnroll {
				t.Errorf("bulk calls %+v; want one with auto_enroll", calls)
			}
			if o, _ := f.db.FindOrder(context.Background(), enroll.Shopify, source, id); o.Status != enroll.OrderProcessed {
				t.Errorf("order %s while its learner has not registered; want %s", o.Status, enroll.OrderProcessed)
			}
			f.lms.Register("later@example.com", "later_learner")
			it = f.waitStatus(t, id, enroll.ItemEnrolled)
			f.wantEnrollment(t, "later@example.com", "verified", true)
			attempts, err = f.db.Attempts(context.Background(), it.ID)
			if err != nil || len(attempts) != 2 || attempts[1].Outcome != enroll.OutcomeEnrolled {
				t.Errorf("attempts %+v, %v; want allowed, then enrolled", attempts, err)
			}
		})
		t.Run("a learner who does not register within the wait", func(t *testing.T) {
			f := modesFixture(t, d, jobs.Options{RegistrationCheck: 20 * time.Millisecond, RegistrationWait: time.Millisecond})
			f.lms.SetIdentifier("never@example.com", edxtest.NoAccount)
			it := f.waitStatus(t, f.order(t, verified("never@example.com")), enroll.ItemFailed)
			if !strings.Contains(it.LastError, "did not register within 1ms") {
				t.Errorf("last error %q", it.LastError)
			}
		})
	})
}

func TestModedRefunds(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		t.Run("an enrollment in a mode is deactivated", func(t *testing.T) {
			f := modesFixture(t, d, jobs.Options{})
			id := f.order(t, verified("refunded@example.com"))
			f.settled(t, id)
			f.want(t, id, enroll.WantUnenrolled)
			if it := f.settled(t, id).Items[0]; it.Status != enroll.ItemUnenrolled {
				t.Fatalf("item %s (%q); want unenrolled", it.Status, it.LastError)
			}
			f.wantEnrollment(t, "refunded@example.com", "verified", false)
			calls := f.lms.EnrollmentCalls()
			if last := calls[len(calls)-1]; last.IsActive || last.Mode != "verified" || last.Status != 200 {
				t.Errorf("last enrollment call %+v; want a deactivation in verified", last)
			}
		})
		t.Run("a learner still without an account is no longer allowed", func(t *testing.T) {
			f := modesFixture(t, d, jobs.Options{})
			f.lms.SetIdentifier("gone@example.com", edxtest.NoAccount)
			id := f.order(t, verified("gone@example.com"))
			f.waitStatus(t, id, enroll.ItemAwaitingRegistration)
			f.want(t, id, enroll.WantUnenrolled)
			if it := f.settled(t, id).Items[0]; it.Status != enroll.ItemUnenrolled {
				t.Fatalf("item %s (%q); want unenrolled", it.Status, it.LastError)
			}
			if f.lms.Allowed(verifiedCourse, "gone@example.com") {
				t.Error("the email is still allowed to enroll on registration")
			}
			calls := f.lms.Calls()
			if last := calls[len(calls)-1]; last.Action != "unenroll" {
				t.Errorf("last bulk call %+v; want an unenroll", last)
			}
		})
		t.Run("a learner enrolled in the default mode on registration", func(t *testing.T) {
			f := modesFixture(t, d, jobs.Options{})
			// The check that runs at start has run: the next one is an hour away.
			waitFor(t, "the first registration check", func() bool { return registrationChecks(t, f.db) >= 1 })
			f.lms.SetIdentifier("quick@example.com", edxtest.NoAccount)
			id := f.order(t, verified("quick@example.com"))
			f.waitStatus(t, id, enroll.ItemAwaitingRegistration)
			f.lms.Register("quick@example.com", "quick")
			f.wantEnrollment(t, "quick@example.com", "audit", true)
			f.want(t, id, enroll.WantUnenrolled)
			if it := f.settled(t, id).Items[0]; it.Status != enroll.ItemUnenrolled {
				t.Fatalf("item %s (%q); want unenrolled", it.Status, it.LastError)
			}
			f.wantEnrollment(t, "quick@example.com", "audit", false)
		})
	})
}

// registrationChecks counts the registration checks that have run.
func registrationChecks(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	err := db.SQL().QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'registration_check' AND state = 'completed'`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
