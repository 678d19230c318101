package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// setWant changes an item's desired state as a newer snapshot would.
func setWant(t *testing.T, db *store.DB, itemID int64, w enroll.Want) {
	t.Helper()
	if _, err := db.SQL().ExecContext(context.Background(), `UPDATE items SET want = $1 WHERE id = $2`, w, itemID); err != nil {
		t.Fatal(err)
	}
}

// A job records what the LMS answered for the desired state it read; when
// the item's desired state changed meanwhile, that answer does not stand:
// the item is pending again, with a fresh budget, for the new one.
func TestAttemptForAnOldDesiredStateDoesNotStand(t *testing.T) {
	tests := []struct {
		name      string
		read      enroll.Want // when the job read the item
		now       enroll.Want // when it records its attempt
		attempt   enroll.ItemStatus
		counted   bool
		wantState enroll.ItemStatus
		wantTries int
	}{
		{name: "unchanged enrolled", read: enroll.WantEnrolled, now: enroll.WantEnrolled, attempt: enroll.ItemEnrolled,
			counted: true, wantState: enroll.ItemEnrolled, wantTries: 2},
		{name: "unchanged unenrolled", read: enroll.WantUnenrolled, now: enroll.WantUnenrolled, attempt: enroll.ItemUnenrolled,
			counted: true, wantState: enroll.ItemUnenrolled, wantTries: 2},
		{name: "enrolled after a refund", read: enroll.WantEnrolled, now: enroll.WantUnenrolled, attempt: enroll.ItemEnrolled,
			counted: true, wantState: enroll.ItemPending, wantTries: 0},
		{name: "failed after a refund", read: enroll.WantEnrolled, now: enroll.WantUnenrolled, attempt: enroll.ItemFailed,
			counted: true, wantState: enroll.ItemPending, wantTries: 0},
		{name: "retrying after a refund", read: enroll.WantEnrolled, now: enroll.WantUnenrolled, attempt: enroll.ItemRetrying,
			counted: true, wantState: enroll.ItemPending, wantTries: 0},
		{name: "unenrolled, then enrolled again", read: enroll.WantUnenrolled, now: enroll.WantEnrolled, attempt: enroll.ItemUnenrolled,
			counted: true, wantState: enroll.ItemPending, wantTries: 0},
		{name: "no desired state given", read: "", now: enroll.WantUnenrolled, attempt: enroll.ItemFailed,
			counted: true, wantState: enroll.ItemFailed, wantTries: 2},
	}
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var rec recorder
				res, err := db.SaveAccepted(ctx, order(int64(100+i), itemA), rec.enqueue)
				if err != nil {
					t.Fatal(err)
				}
				id := res.Enqueued[0]
				// A first try, for the budget.
				mustRecord(t, db, store.Attempt{ItemID: id, Outcome: enroll.OutcomeRetry, Status: enroll.ItemRetrying, Counted: true})
				if tt.read != "" {
					setWant(t, db, id, tt.read)
				}
				w, err := db.WorkFor(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if tt.read != "" && w.Want != tt.read {
					t.Fatalf("Work.Want = %q; want %q", w.Want, tt.read)
				}
				if got, err := db.Claim(ctx, []int64{id}, time.Minute); err != nil || len(got) != 1 {
					t.Fatalf("Claim = %v, %v", got, err)
				}
				setWant(t, db, id, tt.now) // while the job waits for the LMS
				mustRecord(t, db, store.Attempt{ItemID: id, Outcome: enroll.OutcomeEnrolled, HTTPStatus: 200,
					Status: tt.attempt, Counted: tt.counted, Want: tt.read})
				w, err = db.WorkFor(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if w.Status != tt.wantState || w.Tries != tt.wantTries || w.Attempts != 2 {
					t.Errorf("item %s, tries %d, attempts %d; want %s, tries %d, attempts 2", w.Status, w.Tries, w.Attempts,
						tt.wantState, tt.wantTries)
				}
				attempts, err := db.Attempts(ctx, id)
				if err != nil || len(attempts) != 2 {
					t.Errorf("attempts %+v, %v; want both recorded", attempts, err)
				}
				// Pending again means free for the next job.
				if got, err := db.Claim(ctx, []int64{id}, time.Minute); err != nil || (len(got) == 1) != (tt.wantState == enroll.ItemPending) {
					t.Errorf("Claim after the attempt = %v, %v", got, err)
				}
			})
		}
	})
}

