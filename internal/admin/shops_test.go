package admin_test

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

const (
	apiShop = "api.myshopify.com"
	site    = "https://shop.example.com"
	// evilSite and the strings below would run as script if a page did not
	// escape them.
	evilSite    = "https://evil.example/<script>alert(1)</script>"
	evilAddress = "https://receiver.example/<script>alert(2)</script>"
)

// shopsNow is the console's time in the shops' tests.
var shopsNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// at is a time of shopsNow's day.
func at(hhmm string) time.Time {
	t, err := time.Parse("15:04", hhmm)
	if err != nil {
		panic(err)
	}
	return time.Date(shopsNow.Year(), shopsNow.Month(), shopsNow.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
}

// reconcileCalls records the reconciliations the console queues.
type reconcileCalls struct {
	mu    sync.Mutex
	calls [][2]string // source, actor
}

func (r *reconcileCalls) later(_ context.Context, source, actor string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, [2]string{source, actor})
	return nil
}

func (r *reconcileCalls) list() [][2]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][2]string(nil), r.calls...)
}

// withShops configures, beside the fixture's shop (no API access), a
// Shopify shop and two WooCommerce sites with API access, one of them with
// a name no page may run as script; the console and the database tell
// shopsNow.
func withShops(later func(context.Context, string, string) error) func(*fixtureOptions) {
	return func(o *fixtureOptions) {
		o.now = shopsNow
		o.reconcileLater = later
		o.config = func(c *config.Config) {
			c.Shopify = append(c.Shopify, config.Shop{Domain: apiShop, Secrets: []config.Secret{"s"}, APIToken: "shpat_x"})
			c.WooCommerce = append(c.WooCommerce,
				config.Site{Source: site, Secrets: []config.Secret{"s"}, ConsumerKey: "ck", ConsumerSecret: "cs"},
				config.Site{Source: evilSite, Secrets: []config.Secret{"s"}, ConsumerKey: "ck", ConsumerSecret: "cs"})
		}
	}
}

