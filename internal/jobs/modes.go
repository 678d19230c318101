package jobs

import (
	"context"
	"errors"
	"net/http"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Items of a course sold in a mode (a certificate track such as verified)
// go one learner at a time: the bulk enrollment API cannot choose a mode,
// and the Enrollment API, which can, needs the learner's username.

// awaitingDetail tells an operator why an item waits.
const awaitingDetail = "the learner has no account yet: the LMS enrolls them when they register, and the mode is set once they have"

// moded brings one item of a course sold in a mode to its desired state.
func (w *Worker) moded(ctx context.Context, course string, it store.Work) outcome {
	username, found, err := w.lms.AccountByEmail(ctx, it.Email)
	switch {
	case err != nil:
		return fromError(err, course)
	case want(it) == enroll.WantUnenrolled:
		return w.unenrollModed(ctx, course, it, username, found)
	case found:
		return w.setMode(ctx, course, it, username)
	}
	// No account yet: the learner is allowed, and enrolled on registration
	// (in the course's default mode); the registration check then sets
	// the mode.
	res, err := w.lms.BulkEnroll(ctx, edx.BulkEnrollRequest{Action: "enroll", Courses: []string{course},
		Identifiers: []string{it.Email}, AutoEnroll: true, EmailStudents: w.opts.EmailStudents})
	if err != nil {
		return fromError(err, course)
	}
	out := answered(fromResult(res, course, it.Email), course)
	switch out.status {
	case enroll.ItemAllowed:
		out.status, out.detail = enroll.ItemAwaitingRegistration, awaitingDetail
	case enroll.ItemEnrolled:
		// The account was created between the lookup and the call, which
		// enrolled it in the default mode: set the mode now.
		username, found, err := w.lms.AccountByEmail(ctx, it.Email)
		switch {
		case err != nil:
			return fromError(err, course)
		case !found:
			return outcome{name: enroll.OutcomeRetry, detail: "the LMS enrolled the learner but does not find their account", courseID: course}
		}
		return w.setMode(ctx, course, it, username)
	}
	return out
}

// setMode enrolls an account in the item's mode, or upgrades its
// enrollment to it.
func (w *Worker) setMode(ctx context.Context, course string, it store.Work, username string) outcome {
	if err := w.lms.SetEnrollment(ctx, username, course, it.Mode, true); err != nil {
		return fromError(err, course)
	}
	return answered(outcome{status: enroll.ItemEnrolled, name: enroll.OutcomeEnrolled}, course)
}

// unenrollModed deactivates the enrollment of an item sold in a mode. A
// learner without an account is unenrolled by the bulk API, which drops
// the email from the learners allowed to enroll on registration.
func (w *Worker) unenrollModed(ctx context.Context, course string, it store.Work, username string, found bool) outcome {
	if found {
		err := w.lms.SetEnrollment(ctx, username, course, it.Mode, false)
		var apiErr *edx.APIError
		switch {
		case err == nil:
			return answered(outcome{status: enroll.ItemUnenrolled, name: enroll.OutcomeUnenrolled}, course)
		case !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest:
			return fromError(err, course)
		}
		// The LMS deactivates only in the enrollment's own mode, and the
		// learner may be enrolled in another: registered, and enrolled in
		// the default mode, before the registration check set this one.
		// The bulk API deactivates whatever the mode.
	}
	res, err := w.lms.BulkEnroll(ctx, edx.BulkEnrollRequest{Action: "unenroll", Courses: []string{course},
		Identifiers: []string{it.Email}, EmailStudents: w.opts.EmailStudents})
	if err != nil {
		return fromError(err, course)
	}
	return answered(fromUnenrollResult(res, course, it.Email), course)
}

// answered marks an outcome as the LMS's answer for course.
func answered(out outcome, course string) outcome {
	out.courseID, out.httpStatus = course, http.StatusOK
	return out
}
