package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Args identify the items a job enrolls: items bought with the same SKU,
// stored together, so that one bulk enrollment call can enroll them all.
type Args struct {
	ItemIDs []int64 `json:"item_ids"`
}

// Kind names the job in the queue's tables.
func (Args) Kind() string { return "enroll_items" }

// Worker drives a job's items towards their desired states through the
// LMS's bulk enrollment API: it enrolls or unenrolls up to BatchSize
// learners of one course per call, one desired state per call, each item
// keeping its own result.
type Worker struct {
	river.WorkerDefaults[Args]
	db   *store.DB
	lms  *edx.Client
	opts Options

	client     *river.Client[*sql.Tx] // finishes the jobs other jobs' calls left nothing to do
	pace       pacer                  // spaces bulk enrollment calls while the LMS throttles them
	lmsTrouble atomic.Bool            // a call failed for want of the LMS since the last answered one
	wake       chan struct{}          // holds one request to wake waiting jobs; the queue's wake loop takes it
	lastWake   time.Time              // when waiting jobs were last woken; the wake loop's own
	wokenAt    atomic.Int64           // the last wake's start by the database's clock, Unix ns; 0 before any
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
	d := time.Duration(float64(backoffStep(base, max, attempt)) * (0.8 + 0.4*rand.Float64()))
	return min(d, max)
}

// backoffStep is Backoff without its jitter.
func backoffStep(base, max time.Duration, attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 40 {
		if b := base << (attempt - 1); b > 0 && b < max {
			return b
		}
	}
	return max
}

// outcome is what one attempt came to for one item.
type outcome struct {
	status     enroll.ItemStatus // a done status; "" for a transient failure
	name       enroll.Outcome
	httpStatus int
	detail     string
	courseID   string
	throttled  bool
	retryAfter time.Duration
}

// Work makes one attempt at bringing each of the job's items that is not
// done to its desired state, as it reads it now, together with other items
// of the same SKUs that no job holds, pending or due for a retry (up to
// BatchSize per call), and records each item's outcome. An
// item left without a final answer is given back unrecorded when it is
// another job's, or when the queue is stopping: its own job runs again.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	items, err := w.db.WorkForItems(ctx, job.Args.ItemIDs)
	if err != nil {
		return w.storeTrouble(ctx, err)
	}
	items = slices.DeleteFunc(items, func(it store.Work) bool { return it.Status.Done() })
	if len(items) == 0 {
		// Another job's call did them all: done, without waiting for ingest.
		return nil
	}
	w.holdForIngest(ctx)
	items, extra, busy, err := w.claim(ctx, items)
	if err != nil {
		return w.storeTrouble(ctx, err)
	}
	all := append(items, extra...)
	if len(all) == 0 {
		return snoozeIf(busy)
	}
	outs := w.attempt(ctx, all)
	w.noteLMS(outs)
	// Shutting down mid-call: what did not get a final answer runs again at
	// the next start, without using an attempt.
	interrupted := errors.Is(ctx.Err(), context.Canceled)
	var (
		attempts  []store.Attempt
		release   []int64 // the job's own, the call interrupted
		sent      []int64 // other jobs' items, sent
		retry     error
		snoozeFor time.Duration
		again     bool
	)
	for i, it := range all {
		out := outs[i]
		if out.status == "" && (interrupted || i >= len(items)) {
			// Another job's item with no final answer stays that job's to retry.
			if i < len(items) {
				again, release = true, append(release, it.ItemID)
			} else {
				sent = append(sent, it.ItemID)
			}
			continue
		}
		a := store.Attempt{ItemID: it.ItemID, Outcome: out.name, HTTPStatus: out.httpStatus, Detail: out.detail,
			Status: out.status, CourseID: out.courseID, Counted: true, Want: want(it)}
		switch {
		case out.throttled && snoozes(job.Metadata) < maxSnoozes:
			a.Status, a.Counted = it.Status, false
			snoozeFor = max(snoozeFor, out.retryAfter, time.Second)
		case out.status == "" && it.Tries+1 >= w.opts.MaxAttempts:
			a.Outcome, a.Status = enroll.OutcomeFailed, enroll.ItemFailed
			a.Detail = fmt.Sprintf("gave up after %d attempts: %s", it.Tries+1, out.detail)
		case out.status == "":
			a.Status, retry = enroll.ItemRetrying, errors.New(out.detail)
		}
		attempts = append(attempts, a)
		w.log(ctx, it, a)
	}
	// Recorded even when the job's own context has run out, together with
	// the end of the jobs whose items this call did.
	var done []int64
	for _, a := range attempts {
		if a.Status.Done() {
			done = append(done, a.ItemID)
		}
	}
	finish := func(tx *sql.Tx) error { return w.finishDone(context.WithoutCancel(ctx), tx, done) }
	if err := w.db.RecordAttemptsThen(context.WithoutCancel(ctx), attempts, finish); err != nil {
		w.release(ctx, itemIDs(all))
		return w.storeTrouble(ctx, err)
	}
	w.count(attempts)
	if err := errors.Join(w.release(ctx, release), w.releaseSent(ctx, sent)); err != nil {
		return river.JobSnooze(time.Second) // as storeTrouble does; release said why
	}
	switch {
	case again:
		return river.JobSnooze(0)
	case snoozeFor > 0:
		return river.JobSnooze(snoozeFor)
	case retry != nil:
		return retry
	}
	return snoozeIf(busy)
}