// shopsHistory records, through the store, a morning of health checks and
// reconciliations of the shops withShops configures.
func shopsHistory(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	hook := func(topic, state string) store.ShopWebhook {
		return store.ShopWebhook{Topic: topic, Address: "https://receiver.example/webhooks/woocommerce/order/" + strings.TrimPrefix(topic, "order."),
			State: state, Up: state == "active"}
	}
	repaired := hook("order.updated", "active")
	repaired.Repaired = true
	checks := []store.ShopCheck{
		// The Shopify shop: ORDERS_PAID missing for half an hour, then its API refuses us.
		{Platform: enroll.Shopify, Source: apiShop, CheckedAt: at("09:00"), APIVersion: "2026-10",
			Webhooks: []store.ShopWebhook{{Topic: "ORDERS_PAID", Address: "", State: "missing"}}},
		{Platform: enroll.Shopify, Source: apiShop, CheckedAt: at("09:30"), APIVersion: "2026-10",
			Webhooks: []store.ShopWebhook{{Topic: "ORDERS_PAID", Address: "https://receiver.example/webhooks/shopify/order/paid", State: "active", Up: true}}},
		{Platform: enroll.Shopify, Source: apiShop, CheckedAt: at("11:55"), APIVersion: "2026-10", Error: "HTTP 401: invalid API token"},
		// The site: order.updated disabled from 10:02, repaired at 10:47;
		// order.created disabled since 11:00.
		{Platform: enroll.WooCommerce, Source: site, CheckedAt: at("10:02"),
			Webhooks: []store.ShopWebhook{hook("order.created", "active"), hook("order.updated", "disabled")}},
		{Platform: enroll.WooCommerce, Source: site, CheckedAt: at("10:47"),
			Webhooks: []store.ShopWebhook{hook("order.created", "active"), repaired}},
		{Platform: enroll.WooCommerce, Source: site, CheckedAt: at("11:00"),
			Webhooks: []store.ShopWebhook{hook("order.created", "disabled"), hook("order.updated", "active")}},
		{Platform: enroll.WooCommerce, Source: site, CheckedAt: at("11:50"),
			Webhooks: []store.ShopWebhook{hook("order.created", "disabled"), hook("order.updated", "active")}},
		// The hostile site.
		{Platform: enroll.WooCommerce, Source: evilSite, CheckedAt: at("11:58"),
			Webhooks: []store.ShopWebhook{{Topic: "order.created", Address: evilAddress, State: "points elsewhere"}}},
	}
	for _, c := range checks {
		if err := db.RecordShopCheck(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	run := func(p enroll.Platform, source, by, actor, start string, seen, missing, stale, refunds int) store.ReconcileRun {
		return store.ReconcileRun{Platform: p, Source: source, StartedBy: by, Actor: actor, Since: at(start).Add(-72 * time.Hour),
			StartedAt: at(start), FinishedAt: at(start).Add(3 * time.Second), Seen: seen, Missing: missing, Stale: stale, Refunds: refunds}
	}
	lastWeek := run(enroll.WooCommerce, site, store.ReconcilePeriodic, "", "10:00", 9, 9, 0, 0)
	lastWeek.StartedAt, lastWeek.FinishedAt = shopsNow.Add(-8*24*time.Hour), shopsNow.Add(-8*24*time.Hour)
	repair := run(enroll.WooCommerce, site, store.ReconcileRepair, "", "10:45", 12, 2, 1, 1)
	repair.Warnings = []string{"the site ignores modified_after: filtered here"}
	dry := run(enroll.WooCommerce, site, store.ReconcileCommand, "alice", "11:30", 14, 5, 0, 0)
	dry.DryRun = true
	shopify := run(enroll.Shopify, apiShop, store.ReconcilePeriodic, "", "11:40", 7, 0, 0, 0)
	shopify.Error = "orders page 2: HTTP 401"
	evil := run(enroll.WooCommerce, evilSite, store.ReconcileConsole, "<script>alert(3)</script>", "11:59", 1, 0, 0, 0)
	evil.Warnings = []string{"<script>alert(4)</script>"}
	for _, r := range []store.ReconcileRun{lastWeek, run(enroll.WooCommerce, site, store.ReconcilePeriodic, "", "10:00", 3, 0, 0, 0),
		repair, dry, shopify, evil} {
		if _, err := db.RecordReconcileRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
}

// TestShopsPage: each configured shop and site with its API access, its
// subscriptions and their state, the last check, its last reconciliation
// and its recent ones.
func TestShopsPage(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, withShops(nil))
		shopsHistory(t, f.db)
		f.login(t)

		status, _, page := f.get(t, "/admin/shops")
		if status != http.StatusOK {
			t.Fatalf("shops page: %d\n%s", status, page)
		}
		sections := shopSections(page)
		if len(sections) != 4 {
			t.Fatalf("%d shop sections; want 4:\n%s", len(sections), page)
		}
		mustContain(t, page, `<a href="/admin/shops" aria-current="page">Shops</a>`)

		// The fixture's shop has no API access.
		mustContain(t, sections[0], shop, "No API access: reconciliation and health checks are off for it; see README")
		mustNotContain(t, sections[0], "Reconcile now", "<table", "Last reconciliation")

		// The Shopify shop: its API failed at the last check; the
		// subscriptions are as the check before saw them.
		mustContain(t, sections[1], apiShop, "Reconcile now", `<input type="hidden" name="shop" value="api.myshopify.com">`,
			"Last checked 2026-12-05 11:55:00 UTC · API version 2026-10",
			`<p class="error">The API could not be read: HTTP 401: invalid API token.`,
			`<tr><td>ORDERS_PAID</td><td class="address">https://receiver.example/webhooks/shopify/order/paid</td><td>active</td>`,
			"<dt>Started</dt><dd>2026-12-05 11:40:00 UTC, periodic</dd>",
			`<dt>Error</dt><dd class="bad">orders page 2: HTTP 401</dd>`)

		// The site: one subscription down since 11:00, the other up; the
		// last reconciliation was a dry run, and three are listed.
		mustContain(t, sections[2], site, "Reconcile now",
			`<tr><td>order.created</td><td class="address">https://receiver.example/webhooks/woocommerce/order/created</td><td>disabled</td>`+"\n"+
				`    <td><span class="badge status-down">down</span></td>`+"\n"+`    <td>2026-12-05 11:00:00 UTC</td></tr>`,
			`<td>active</td>`+"\n"+`    <td><span class="badge status-up">up</span></td>`,
			"<dt>Started</dt><dd>2026-12-05 11:30:00 UTC, command (alice) · <strong>dry run</strong>: nothing taken in</dd>",
			"<dt>Orders updated since</dt><dd>2026-12-02 11:30:00 UTC</dd>",
			"<dt>Orders seen</dt><dd>14</dd>", `<dt>Missing</dt><dd><strong class="bad">5</strong></dd>`, "<dt>Stale</dt><dd>0</dd>",
			"<caption>Recent reconciliations</caption>",
			"<td>2026-12-05 10:45:00 UTC</td><td>repair</td><td>2026-12-02 10:45:00 UTC</td><td>12</td><td>2</td><td>1</td><td>1</td>\n    <td>done · 1 warning</td>",
			"<td>2026-11-27 12:00:00 UTC</td><td>periodic</td>")
		if n := strings.Count(sections[2], "<tr><td>2026-"); n != 4 {
			t.Errorf("the site lists %d reconciliations; want 4", n)
		}
	})
}

