package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// The registration check: an item of a course sold in a mode whose learner
// had no account is allowed (the LMS enrolls them on registration, in the
// course's default mode) and awaits registration. A periodic job, which
// River runs on its leader only (one replica at a time), looks the
// learners up and sets the mode of those who have registered since; an
// item that waited longer than RegistrationWait fails.

// RegistrationArgs start a check of the items awaiting registration, from
// the item after AfterID: a check that has more items than one job should
// take goes on in a job of its own.
type RegistrationArgs struct {
	AfterID int64 `json:"after_id,omitempty"`
}

// Kind names the job in the queue's tables.
func (RegistrationArgs) Kind() string { return "registration_check" }

// registrationPage is how many items one check job takes: two LMS calls
// each at most, well within a job's timeout at the default rate limit.
const registrationPage = 50

// registrationAttempts bounds the runs of a check that fails (the
// database is down): the next periodic check comes soon enough.
const registrationAttempts = 3

// registrationWorker runs the registration check.
type registrationWorker struct {
	river.WorkerDefaults[RegistrationArgs]
	db   *store.DB
	lms  *edx.Client
	opts Options
}

// periodicRegistrationCheck is the check every RegistrationCheck, the first
// when the queue starts.
func periodicRegistrationCheck(every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return RegistrationArgs{}, &river.InsertOpts{MaxAttempts: registrationAttempts}
	}, &river.PeriodicJobOpts{ID: RegistrationArgs{}.Kind(), RunOnStart: true})
}

// Work checks one page of the items awaiting registration, and leaves the
// next page to a job of its own.
func (w *registrationWorker) Work(ctx context.Context, job *river.Job[RegistrationArgs]) error {
	items, err := w.db.AwaitingRegistration(ctx, job.Args.AfterID, registrationPage)
	if err != nil || len(items) == 0 {
		return err
	}
	byID := map[int64]store.Awaiting{}
	var ids []int64
	for _, it := range items {
		byID[it.ItemID] = it
		ids = append(ids, it.ItemID)
	}
	claimed, err := w.db.ClaimAwaiting(ctx, ids, w.opts.RescueAfter)
	if err != nil {
		return err
	}
	var attempts []store.Attempt
	var unchanged []int64
	stopped := false
	for _, id := range claimed {
		if stopped || ctx.Err() != nil {
			unchanged = append(unchanged, id)
			continue
		}
		a, ok, err := w.check(ctx, byID[id])
		switch {
		case err != nil:
			// The LMS is in trouble: the next check tries again.
			w.opts.Logger.WarnContext(ctx, "registration check stopped", "item_id", id, "error", err)
			stopped = true
			unchanged = append(unchanged, id)
		case ok:
			attempts = append(attempts, a)
			w.log(ctx, byID[id], a)
		default:
			unchanged = append(unchanged, id)
		}
	}
	// Recorded even when the job's own context has run out.
	if err := w.record(context.WithoutCancel(ctx), attempts); err != nil {
		w.db.Release(context.WithoutCancel(ctx), claimed)
		return err
	}
	w.count(attempts)
	if err := w.db.Release(context.WithoutCancel(ctx), unchanged); err != nil {
		return err
	}
	if stopped || len(items) < registrationPage {
		return nil
	}
	next := RegistrationArgs{AfterID: items[len(items)-1].ItemID}
	if _, err := river.ClientFromContext[*sql.Tx](ctx).Insert(ctx, next, &river.InsertOpts{MaxAttempts: registrationAttempts}); err != nil {
		return fmt.Errorf("enqueue the check of the items after %d: %w", next.AfterID, err)
	}
	return nil
}

// check looks one item's learner up: ok is true with the attempt to
// record when the item is done waiting (enrolled in its mode, failed for
// a mode the course refuses, or out of time), false while it waits. An
// error means the LMS could not answer now.
func (w *registrationWorker) check(ctx context.Context, it store.Awaiting) (store.Attempt, bool, error) {
	a := store.Attempt{ItemID: it.ItemID, CourseID: it.CourseID, Counted: true, Want: want(it.Work)}
	if a.Want != enroll.WantEnrolled {
		return a, false, nil // a refund's job unenrolls it
	}
	if time.Since(it.Since) >= w.opts.RegistrationWait {
		a.Outcome, a.Status = enroll.OutcomeFailed, enroll.ItemFailed
		a.Detail = fmt.Sprintf("the learner did not register within %s: the LMS still enrolls them when they register, "+
			"in the course's default mode, not in %s", days(w.opts.RegistrationWait), it.Mode)
		return a, true, nil
	}
	username, found, err := w.lms.AccountByEmail(ctx, it.Email)
	if err != nil || !found {
		return a, false, err
	}
	if err := w.lms.SetEnrollment(ctx, username, it.CourseID, it.Mode, true); err != nil {
		out := fromError(err, it.CourseID)
		if out.status != enroll.ItemFailed {
			return a, false, err
		}
		// A mode the course no longer offers: waiting will not help.
		a.Outcome, a.Status, a.HTTPStatus, a.Detail = out.name, out.status, out.httpStatus, out.detail
		return a, true, nil
	}
	a.Outcome, a.Status, a.HTTPStatus = enroll.OutcomeEnrolled, enroll.ItemEnrolled, http.StatusOK
	return a, true, nil
}

func (w *registrationWorker) record(ctx context.Context, attempts []store.Attempt) error {
	if len(attempts) == 0 {
		return nil
	}
	return w.db.RecordAttempts(ctx, attempts)
}

func (w *registrationWorker) log(ctx context.Context, it store.Awaiting, a store.Attempt) {
	logAttempt(ctx, w.opts.Logger, it.Work, a)
}

func (w *registrationWorker) count(attempts []store.Attempt) {
	for _, a := range attempts {
		w.opts.Metrics.ItemDone(a.Status)
	}
}

// days writes a wait in days when it is whole days: "30 days".
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if n := d / (24 * time.Hour); n != 1 {
			return fmt.Sprintf("%d days", n)
		}
		return "1 day"
	}
	return d.String()
}