// noteLMS watches the LMS through a job's outcomes: once it answers again
// after failing (no answer, or a 5xx), it asks the wake loop to wake the
// jobs waiting for a retry, so that their items need not wait out their
// backoff (up to MaxRetryDelay) although the LMS could take them now.
func (w *Worker) noteLMS(outs []outcome) {
	answered := false
	for _, o := range outs {
		if o.name == enroll.OutcomeRetry && (o.httpStatus == 0 || o.httpStatus >= 500) {
			w.lmsTrouble.Store(true)
			return
		}
		answered = answered || o.httpStatus == 200
	}
	if !answered || !w.lmsTrouble.CompareAndSwap(true, false) {
		return
	}
	select {
	case w.wake <- struct{}{}:
	default: // a wake is asked for already
	}
}

// wakeLoop wakes the jobs waiting for a retry whenever noteLMS asks, until
// ctx ends. The queue runs it from Start to Stop.
func (w *Worker) wakeLoop(ctx context.Context, client *river.Client[*sql.Tx]) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
			w.wakeRetrying(ctx, client)
		}
	}
}

// wakePage is how many waiting jobs one listing returns.
const wakePage = 1000

// wakeTimeout bounds one wake.
const wakeTimeout = time.Minute

// wakeRetrying makes the enrollment jobs waiting for a retry run now. It
// does so at most once per RetryDelay, so that an LMS that comes and goes
// does not spend the items' attempts faster than their backoff would.
func (w *Worker) wakeRetrying(ctx context.Context, client *river.Client[*sql.Tx]) {
	now := time.Now()
	if !w.lastWake.IsZero() && now.Sub(w.lastWake) < w.opts.RetryDelay {
		return
	}
	w.lastWake = now
	// From now on a call may take the items of the jobs woken here (claim):
	// their jobs would run them now anyway.
	w.wokenAt.Store(w.db.Now().UnixNano())
	ctx, cancel := context.WithTimeout(ctx, wakeTimeout)
	defer cancel()
	params := river.NewJobListParams().Kinds(Args{}.Kind()).States(rivertype.JobStateRetryable).First(wakePage)
	woken := 0
	for {
		res, err := client.JobList(ctx, params)
		if err != nil {
			w.wakeStopped(ctx, err, woken)
			return
		}
		for _, job := range res.Jobs {
			_, err := client.JobRetry(ctx, job.ID)
			switch {
			case errors.Is(err, rivertype.ErrNotFound):
				continue // a call has done its items since the listing, and ended it
			case err != nil:
				w.wakeStopped(ctx, err, woken)
				return
			}
			woken++
		}
		if len(res.Jobs) < wakePage {
			break
		}
		params = params.After(res.LastCursor)
	}
	w.opts.Logger.InfoContext(ctx, "the LMS answers again: waiting enrollments are retried now", "jobs", woken)
}

// wakeStopped reports a wake that could not finish; the jobs it did not
// wake run at the end of their backoff. Stopping the queue ends a wake
// without a word.
func (w *Worker) wakeStopped(ctx context.Context, err error, woken int) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	w.opts.Logger.WarnContext(ctx, "waking waiting enrollment jobs", "error", err, "woken", woken)
}