// shopSections cuts the shops page into its shops' sections.
func shopSections(page string) []string {
	var out []string
	for _, s := range strings.Split(page, `<section class="shop"`)[1:] {
		s, _, _ = strings.Cut(s, "</section>")
		out = append(out, s)
	}
	return out
}

// TestDashboardShowsShopAlarms: the dashboard says which subscriptions are
// down and which API could not be read, how many orders reached us only
// through reconciliation this week, and when their shop's webhooks were
// down.
func TestDashboardShowsShopAlarms(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, withShops(nil))
		f.login(t)
		_, _, page := f.get(t, "/admin/")
		mustNotContain(t, page, `class="alarms"`, "reconciliation")

		shopsHistory(t, f.db)
		_, _, page = f.get(t, "/admin/")
		esc := template.HTMLEscapeString
		mustContain(t, page,
			`<p class="error">The API of api.myshopify.com could not be read at 11:55 (UTC): HTTP 401: invalid API token</p>`,
			`<p class="error">order.created of https://shop.example.com is disabled since 11:00 (UTC)</p>`,
			`<p class="error">order.created of `+esc(evilSite)+` points elsewhere since 11:58 (UTC)</p>`,
			// The dry run and last week's run do not count.
			`<p class="warn">3 orders this week reached us only through reconciliation (https://shop.example.com: 2 missing, 1 stale):</p>`,
			"<li>"+esc("https://shop.example.com: the shop's webhook order.updated was disabled from 10:02 to 10:47 (UTC), repaired by the receiver")+"</li>",
			"<li>"+esc("https://shop.example.com: the shop's webhook order.created is disabled since 11:00 (UTC)")+"</li>",
			`<a href="/admin/shops">`)
		// The Shopify shop had no order reconciled: its outage is not listed.
		mustNotContain(t, page, "ORDERS_PAID")
	})
}

