package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"time"

	"github.com/riverqueue/river"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Args identify the item a job enrolls.
type Args struct {
	ItemID int64 `json:"item_id"`
}

// Kind names the job in the queue's tables.
func (Args) Kind() string { return "enroll_item" }

// Worker enrolls one item through the LMS's bulk enrollment API.
type Worker struct {
	river.WorkerDefaults[Args]
	db   *store.DB
	lms  *edx.Client
	opts Options
}

// NextRetry spaces transient failures out exponentially. A job rescued
// from a process that died runs again at once: it did not fail, and it has
// waited RescueAfter already.
func (w *Worker) NextRetry(job *river.Job[Args]) time.Time {
	if job.AttemptedAt != nil && time.Since(*job.AttemptedAt) >= w.opts.RescueAfter {
		return time.Now()
	}
	return time.Now().Add(Backoff(w.opts.RetryDelay, w.opts.MaxRetryDelay, job.Attempt))
}

// Backoff is the delay after the given failed attempt (1-based): base
// doubled for each earlier attempt, ±20 % jitter so that items failed
// together do not retry together, never above max.
func Backoff(base, max time.Duration, attempt int) time.Duration {
	d := max
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 40 {
		if b := base << (attempt - 1); b > 0 && b < max {
			d = b
		}
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return min(d, max)
}

// outcome is what one attempt came to.
type outcome struct {
	status     enroll.ItemStatus // enrolled, allowed or failed; "" for a transient failure
	name       string
	httpStatus int
	detail     string
	courseID   string
	throttled  bool
	retryAfter time.Duration
}

// Work makes one attempt at enrolling the job's item and records it.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	it, err := w.db.WorkFor(ctx, job.Args.ItemID)
	if errors.Is(err, enroll.ErrNotFound) {
		return river.JobCancel(err)
	}
	if err != nil {
		return err
	}
	if it.Status.Done() {
		return nil
	}
	out := w.attempt(ctx, it)
	if out.status == "" && errors.Is(ctx.Err(), context.Canceled) {
		// Shutting down mid-call: run again at the next start, without
		// using an attempt. A final answer that did arrive is recorded.
		return river.JobSnooze(0)
	}
	a := store.Attempt{ItemID: it.ItemID, Outcome: out.name, HTTPStatus: out.httpStatus, Detail: out.detail,
		Status: out.status, CourseID: out.courseID, Counted: true}
	var result error
	switch {
	case out.throttled && snoozes(job.Metadata) < maxSnoozes:
		a.Status, a.Counted = it.Status, false
		result = river.JobSnooze(max(out.retryAfter, time.Second))
	case out.status == "" && it.Tries+1 >= w.opts.MaxAttempts:
		// Counted by the item, not the job: a rescue after a crash or a
		// database error uses no LMS attempt.
		a.Outcome, a.Status = "failed", enroll.ItemFailed
		a.Detail = fmt.Sprintf("gave up after %d attempts: %s", it.Tries+1, out.detail)
		result = river.JobCancel(errors.New(a.Detail))
	case out.status == "":
		a.Status = enroll.ItemRetrying
		result = errors.New(out.detail)
	case out.status == enroll.ItemFailed:
		result = river.JobCancel(errors.New(out.detail))
	}
	// The attempt is recorded even when the job's own context has run out.
	if err := w.db.RecordAttempt(context.WithoutCancel(ctx), a); err != nil {
		return err
	}
	w.opts.Logger.LogAttrs(ctx, logLevel(a.Status), "enrollment attempt",
		slog.Int64("item_id", it.ItemID), slog.Int64("order_id", it.ExternalID), slog.String("platform", string(it.Platform)),
		slog.String("course_id", out.courseID), slog.Int("attempt", job.Attempt), slog.String("outcome", a.Outcome),
		slog.Int("http_status", out.httpStatus), slog.String("status", string(a.Status)), slog.String("detail", a.Detail))
	return result
}

func (w *Worker) attempt(ctx context.Context, it store.Work) outcome {
	if it.Email == "" {
		return failed("the order has no learner email for this item")
	}
	if addr, err := mail.ParseAddress(it.Email); err != nil || addr.Address != it.Email {
		return failed("the learner email is not a valid address")
	}
	if it.SKU == "" {
		return failed("the line item has no SKU")
	}
	course := it.CourseID
	if course == "" {
		c, err := w.lms.CourseID(ctx, it.SKU)
		if errors.Is(err, edx.ErrNoCourse) {
			return failed(err.Error())
		}
		if err != nil {
			return fromError(err, "")
		}
		course = c
	}
	res, err := w.lms.BulkEnroll(ctx, edx.BulkEnrollRequest{Action: "enroll", Courses: []string{course},
		Identifiers: []string{it.Email}, AutoEnroll: w.opts.AutoEnroll, EmailStudents: w.opts.EmailStudents})
	if err != nil {
		return fromError(err, course)
	}
	out := fromResult(res, course, it.Email)
	out.courseID, out.httpStatus = course, 200
	return out
}

// maxSnoozes bounds how long an LMS that answers 429 to every call can hold
// an item without using its attempts; after that a 429 counts as a failure.
const maxSnoozes = 100

// snoozes reads how many times the queue has snoozed a job.
func snoozes(metadata []byte) int {
	var m struct {
		Snoozes int `json:"snoozes"`
	}
	json.Unmarshal(metadata, &m) // no metadata: no snoozes
	return m.Snoozes
}

func failed(detail string) outcome {
	return outcome{status: enroll.ItemFailed, name: "failed", detail: detail}
}

// fromError sorts an LMS error into throttled, transient or permanent.
func fromError(err error, course string) outcome {
	out := outcome{name: "retry", detail: err.Error(), courseID: course}
	var apiErr *edx.APIError
	if !errors.As(err, &apiErr) {
		return out // network error or timeout
	}
	out.httpStatus = apiErr.Status
	switch {
	case apiErr.Status == 429 && apiErr.RetryAfter > 0:
		out.name, out.throttled, out.retryAfter = "throttled", true, apiErr.RetryAfter
	case apiErr.Op == "token", apiErr.Status == 401, apiErr.Status >= 300 && apiErr.Status < 400:
		// Credentials refused or a base URL that redirects are the
		// operator's to fix: the items wait for that, with backoff,
		// instead of failing all at once.
	case !apiErr.Temporary():
		out.name, out.status = "failed", enroll.ItemFailed
	}
	return out
}

// fromResult reads the learner's own result: HTTP 200 alone means nothing.
func fromResult(res *edx.BulkEnrollResult, course, email string) outcome {
	r, ok := res.Lookup(course, email)
	switch {
	case !ok:
		return outcome{name: "retry", detail: "the LMS answer has no result for this learner"}
	case r.InvalidIdentifier:
		return failed("the LMS rejected the learner email as an invalid identifier")
	case r.Error:
		return outcome{name: "retry", detail: "the LMS reported an error enrolling this learner"}
	case r.After != nil && r.After.Enrollment:
		return outcome{status: enroll.ItemEnrolled, name: "enrolled"}
	case r.After != nil && r.After.Allowed:
		return outcome{status: enroll.ItemAllowed, name: "allowed",
			detail: "the learner has no account yet: the LMS enrolls them when they register"}
	}
	return outcome{name: "retry", detail: "the LMS did not confirm the enrollment"}
}

func logLevel(s enroll.ItemStatus) slog.Level {
	if s == enroll.ItemFailed {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
