package main_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// replicaHeader names, on a request to the fake LMS, the replica that made it.
const replicaHeader = "X-Test-Replica"

// lmsProxy returns the URL of a proxy to the fake LMS for one replica: it
// names the replica on every request it forwards, so that the fake's hook
// can tell which replica made a call. When lost is not nil, it counts there
// the calls whose answer did not reach the replica whole (the replica gave
// up waiting, or the answer was cut short): the LMS may have carried them
// out, for every learner of the call, with no attempt recorded for the
// learners the job had swept up from other jobs.
func lmsProxy(t *testing.T, lms *edxtest.LMS, replica string, lost *calls) string {
	t.Helper()
	target, err := url.Parse(lms.URL)
	if err != nil {
		t.Fatal(err)
	}
	type failed struct{ bool }
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Header.Set(replicaHeader, replica)
		},
		// The calls of a killed replica end with its connections.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, _ error) {
			if f, ok := r.Context().Value(failed{}).(*bool); ok {
				*f = true
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var proxyFailed bool
		r = r.WithContext(context.WithValue(r.Context(), failed{}, &proxyFailed))
		defer func() {
			p := recover() // http.ErrAbortHandler: the answer was cut short
			if lost != nil && (p != nil || proxyFailed || r.Context().Err() != nil) {
				form, _ := url.ParseQuery(string(body))
				lost.add(r, edxtest.Call{Courses: strings.Split(form.Get("courses"), ","),
					Identifiers: strings.Split(form.Get("identifiers"), ",")})
			}
			if p != nil {
				panic(p)
			}
		}()
		r.Header.Set(replicaHeader, replica)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// calls counts the bulk-enroll calls each replica made for each learner.
type calls struct {
	mu sync.Mutex
	n  map[[3]string]int // replica, course, lower-cased learner
}

// add counts a call; it is meant for the fake LMS's hook.
func (c *calls) add(r *http.Request, call edxtest.Call) {
	replica := r.Header.Get(replicaHeader)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[[3]string]int{}
	}
	for _, course := range call.Courses {
		for _, id := range call.Identifiers {
			c.n[[3]string{replica, course, strings.ToLower(id)}]++
		}
	}
}

// byAny returns how many calls any replica made for the learner in the course.
func (c *calls) byAny(course, email string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.n {
		if k[1] == course && k[2] == strings.ToLower(email) {
			n += v
		}
	}
	return n
}

// by returns how many calls the replica made for the learner in the course.
func (c *calls) by(replica, course, email string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[[3]string{replica, course, strings.ToLower(email)}]
}