// A redelivery gives a failed item another chance with its course looked
// up again, unless the course settings name the course.
func TestRedeliveryKeepsAConfiguredCourse(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var rec recorder
		moded := enroll.Item{LineItemID: 1, SKU: "PY101", Email: "a@example.com", CourseID: "course-v1:Org+Py+1", Mode: "verified"}
		res, err := db.SaveAccepted(ctx, order(77, moded), rec.enqueue)
		if err != nil {
			t.Fatal(err)
		}
		id := res.Enqueued[0]
		mustRecord(t, db, store.Attempt{ItemID: id, Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed, Counted: true})
		if res, err := db.SaveAccepted(ctx, order(77, moded), rec.enqueue); err != nil || len(res.Enqueued) != 1 {
			t.Fatalf("redelivery enqueued %v, %v; want the failed item", res.Enqueued, err)
		}
		w, err := db.WorkFor(ctx, id)
		if err != nil || w.Status != enroll.ItemPending || w.CourseID != "course-v1:Org+Py+1" || w.Mode != "verified" {
			t.Errorf("after the redelivery: %+v, %v; want pending in the configured course and mode", w, err)
		}
	})
}

// A call fills up with items of its SKU that no job holds: pending ones,
// and retrying ones only as retryDue says they are due again (by their
// tries and last attempt), the oldest first; never failed ones.
func TestClaimPendingTakesRetryingItemsDueAgain(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
		clock := t0
		db.Now = func() time.Time { return clock }
		var rec recorder
		ids := map[string]int64{}
		for i, name := range []string{"once", "twice", "failed", "later", "pending"} {
			res, err := db.SaveAccepted(ctx, order(int64(700+i), itemA), rec.enqueue)
			if err != nil {
				t.Fatal(err)
			}
			ids[name] = res.Enqueued[0]
		}
		retry := store.Attempt{Outcome: enroll.OutcomeRetry, HTTPStatus: 503, Status: enroll.ItemRetrying, Counted: true}
		for _, a := range []struct {
			name string
			at   time.Time
			a    store.Attempt
		}{
			{"once", t0, retry}, {"twice", t0, retry}, {"twice", t0, retry},
			{"failed", t0, store.Attempt{Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed, Counted: true}},
			{"later", t0.Add(time.Minute), retry},
		} {
			clock = a.at
			a.a.ItemID = ids[a.name]
			mustRecord(t, db, a.a)
		}
		clock = t0.Add(time.Hour)
		claim := func(limit int, due ...time.Time) []int64 {
			t.Helper()
			got, err := db.ClaimPending(ctx, itemA.SKU, limit, time.Minute, due)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Release(ctx, got); err != nil {
				t.Fatal(err)
			}
			return got
		}
		tests := []struct {
			name  string
			limit int
			due   []time.Time
			want  []string
		}{
			{"pending only", 10, nil, []string{"pending"}},
			{"one try due, two not", 10, []time.Time{t0, t0.Add(-time.Second)}, []string{"once", "pending"}},
			{"both due, the later not yet", 10, []time.Time{t0, t0}, []string{"once", "twice", "pending"}},
			{"one cut-off for all tries", 10, []time.Time{t0.Add(time.Minute)}, []string{"once", "twice", "later", "pending"}},
			{"a cut-off in another time zone", 10, []time.Time{t0.Add(time.Minute).In(time.FixedZone("UTC-5", -5*3600))},
				[]string{"once", "twice", "later", "pending"}},
			{"the oldest first", 2, []time.Time{t0.Add(time.Minute)}, []string{"once", "twice"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var want []int64
				for _, name := range tt.want {
					want = append(want, ids[name])
				}
				got := claim(tt.limit, tt.due...)
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("claimed %v, want %v (%v)", got, want, tt.want)
				}
			})
		}
	})
}
