package jobs_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// syncLog collects the queue's warnings.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A backlog of thousands of jobs for two courses, worked by 8 workers that
// all fill their calls from the same pending items: every learner is
// enrolled once, and no job runs into another's locks (a deadlock left the
// items it had claimed stranded until their claims expired).
func TestBacklogDrainsWithoutLockTrouble(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		lms := edxtest.New(t)
		inserter, err := jobs.New(db, nil, jobs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		const orders = 1500
		w := db.NewWriter(inserter.Enqueue, 4, 256)
		var wg sync.WaitGroup
		for g := range 32 {
			wg.Go(func() {
				for i := g; i < orders; i += 32 {
					_, err := w.SaveAccepted(ctx, store.Accepted{
						Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: source, Path: "/test", Status: 200},
						Order: enroll.Order{Platform: enroll.Shopify, Source: source, ID: int64(i + 1), Paid: true, Items: []enroll.Item{
							item("course-v1:Org+A+1", fmt.Sprintf("a%d@example.com", i)),
							item("course-v1:Org+B+1", fmt.Sprintf("b%d@example.com", i))}},
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		w.Close()

		var logs syncLog
		client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret, Timeout: 10 * time.Second})
		q, err := jobs.New(db, client, jobs.Options{Workers: 8, MaxAttempts: 3, BatchSize: 50, PollInterval: 50 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer q.Stop(ctx)
		deadline := time.Now().Add(90 * time.Second) // far beyond the few seconds it takes
		for lms.Enrollments() < 2*orders && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := lms.Enrollments(); got != 2*orders {
			t.Errorf("%d of %d learners enrolled", got, 2*orders)
		}
		for i := range orders {
			for _, e := range []string{"course-v1:Org+A+1 a", "course-v1:Org+B+1 b"} {
				course, prefix, _ := strings.Cut(e, " ")
				if n := lms.EnrollCount(course, fmt.Sprintf("%s%d@example.com", prefix, i)); n > 1 {
					t.Errorf("%s%d enrolled %d times", prefix, i, n)
				}
			}
		}
		if strings.Contains(logs.String(), "deadlock") {
			t.Errorf("jobs ran into each other's locks:\n%s", logs.String())
		}
	})
}
