package main_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// SIGKILL while unique orders stream in at concurrency 16: after a restart
// on the same database, every order that was answered 200 is enrolled, and
// recorded as enrolled exactly once.
func TestKillUnderLoad(t *testing.T) {
	bin := build(t)
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		lms.SetDelay(20 * time.Millisecond) // keep some enrollments in flight
		databaseURL := storetest.URL(t, d)
		env := append(serviceEnv(t, lms, databaseURL),
			"WEBHOOK_RECEIVER_LMS_TIMEOUT=1s", "WEBHOOK_RECEIVER_RESCUE_AFTER=5s", "WEBHOOK_RECEIVER_LOG_LEVEL=warn")
		p := start(t, bin, env)

		var (
			mu           sync.Mutex
			acknowledged []int
			senders      sync.WaitGroup
			next         = make(chan int)
		)
		for range 16 {
			senders.Go(func() {
				for id := range next {
					if status, err := p.send(id, fmt.Sprintf("kill%d@example.com", id)); err == nil && status == 200 {
						mu.Lock()
						acknowledged = append(acknowledged, id)
						mu.Unlock()
					}
				}
			})
		}
		killAt := time.Now().Add(time.Second)
		for id := 20000; time.Now().Before(killAt.Add(200 * time.Millisecond)); id++ {
			if time.Now().After(killAt) && p.cmd.ProcessState == nil {
				p.cmd.Process.Kill()
				p.cmd.Wait()
			}
			next <- id
		}
		close(next)
		senders.Wait()
		if len(acknowledged) < 50 {
			t.Fatalf("only %d orders acknowledged before the kill", len(acknowledged))
		}

		start(t, bin, env)
		db, err := store.Open(context.Background(), databaseURL, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		deadline := time.Now().Add(2 * time.Minute)
		for _, id := range acknowledged {
			for {
				o, err := db.FindOrder(context.Background(), enroll.Shopify, "bin.myshopify.com", int64(id))
				if err == nil && len(o.Items) == 1 && o.Items[0].Status == enroll.ItemEnrolled {
					attempts, _ := db.Attempts(context.Background(), o.Items[0].ID)
					enrolled := 0
					for _, a := range attempts {
						if a.Outcome == enroll.OutcomeEnrolled {
							enrolled++
						}
					}
					if enrolled != 1 {
						t.Errorf("order %d recorded as enrolled %d times", id, enrolled)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("acknowledged order %d not enrolled after the restart: %+v, %v", id, o, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		t.Logf("%d orders acknowledged before the kill, all enrolled after the restart", len(acknowledged))
	})
}
