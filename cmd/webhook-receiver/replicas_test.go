package main_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// burst delivers each order twice, to two different replicas, from 16
// concurrent senders, and returns the learners whose order a replica
// acknowledged with 200.
func burst(t *testing.T, replicas []*process, first, n int, prefix string, during func(sent int)) []string {
	t.Helper()
	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		sent     atomic.Int64
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				// The two copies go to two replicas at the same moment.
				email := fmt.Sprintf("%s%d@example.com", prefix, i)
				var copies sync.WaitGroup
				start := make(chan struct{})
				for copy := range 2 {
					p := replicas[(i+copy)%len(replicas)]
					copies.Go(func() {
						<-start
						status, err := p.send(first+i, email)
						mu.Lock()
						defer mu.Unlock()
						if err == nil && status == 200 {
							accepted[email] = true
						} else if err == nil { // a killed replica refuses; a live one answers
							t.Logf("order %d answered %d", first+i, status)
						}
					})
				}
				close(start)
				copies.Wait()
				if during != nil {
					during(int(sent.Add(1)))
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	var emails []string
	for e := range accepted {
		emails = append(emails, e)
	}
	return emails
}

func TestReplicasOnOnePostgreSQLDatabase(t *testing.T) {
	databaseURL := storetest.URL(t, store.Postgres)
	bin := build(t)
	lms := edxtest.New(t)
	var made calls // each replica reaches the LMS through its own proxy
	var lost calls // calls whose answer did not reach their replica
	lms.SetHold(made.add)
	env := append(serviceEnv(t, lms, databaseURL),
		"WEBHOOK_RECEIVER_LMS_TIMEOUT=2s", // jobs time out after 8 s
		"WEBHOOK_RECEIVER_RESCUE_AFTER=10s",
		"WEBHOOK_RECEIVER_LOG_LEVEL=warn",
	)
	// Three replicas started at once: migrations take turns.
	var replicas [3]*process
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			replicas[i] = start(t, bin, slices.Concat(env, []string{"WEBHOOK_RECEIVER_LMS_BASE_URL=" + lmsProxy(t, lms, strconv.Itoa(i), &lost)}))
		})
	}
	wg.Wait()

	// Unique and duplicate orders spread over the replicas: each learner is
	// enrolled exactly once.
	emails := burst(t, replicas[:], 1000, 150, "r", nil)
	if len(emails) != 150 {
		t.Fatalf("%d of 150 orders acknowledged", len(emails))
	}
	waitEnrolled(t, lms, emails, time.Minute)
	db, err := store.Open(context.Background(), databaseURL, store.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for _, email := range emails {
		var id int
		fmt.Sscanf(email, "r%d@", &id)
		enrolledOnce(t, lms, db, 1000+id, "course-v1:Org+Bin+1", email, lost.byAny("course-v1:Org+Bin+1", email), deadline)
	}

	// A replica killed with SIGKILL in the middle of a burst, while
	// enrollments are slow: every acknowledged order is still enrolled, its
	// running jobs picked up by the others once RESCUE_AFTER has passed,
	// and each learner exactly once, but for the calls the killed replica
	// had in flight: the LMS may have carried them out with nobody left to
	// read the answer.
	lms.SetDelay(200 * time.Millisecond)
	var once sync.Once
	emails = burst(t, replicas[:], 5000, 150, "k", func(sent int) {
		if sent == 75 {
			once.Do(func() { replicas[0].cmd.Process.Kill() })
		}
	})
	lms.SetDelay(0)
	if len(emails) != 150 {
		t.Fatalf("%d of 150 orders acknowledged; each had a copy sent to a live replica", len(emails))
	}
	waitEnrolled(t, lms, emails, 2*time.Minute)

	// The fake LMS may have finished a call the killed replica made; the
	// database must say enrolled too, which needs the job rescued.
	deadline = time.Now().Add(2 * time.Minute)
	repeats := 0
	for _, email := range emails {
		var id int
		fmt.Sscanf(email, "k%d@", &id)
		enrolledOnce(t, lms, db, 5000+id, "course-v1:Org+Bin+1", email,
			made.by("0", "course-v1:Org+Bin+1", email)+lost.byAny("course-v1:Org+Bin+1", email), deadline)
		if lms.EnrollCount("course-v1:Org+Bin+1", email) > 1 {
			repeats++
		}
	}
	t.Logf("%d of %d learners enrolled twice: a call whose answer was lost, then the job run again", repeats, len(emails))
}