// finishDone ends, inside tx, the enrollment jobs waiting to run that hold
// one of the items ids and whose items are all done: a call filled with
// other jobs' items left those jobs nothing to do, and a queue turn each
// would make the items behind them wait for nothing. A running job is left
// to finish by itself, as is, on PostgreSQL, one whose row another
// transaction holds.
func (w *Worker) finishDone(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if len(ids) == 0 || w.client == nil {
		return nil
	}
	params := river.NewJobDeleteManyParams().Kinds(Args{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable).
		First(min(2*len(ids)+10, 10000)).Where(doneJobs(w.db.Dialect(), ids))
	if _, err := w.client.JobDeleteManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("finish the jobs of %d done items: %w", len(ids), err)
	}
	return nil
}

// doneStatuses are the item statuses that are Done, as SQL literals.
var doneStatuses = func() string {
	var quoted []string
	for _, s := range []enroll.ItemStatus{enroll.ItemEnrolled, enroll.ItemAllowed, enroll.ItemAwaitingRegistration,
		enroll.ItemUnenrolled, enroll.ItemFailed, enroll.ItemResolved} {
		quoted = append(quoted, "'"+string(s)+"'")
	}
	return strings.Join(quoted, ", ")
}()

// doneJobs is the condition on river_job rows of jobs that hold one of the
// items ids and whose items are all done (or gone). The ids are numbers
// written into the SQL; on PostgreSQL each is a containment the index on
// the jobs' args answers.
func doneJobs(d store.Dialect, ids []int64) string {
	nums := make([]string, len(ids))
	for i, id := range ids {
		nums[i] = strconv.FormatInt(id, 10)
	}
	if d == store.Postgres {
		holds := make([]string, len(ids))
		for i, n := range nums {
			holds[i] = `args @> '{"item_ids":[` + n + `]}'`
		}
		return "(" + strings.Join(holds, " OR ") + `) AND NOT EXISTS (
			SELECT 1 FROM jsonb_array_elements_text(args->'item_ids') AS job_item(id)
			JOIN items ON items.id = job_item.id::bigint WHERE items.status NOT IN (` + doneStatuses + `))`
	}
	return `EXISTS (SELECT 1 FROM json_each(args, '$.item_ids') AS job_item WHERE job_item.value IN (` + strings.Join(nums, ", ") + `))
		AND NOT EXISTS (SELECT 1 FROM json_each(args, '$.item_ids') AS job_item
			JOIN items ON items.id = job_item.value WHERE items.status NOT IN (` + doneStatuses + `))`
}

// holdPoll is how often a held job looks whether ingest has quietened.
const holdPoll = 5 * time.Millisecond

// holdForIngest waits while webhooks are being stored, at most MaxHold: on
// one machine, a job's database writes and CPU would slow the
// acknowledgements down, and the shop's timeout is the one that matters.
// (Ending the hold MaxHold after the job was due instead let the workers
// of a backlog run beside ingest: on SQLite at concurrency 32 that cut the
// webhooks acknowledged per second by a third and doubled their p99.)
func (w *Worker) holdForIngest(ctx context.Context) {
	if w.opts.IngestBusy == nil {
		return
	}
	deadline := time.Now().Add(w.opts.MaxHold)
	for w.opts.IngestBusy() && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(holdPoll):
		}
	}
}

// claim takes the job's items that are not done and that no other job
// holds, and items of the same SKUs to fill each call, pending ones and
// retrying ones due again (retryDue); busy tells
// that another job holds some of this job's items. Claims last RescueAfter,
// not just JobTimeout: a job records its answers after its deadline, and
// an item whose answer is being recorded must not be sent again.
func (w *Worker) claim(ctx context.Context, items []store.Work) (_, extra []store.Work, busy bool, err error) {
	var claimed, more []int64
	defer func() {
		if err != nil { // what was claimed is free again for the next try
			w.release(ctx, append(claimed, more...))
		}
	}()
	todo := itemIDs(items)
	claimed, err = w.db.Claim(ctx, todo, w.opts.RescueAfter)
	if err != nil {
		return nil, nil, false, err
	}
	busy = len(claimed) < len(todo)
	items = slices.DeleteFunc(items, func(it store.Work) bool { return !slices.Contains(claimed, it.ItemID) })
	// Items sold in a mode go one by one: a call holds one learner.
	perSKU := map[string]int{}
	for _, it := range items {
		if it.Mode == "" {
			perSKU[it.SKU]++
		}
	}
	due := w.retryDue()
	for sku, n := range perSKU {
		if n >= w.opts.BatchSize || sku == "" {
			continue
		}
		ids, err := w.db.ClaimPending(ctx, sku, w.opts.BatchSize-n, w.opts.RescueAfter, due)
		if err != nil {
			return nil, nil, false, err
		}
		more = append(more, ids...)
	}
	if extra, err = w.db.WorkForItems(ctx, more); err != nil {
		return nil, nil, false, err
	}
	extra = slices.DeleteFunc(extra, func(it store.Work) bool { return it.Status.Done() })
	return items, extra, busy, nil
}