// enrolledOnce waits until the database records the learner's item of the
// order as enrolled, then checks that it took one enrollment answer for it,
// and that the LMS enrolled the learner once, plus at most once for each
// call whose answer never reached the database: one that timed out
// (recorded as a retry with no HTTP status), or one of the lost calls of a
// killed replica. The LMS takes a repeated enrollment as a no-op; any other
// repeat is a job enrolling an item another job holds.
func enrolledOnce(t *testing.T, lms *edxtest.LMS, db *store.DB, orderID int, course, email string, lost int, deadline time.Time) {
	t.Helper()
	ctx := context.Background()
	var item store.ItemRecord
	for {
		o, err := db.FindOrder(ctx, enroll.Shopify, "bin.myshopify.com", int64(orderID))
		i := slices.IndexFunc(o.Items, func(it store.ItemRecord) bool { return strings.EqualFold(it.Email, email) })
		if err == nil && i >= 0 && o.Items[i].Status == enroll.ItemEnrolled {
			item = o.Items[i]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %d of %s not enrolled in the database: %+v, %v", orderID, email, o, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	attempts, err := db.Attempts(ctx, item.ID)
	if err != nil {
		t.Fatal(err)
	}
	enrolled, unanswered := 0, 0
	for _, a := range attempts {
		switch {
		case a.Outcome == enroll.OutcomeEnrolled:
			enrolled++
		case a.Outcome == enroll.OutcomeRetry && a.HTTPStatus == 0:
			unanswered++
		}
	}
	if enrolled != 1 {
		t.Errorf("order %d of %s recorded as enrolled %d times; attempts %+v", orderID, email, enrolled, attempts)
	}
	if n := lms.EnrollCount(course, email); n < 1 || n > 1+unanswered+lost {
		t.Errorf("%s enrolled %d times in %s; want once, plus once per call whose answer was lost (%d timed out, %d lost on the way or with a killed replica); attempts %+v",
			email, n, course, unanswered, lost, attempts)
	}
}

// A replica killed with SIGKILL while its enrollment call is in flight:
// once the job has looked running for RESCUE_AFTER, another replica runs
// it again and enrolls the learners, within RESCUE_AFTER plus the queue's
// check for lost jobs (every 30 s) and its scheduling of them (every 5 s).
func TestReplicaKilledMidJobIsRescued(t *testing.T) {
	databaseURL := storetest.URL(t, store.Postgres)
	bin := build(t)
	lms := edxtest.New(t)
	const (
		rescueAfter = 10 * time.Second
		// 30 s between checks for lost jobs and 5 s between scheduling
		// passes, then a margin for polling, for a new leader of the
		// queue's maintenance when the killed replica led it, and for a
		// slow machine.
		bound       = rescueAfter + 30*time.Second + 5*time.Second + 10*time.Second
		heldCourse  = "course-v1:Org+Held+1"
		otherCourse = "course-v1:Org+Bin+1"
	)
	env := append(serviceEnv(t, lms, databaseURL),
		"WEBHOOK_RECEIVER_LMS_TIMEOUT=2s", // jobs time out after 8 s
		"WEBHOOK_RECEIVER_RESCUE_AFTER="+rescueAfter.String(),
		"WEBHOOK_RECEIVER_LOG_LEVEL=warn",
	)

	// The first call for heldCourse is held until its replica is gone; a
	// job of another course can never take its items, which only a rescue
	// of the job frees.
	var (
		made    calls
		held    = make(chan string, 1) // the replica whose call is held
		heldAt  time.Time              // when the held call arrived
		holding atomic.Bool
		killing atomic.Bool
		early   atomic.Bool // the held call ended before its replica was killed
	)
	holding.Store(true)
	lms.SetHold(func(r *http.Request, c edxtest.Call) {
		made.add(r, c)
		if !slices.Contains(c.Courses, heldCourse) || !holding.CompareAndSwap(true, false) {
			return
		}
		heldAt = c.Time
		held <- r.Header.Get(replicaHeader)
		<-r.Context().Done()
		early.Store(!killing.Load())
	})

	replicas := map[string]*process{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b", "c"} {
		wg.Go(func() {
			p := start(t, bin, slices.Concat(env, []string{"WEBHOOK_RECEIVER_LMS_BASE_URL=" + lmsProxy(t, lms, name, nil)}))
			mu.Lock()
			replicas[name] = p
			mu.Unlock()
		})
	}
	wg.Wait()
	db, err := store.Open(context.Background(), databaseURL, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Every replica works, and has finished its work before the kill.
	names := []string{"a", "b", "c"}
	for i := range 30 {
		if status, err := replicas[names[i%3]].sendOrder(1000+i, otherCourse, fmt.Sprintf("w%d@example.com", i)); err != nil || status != 200 {
			t.Fatalf("order %d: %d, %v", 1000+i, status, err)
		}
	}
	for i := range 30 {
		enrolledOnce(t, lms, db, 1000+i, otherCourse, fmt.Sprintf("w%d@example.com", i), 0, time.Now().Add(time.Minute))
	}

	learners := []string{"h1@example.com", "h2@example.com", "h3@example.com"}
	if status, err := replicas["a"].sendOrder(7000, heldCourse, learners...); err != nil || status != 200 {
		t.Fatalf("held order: %d, %v", status, err)
	}
	var victim string
	select {
	case victim = <-held:
	case <-time.After(time.Minute):
		t.Fatal("no enrollment call for the held order")
	}
	killing.Store(true)
	killedAt := time.Now()
	replicas[victim].cmd.Process.Kill()
	replicas[victim].cmd.Wait()
	var live []*process
	for _, name := range names {
		if name != victim {
			live = append(live, replicas[name])
		}
	}

	// The live replicas keep taking and enrolling orders of another course
	// meanwhile.
	stop := make(chan struct{})
	var (
		sent    []int
		senders sync.WaitGroup
	)
	senders.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if status, err := live[i%2].sendOrder(5000+i, otherCourse, fmt.Sprintf("b%d@example.com", i)); err != nil || status != 200 {
				t.Errorf("order %d to a live replica: %d, %v", 5000+i, status, err)
				continue
			}
			sent = append(sent, i)
		}
	})

	deadline := killedAt.Add(bound)
	for _, email := range learners {
		for {
			o, err := db.FindOrder(context.Background(), enroll.Shopify, "bin.myshopify.com", 7000)
			i := slices.IndexFunc(o.Items, func(it store.ItemRecord) bool { return strings.EqualFold(it.Email, email) })
			if err == nil && i >= 0 && o.Items[i].Status == enroll.ItemEnrolled {
				break
			}
			if time.Now().After(deadline) {
				close(stop)
				senders.Wait()
				t.Fatalf("the killed replica's job was not rescued within %v (RESCUE_AFTER %v + 45 s): %+v, %v\n%s\n%s",
					bound, rescueAfter, o, err, live[0].logs, live[1].logs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	rescued := time.Since(killedAt)
	close(stop)
	senders.Wait()
	t.Logf("replica %s killed mid-call; its learners enrolled by another replica %v after the kill (RESCUE_AFTER %v, bound %v)",
		victim, rescued.Round(100*time.Millisecond), rescueAfter, bound)
	if early.Load() {
		t.Error("the held call ended before its replica was killed")
	}

	// Nobody sent the held learners again while the job could still have
	// been running: the claims on its items last RESCUE_AFTER.
	var again time.Time
	for _, c := range lms.Calls() {
		if slices.Contains(c.Courses, heldCourse) && c.Time.After(heldAt) {
			again = c.Time
			break
		}
	}
	if d := again.Sub(heldAt); !again.IsZero() && d < rescueAfter-2*time.Second {
		t.Errorf("the held learners were sent again %v after the held call; want no sooner than RESCUE_AFTER (%v)", d, rescueAfter)
	}

	end := time.Now().Add(time.Minute)
	for _, email := range learners {
		rescuers := 0
		for _, name := range names {
			if name != victim {
				rescuers += made.by(name, heldCourse, email)
			}
		}
		if rescuers == 0 {
			t.Errorf("%s was enrolled by no live replica", email)
		}
		enrolledOnce(t, lms, db, 7000, heldCourse, email, made.by(victim, heldCourse, email), end)
	}
	for _, i := range sent {
		enrolledOnce(t, lms, db, 5000+i, otherCourse, fmt.Sprintf("b%d@example.com", i), 0, end)
	}
	if len(sent) < 20 {
		t.Errorf("only %d orders sent to the live replicas while the job waited for its rescue", len(sent))
	}
}
