package jobs_test

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/wootest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

const publicURL = "https://webhooks.lms.example.com"

// wooSite is a WooCommerce site with API access on the fake, its two
// webhooks at the public URL, and a client that trusts the fake.
func wooSite(t *testing.T) (*wootest.Shop, config.Config, *http.Client) {
	wc := wootest.New(t)
	for _, h := range []wootest.Webhook{
		{Topic: "order.created", DeliveryURL: publicURL + "/webhooks/woocommerce/order/create", Secret: "s"},
		{Topic: "order.updated", DeliveryURL: publicURL + "/webhooks/woocommerce/order/update", Secret: "s"},
	} {
		wc.AddWebhook(h)
	}
	cfg := config.Config{PublicURL: publicURL, WooCommerce: []config.Site{{Source: wc.URL + "/", Secrets: []config.Secret{"s"},
		ConsumerKey: config.Secret(wc.ConsumerKey), ConsumerSecret: config.Secret(wc.ConsumerSecret)}}}
	return wc, cfg, wc.Client()
}

func startQueue(t *testing.T, db *store.DB, opts jobs.Options) *jobs.Queue {
	t.Helper()
	opts.PollInterval = 20 * time.Millisecond
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	q, err := jobs.New(db, nil, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopQueue(t, q) })
	return q
}

func stopQueue(t *testing.T, q *jobs.Queue) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Stop(ctx); err != nil {
		t.Error(err)
	}
}

// The health check runs as a periodic job of a queue without enrollment
// workers, and finds a webhook WooCommerce disabled.
func TestShopCheckJob(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		wc, cfg, client := wooSite(t)
		wc.DisableWebhook(wc.Webhooks()[1].ID)
		startQueue(t, db, jobs.Options{Shops: jobs.ShopOptions{Config: cfg, CheckEvery: time.Second, HTTPClient: client}})
		waitUntil(t, "the check", func() bool {
			checks, err := db.ShopChecks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return len(checks) == 1 && len(checks[0].Webhooks) == 2
		})
		checks, _ := db.ShopChecks(ctx)
		for _, w := range checks[0].Webhooks {
			if w.Up != (w.Topic == "order.created") {
				t.Errorf("%+v: want order.updated down, order.created up", w)
			}
		}
	})
}

// Without a shop with API access, or with the intervals at 0, no shop job
// is run. The retention job runs at start, as the shop jobs would: once
// it is in, they would be too.
func TestNoShopJobsWithoutAPIAccess(t *testing.T) {
	_, cfg, client := wooSite(t)
	noAPI := cfg
	noAPI.WooCommerce = []config.Site{{Source: cfg.WooCommerce[0].Source, Secrets: cfg.WooCommerce[0].Secrets}}
	for name, shops := range map[string]jobs.ShopOptions{
		"no API access": {Config: noAPI, CheckEvery: time.Second, ReconcileEvery: time.Second, HTTPClient: client},
		"intervals 0":   {Config: cfg, HTTPClient: client},
	} {
		t.Run(name, func(t *testing.T) {
			db := storetest.New(t)
			if err := jobs.Migrate(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			startQueue(t, db, jobs.Options{Retention: 90 * 24 * time.Hour, Shops: shops})
			waitUntil(t, "the retention job", func() bool { return jobCount(t, db, "retention") > 0 })
			if n := jobCount(t, db, "shop_check") + jobCount(t, db, "reconcile"); n != 0 {
				t.Errorf("%d shop jobs inserted", n)
			}
		})
	}
}

func jobCount(t *testing.T, db *store.DB, kind string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = $1`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Two replicas over one PostgreSQL database run each periodic job once per
// interval, also when the leader stops and the other takes over: every
// job of a kind is scheduled in a period of its own, and there are no
// more of them than periods went by.
func TestShopJobsOncePerInterval(t *testing.T) {
	db := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	_, cfg, client := wooSite(t)
	const every = time.Second
	opts := jobs.Options{Shops: jobs.ShopOptions{Config: cfg, CheckEvery: every, ReconcileEvery: every, HTTPClient: client}}
	start := time.Now()
	a := startQueue(t, db, opts)
	b := startQueue(t, db, opts)
	waitUntil(t, "a few checks", func() bool { return jobCount(t, db, "shop_check") >= 3 })
	stopQueue(t, a) // the leader, or not: either way one goes on
	before := jobCount(t, db, "shop_check")
	waitUntil(t, "checks after a replica stopped", func() bool { return jobCount(t, db, "shop_check") >= before+3 })
	stopQueue(t, b)
	periods := int(time.Since(start)/every) + 2
	for _, kind := range []string{"shop_check", "reconcile"} {
		rows, err := db.SQL().QueryContext(ctx, `SELECT scheduled_at FROM river_job WHERE kind = $1 ORDER BY scheduled_at`, kind)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[time.Time]int{}
		n := 0
		for rows.Next() {
			var at time.Time
			if err := rows.Scan(&at); err != nil {
				t.Fatal(err)
			}
			seen[at.Truncate(every)]++
			n++
		}
		rows.Close()
		if n > periods {
			t.Errorf("%d %s jobs in %d periods of %s", n, kind, periods, every)
		}
		for p, k := range seen {
			if k > 1 {
				t.Errorf("%d %s jobs in the period from %s", k, kind, p.Format(time.RFC3339Nano))
			}
		}
	}
	var runs int
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM reconcile_runs WHERE started_by = $1`, store.ReconcilePeriodic).Scan(&runs); err != nil {
		t.Fatal(err)
	}
	// Each job records one run (one site); one stopped by the replica's
	// shutdown may have recorded it before it completed.
	if done, all := completed(t, db, "reconcile"), jobCount(t, db, "reconcile"); runs < done || runs > all {
		t.Errorf("%d periodic reconciliations recorded by %d reconcile jobs, %d completed; want one each (one site)", runs, all, done)
	}
}

func completed(t *testing.T, db *store.DB, kind string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = $1 AND state = 'completed'`, kind).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ReconcileNow inserts a job that a worker runs: a reconciliation of the
// shop, started from the console by the actor.
func TestReconcileNow(t *testing.T) {
	storetest.ForEach(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := jobs.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		_, cfg, client := wooSite(t)
		q := startQueue(t, db, jobs.Options{Shops: jobs.ShopOptions{Config: cfg, HTTPClient: client}})
		if err := q.ReconcileNow(ctx, cfg.WooCommerce[0].Source, "admin"); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the reconciliation", func() bool { return completed(t, db, "reconcile") == 1 })
		runs, err := db.ReconcileRuns(ctx, "", "", 10)
		if err != nil || len(runs) != 1 || runs[0].StartedBy != store.ReconcileConsole || runs[0].Actor != "admin" ||
			!enroll.SameSource(enroll.WooCommerce, runs[0].Source, cfg.WooCommerce[0].Source) {
			t.Errorf("runs %+v, %v; want one from the console by admin", runs, err)
		}
	})
}