// retryDue tells ClaimPending which retrying items a call may take with
// its own: those whose jobs are due to run them now, so that a backlog
// left by an outage drains in full calls, not in a queue turn per job.
// An item with k tries is due once the longest backoff its job could have
// drawn after the k-th attempt has passed since it (a job waiting behind
// others in the queue), or when its last attempt came before the last wake
// (the LMS answered again, and its job was made to run now). Taken this
// way, an item is tried no sooner than its own job would try it; an
// answer short of final is not recorded for it (Work), so its attempts are
// spent by its own job alone and MaxAttempts keeps its meaning. None while
// the LMS is failing: the call would fail them too.
func (w *Worker) retryDue() []time.Time {
	if w.lmsTrouble.Load() {
		return nil
	}
	now, woken := w.db.Now(), time.Unix(0, w.wokenAt.Load())
	var due []time.Time
	for k := 1; k < w.opts.MaxAttempts; k++ {
		step := backoffStep(w.opts.RetryDelay, w.opts.MaxRetryDelay, k)
		at := now.Add(-min(step/5*6, w.opts.MaxRetryDelay)) // the ceiling of Backoff's jitter
		if woken.After(at) {
			at = woken
		}
		due = append(due, at)
		if step == w.opts.MaxRetryDelay {
			break // the same for every later attempt
		}
	}
	return due
}

// release gives back claims without recording an attempt. Should that fail
// (the database is down), the items stay claimed, and no job takes them,
// until their claims expire, RescueAfter after they were taken: the error
// is logged with their ids, and returned.
func (w *Worker) release(ctx context.Context, ids []int64) error {
	return w.released(ctx, ids, w.db.Release(context.WithoutCancel(ctx), ids))
}

// releaseSent is release for items a call sent: their last attempt is
// now, so that other calls take them again only after their backoff
// (retryDue), as their own jobs would, although the answer short of final
// is not recorded.
func (w *Worker) releaseSent(ctx context.Context, ids []int64) error {
	return w.released(ctx, ids, w.db.ReleaseSent(context.WithoutCancel(ctx), ids))
}

// released logs a release's error with the items' ids, and returns it.
func (w *Worker) released(ctx context.Context, ids []int64, err error) error {
	if err != nil {
		w.opts.Logger.ErrorContext(ctx, "enrollment claims not released: the items wait until their claims expire",
			"item_ids", ids, "claims_expire_within", w.opts.RescueAfter.String(), "error", err)
	}
	return err
}

func itemIDs(items []store.Work) []int64 {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ItemID
	}
	return ids
}

// storeTrouble runs the job again shortly when the database failed it (a
// deadlock between replicas, a restart): that is no LMS attempt, and the
// items must not wait for a retry delay meant for the LMS.
func (w *Worker) storeTrouble(ctx context.Context, err error) error {
	w.opts.Logger.WarnContext(ctx, "enrollment job postponed", "error", err)
	return river.JobSnooze(time.Second)
}

// snoozeIf asks to run the job again shortly when another job holds some
// of its items; by then they are done, or free again.
func snoozeIf(busy bool) error {
	if busy {
		return river.JobSnooze(time.Second)
	}
	return nil
}

// count adds recorded attempts to the metrics: final outcomes, retries,
// and throttled attempts (the only ones not counted against an item).
func (w *Worker) count(attempts []store.Attempt) {
	for _, a := range attempts {
		switch {
		case !a.Counted:
			w.opts.Metrics.Throttled()
		case a.Status.Done():
			w.opts.Metrics.ItemDone(a.Status)
		case a.Status == enroll.ItemRetrying:
			w.opts.Metrics.Retry()
		}
	}
}

