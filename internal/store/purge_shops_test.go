package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// A purge deletes the reconciliations started before the cut but each
// shop's latest, and the webhook outages over before it; a dry run
// counts them.
func TestPurgeReconcileRunsAndOutages(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		old, recent := now.AddDate(0, 0, -100), now.AddDate(0, 0, -1)
		run := func(source string, at time.Time) {
			t.Helper()
			_, err := db.RecordReconcileRun(ctx, store.ReconcileRun{Platform: enroll.Shopify, Source: source,
				StartedBy: store.ReconcilePeriodic, Since: at.Add(-time.Hour), StartedAt: at, FinishedAt: at.Add(time.Second)})
			if err != nil {
				t.Fatal(err)
			}
		}
		run("a.myshopify.com", old)
		run("a.myshopify.com", old.Add(time.Hour))
		run("a.myshopify.com", recent)
		run("b.myshopify.com", old) // its latest: kept
		run("b.myshopify.com", old.Add(-time.Hour))
		check := func(source string, at time.Time, state string) {
			t.Helper()
			err := db.RecordShopCheck(ctx, store.ShopCheck{Platform: enroll.Shopify, Source: source, CheckedAt: at,
				Webhooks: []store.ShopWebhook{{Topic: "ORDERS_CREATE", Address: "https://x/y", State: state, Up: state == "active"}}})
			if err != nil {
				t.Fatal(err)
			}
		}
		check("a.myshopify.com", old, "disabled") // over long ago: deleted
		check("a.myshopify.com", old.Add(time.Hour), "active")
		check("a.myshopify.com", recent, "disabled") // over recently: kept
		check("a.myshopify.com", recent.Add(time.Hour), "active")
		check("b.myshopify.com", old, "disabled") // still down: kept
		cut := now.AddDate(0, 0, -90)
		for _, dry := range []bool{true, false} {
			res, err := db.Purge(ctx, cut, dry)
			if err != nil {
				t.Fatal(err)
			}
			if res.ReconcileRuns != 3 || res.Outages != 1 {
				t.Errorf("dry run %v: %+v; want 3 reconciliations and 1 outage", dry, res)
			}
		}
		for source, want := range map[string]int{"a.myshopify.com": 1, "b.myshopify.com": 1} {
			runs, err := db.ReconcileRuns(ctx, enroll.Shopify, source, 10)
			if err != nil || len(runs) != want {
				t.Errorf("%s: runs %+v, %v; want %d", source, runs, err, want)
			}
		}
		runs, _ := db.ReconcileRuns(ctx, enroll.Shopify, "b.myshopify.com", 10)
		if len(runs) == 1 && !runs[0].StartedAt.Equal(old) {
			t.Errorf("b kept %+v; want its latest", runs[0])
		}
		outages, err := db.Outages(ctx, time.Time{})
		if err != nil || len(outages) != 2 {
			t.Errorf("outages %+v, %v; want two", outages, err)
		}
		if res, err := db.Purge(ctx, cut, false); err != nil || res.ReconcileRuns+res.Outages != 0 {
			t.Errorf("second purge %+v, %v; want nothing", res, err)
		}
	})
}