// TestReconcileNow: the button queues a reconciliation of the shop named
// (in any case) on behalf of the operator and says so; an unknown shop, a
// shop without API access, a GET and a cross-site post queue nothing.
func TestReconcileNow(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		var calls reconcileCalls
		f := newFixture(t, d, withShops(calls.later))
		f.login(t)

		page := f.act(t, "/admin/actions/reconcile", url.Values{"shop": {"HTTPS://Shop.Example.com/"}, "back": {"/admin/shops"}})
		mustContain(t, page, `<p class="flash" role="status">Reconciliation of https://shop.example.com queued.</p>`, "<h1>Shops</h1>")
		if got := calls.list(); len(got) != 1 || got[0] != [2]string{site, "admin"} {
			t.Fatalf("reconciliations queued: %q; want %s by admin", got, site)
		}

		for _, tc := range []struct {
			shop string
			want string
		}{
			{"unknown.myshopify.com", "no Shopify shop or WooCommerce site &#34;unknown.myshopify.com&#34; is configured"},
			{shop, "console.myshopify.com has no API access"},
		} {
			status, _, body := f.post(t, "/admin/actions/reconcile", url.Values{"shop": {tc.shop}})
			if status != http.StatusUnprocessableEntity {
				t.Errorf("reconcile %s: %d; want 422", tc.shop, status)
			}
			mustContain(t, body, tc.want)
		}
		if status, _, _ := f.post(t, "/admin/actions/reconcile", url.Values{}); status != http.StatusBadRequest {
			t.Errorf("reconcile without a shop: %d; want 400", status)
		}
		status, _, _ := f.get(t, "/admin/actions/reconcile?shop="+url.QueryEscape(site))
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("GET of the action: %d; want 404 or 405", status)
		}
		status, _, _ = f.post(t, "/admin/actions/reconcile", url.Values{"shop": {site}}, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
		if status != http.StatusForbidden {
			t.Errorf("cross-site post: %d; want 403", status)
		}
		if got := calls.list(); len(got) != 1 {
			t.Errorf("reconciliations queued: %q; want only the first", got)
		}

		// A link cannot make the page name another shop.
		_, _, page = f.get(t, "/admin/shops?done=reconcile-queued&n=1&shop=evil.example")
		mustNotContain(t, page, "evil.example queued", `class="flash"`)
	})
}

// TestReconcileNowWithoutReconciliation: a process that runs no
// reconciliations says so.
func TestReconcileNowWithoutReconciliation(t *testing.T) {
	f := newFixture(t, store.SQLite, withShops(nil))
	f.login(t)
	status, _, body := f.post(t, "/admin/actions/reconcile", url.Values{"shop": {apiShop}})
	if status != http.StatusUnprocessableEntity {
		t.Errorf("reconcile: %d; want 422", status)
	}
	mustContain(t, body, "in this process")
}

// TestShopPagesEscape: a shop's name, a subscription's address, a run's
// actor and warnings are shown as text, never run as script.
func TestShopPagesEscape(t *testing.T) {
	f := newFixture(t, store.SQLite, withShops(nil))
	shopsHistory(t, f.db)
	f.login(t)
	for _, path := range []string{"/admin/", "/admin/shops"} {
		_, _, page := f.get(t, path)
		if strings.Contains(page, "<script") {
			t.Errorf("%s holds a script tag:\n%s", path, page)
		}
		mustContain(t, page, template.HTMLEscapeString(evilSite))
	}
	_, _, page := f.get(t, "/admin/shops")
	mustContain(t, page, template.HTMLEscapeString(evilAddress), "console (&lt;script&gt;alert(3)&lt;/script&gt;)",
		"<li>&lt;script&gt;alert(4)&lt;/script&gt;</li>",
		`<input type="hidden" name="shop" value="`+template.HTMLEscapeString(evilSite)+`">`)
}

// TestShopsPageSiteWithTrailingSlash: a site configured with a trailing
// slash lists the reconciliations of its orders, which are stored under
// its URL without it.
func TestShopsPageSiteWithTrailingSlash(t *testing.T) {
	const slashed = "https://slash.example.com/"
	f := newFixture(t, store.SQLite, func(o *fixtureOptions) {
		o.now = shopsNow
		o.config = func(c *config.Config) {
			c.WooCommerce = append(c.WooCommerce, config.Site{Source: slashed, Secrets: []config.Secret{"s"}, ConsumerKey: "ck", ConsumerSecret: "cs"})
		}
	})
	site := config.Site{Source: slashed}
	if _, err := f.db.RecordReconcileRun(context.Background(), store.ReconcileRun{Platform: enroll.WooCommerce,
		Source: site.StoredSource(), StartedBy: store.ReconcilePeriodic, Since: at("08:00"), StartedAt: at("11:00"),
		FinishedAt: at("11:01"), Seen: 17, Missing: 2}); err != nil {
		t.Fatal(err)
	}
	f.login(t)
	_, _, page := f.get(t, "/admin/shops")
	sections := shopSections(page)
	mustContain(t, sections[len(sections)-1], slashed, "<dt>Orders seen</dt><dd>17</dd>",
		`<dt>Missing</dt><dd><strong class="bad">2</strong></dd>`)
}