// log reports an item's attempt, numbered as the database counts the
// item's attempts (its counted attempts so far, plus this one): the job's
// own attempt differs for items taken from other jobs' batches, and after
// throttled or rescued runs.
func (w *Worker) log(ctx context.Context, it store.Work, a store.Attempt) {
	logAttempt(ctx, w.opts.Logger, it, a)
}

func logAttempt(ctx context.Context, logger *slog.Logger, it store.Work, a store.Attempt) {
	logger.LogAttrs(ctx, logLevel(a.Status), "enrollment attempt",
		slog.Int64("item_id", it.ItemID), slog.Int64("order_id", it.ExternalID), slog.String("platform", string(it.Platform)),
		slog.String("course_id", a.CourseID), slog.Int("attempt", it.Attempts+1), slog.String("outcome", string(a.Outcome)),
		slog.Int("http_status", a.HTTPStatus), slog.String("status", string(a.Status)), slog.String("detail", a.Detail))
}

// attempt tries every item once: an item whose course cannot be found now
// (no email, no SKU, a failed course lookup) gets its outcome at once, an
// item sold in a mode goes alone (modes.go), the others are enrolled or
// unenrolled, as each item's desired state asks, course by course,
// BatchSize learners per call. It returns one outcome
// per item.
func (w *Worker) attempt(ctx context.Context, items []store.Work) []outcome {
	outs := make([]outcome, len(items))
	type group struct {
		course string
		want   enroll.Want
	}
	byGroup := map[group][]int{}
	var groups []group
	for i, it := range items {
		course, out, ok := w.course(ctx, it)
		switch {
		case !ok:
			outs[i] = out
			continue
		case it.Mode != "":
			outs[i] = w.moded(ctx, course, it)
			continue
		}
		g := group{course, want(it)}
		if _, seen := byGroup[g]; !seen {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], i)
	}
	for _, g := range groups {
		for chunk := range slices.Chunk(byGroup[g], w.opts.BatchSize) {
			w.bulk(ctx, g.course, g.want, items, chunk, outs)
		}
	}
	return outs
}

// want is the item's desired state; enrolled for items stored before
// desired states were.
func want(it store.Work) enroll.Want {
	if it.Want == "" {
		return enroll.WantEnrolled
	}
	return it.Want
}

// course checks an item and finds its course; ok is false with the
// item's outcome when it cannot be enrolled now. An item that could never
// have been enrolled (no valid email, no SKU) is unenrolled already.
func (w *Worker) course(ctx context.Context, it store.Work) (string, outcome, bool) {
	var problem string
	switch addr, err := mail.ParseAddress(it.Email); {
	case it.Email == "":
		problem = "the order has no learner email for this item"
	case err != nil || addr.Address != it.Email:
		problem = "the learner email is not a valid address"
	case it.SKU == "":
		problem = "the line item has no SKU"
	case it.CourseID != "":
		return it.CourseID, outcome{}, true
	}
	if problem != "" {
		if want(it) == enroll.WantUnenrolled {
			return "", outcome{status: enroll.ItemUnenrolled, name: enroll.OutcomeUnenrolled,
				detail: "nothing to unenroll: " + problem}, false
		}
		return "", failed(problem), false
	}
	c, err := w.lms.CourseID(ctx, it.SKU)
	switch {
	case errors.Is(err, edx.ErrNoCourse):
		out := failed(err.Error())
		var apiErr *edx.APIError
		if errors.As(err, &apiErr) {
			out.httpStatus = apiErr.Status
		}
		return "", out, false
	case err != nil:
		return "", fromError(err, ""), false
	}
	return c, outcome{}, true
}

// bulk makes one bulk enrollment call for the items at idx, all in course
// and all with the desired state want: it enrolls or unenrolls them.
func (w *Worker) bulk(ctx context.Context, course string, want enroll.Want, items []store.Work, idx []int, outs []outcome) {
	var identifiers []string
	for _, i := range idx {
		if !slices.ContainsFunc(identifiers, func(s string) bool { return strings.EqualFold(s, items[i].Email) }) {
			identifiers = append(identifiers, items[i].Email)
		}
	}
	sent, err := w.pace.wait(ctx)
	var res *edx.BulkEnrollResult
	if err == nil {
		res, err = w.lms.BulkEnroll(ctx, edx.BulkEnrollRequest{Action: want.Action(), Courses: []string{course},
			Identifiers: identifiers, AutoEnroll: w.opts.AutoEnroll, EmailStudents: w.opts.EmailStudents})
		var apiErr *edx.APIError
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == 429 && apiErr.RetryAfter > 0:
			w.pace.throttled(sent, apiErr.RetryAfter)
		case err == nil:
			w.pace.passed()
		}
	}
	for _, i := range idx {
		if err != nil {
			outs[i] = fromError(err, course)
			continue
		}
		if want == enroll.WantUnenrolled {
			outs[i] = fromUnenrollResult(res, course, items[i].Email)
		} else {
			outs[i] = fromResult(res, course, items[i].Email)
		}
		outs[i].courseID, outs[i].httpStatus = course, 200
	}
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
	return outcome{status: enroll.ItemFailed, name: enroll.OutcomeFailed, detail: detail}
}

// fromError sorts an LMS error into throttled, transient or permanent.
func fromError(err error, course string) outcome {
	out := outcome{name: enroll.OutcomeRetry, detail: err.Error(), courseID: course}
	var apiErr *edx.APIError
	if !errors.As(err, &apiErr) {
		return out // network error or timeout
	}
	out.httpStatus = apiErr.Status
	switch {
	case apiErr.Status == 429 && apiErr.RetryAfter > 0:
		out.name, out.throttled, out.retryAfter = enroll.OutcomeThrottled, true, apiErr.RetryAfter
	case apiErr.Op == "token", apiErr.Status == 401, apiErr.Status >= 300 && apiErr.Status < 400:
		// Credentials refused or a base URL that redirects are the
		// operator's to fix: the items wait for that, with backoff,
		// instead of failing all at once.
	case !apiErr.Temporary():
		out.name, out.status = enroll.OutcomeFailed, enroll.ItemFailed
	}
	return out
}

// fromResult reads the learner's own result: HTTP 200 alone means nothing.
func fromResult(res *edx.BulkEnrollResult, course, email string) outcome {
	r, ok := res.Lookup(course, email)
	switch {
	case !ok:
		return outcome{name: enroll.OutcomeRetry, detail: "the LMS answer has no result for this learner"}
	case r.InvalidIdentifier:
		return failed("the LMS rejected the learner email as an invalid identifier")
	case r.Error:
		return outcome{name: enroll.OutcomeRetry, detail: "the LMS reported an error enrolling this learner"}
	case r.After != nil && r.After.Enrollment:
		return outcome{status: enroll.ItemEnrolled, name: enroll.OutcomeEnrolled}
	case r.After != nil && r.After.Allowed:
		return outcome{status: enroll.ItemAllowed, name: enroll.OutcomeAllowed,
			detail: "the learner has no account yet: the LMS enrolls them when they register"}
	}
	return outcome{name: enroll.OutcomeRetry, detail: "the LMS did not confirm the enrollment"}
}

// fromUnenrollResult reads the learner's own result of an unenroll: not
// enrolled, and no longer allowed to enroll on registration.
func fromUnenrollResult(res *edx.BulkEnrollResult, course, email string) outcome {
	r, ok := res.Lookup(course, email)
	switch {
	case !ok:
		return outcome{name: enroll.OutcomeRetry, detail: "the LMS answer has no result for this learner"}
	case r.InvalidIdentifier:
		return failed("the LMS rejected the learner email as an invalid identifier: it cannot unenroll it")
	case r.Error:
		return outcome{name: enroll.OutcomeRetry, detail: "the LMS reported an error unenrolling this learner"}
	case r.After != nil && !r.After.Enrollment && !r.After.Allowed:
		return outcome{status: enroll.ItemUnenrolled, name: enroll.OutcomeUnenrolled}
	}
	return outcome{name: enroll.OutcomeRetry, detail: "the LMS did not confirm the unenrollment"}
}

func logLevel(s enroll.ItemStatus) slog.Level {
	if s == enroll.ItemFailed {
		return slog.LevelWarn
	}
	return slog.LevelInfo
}
