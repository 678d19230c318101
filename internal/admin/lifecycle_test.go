package admin_test

import (
	"context"
	"html/template"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// TestOrderPagesShowTheOrdersLife: the order page tells the shop's status,
// a partial refund, the snapshot applied, what changed nothing, refunds,
// seats and redaction, and each item's desired state beside its status;
// the orders page filters by the new statuses and says what each means.
func TestOrderPagesShowTheOrdersLife(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		// The rows stand for orders in every state of their life: no job
		// may move them on while the pages are read (the registration
		// check, which runs at start, would take the awaiting one).
		if err := f.q.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		storetest.LifecycleOrders(t, f.db)
		f.login(t)

		status, _, page := f.get(t, "/admin/orders/9001")
		if status != http.StatusOK {
			t.Fatalf("order 9001: %d\n%s", status, page)
		}
		mustContain(t, page,
			"<dt>Status in the shop</dt><dd>partially_refunded</dd>",
			"<dt>Shop's update applied</dt><dd>2026-11-23 10:00:00 UTC</dd>",
			"<dt>Ignored deliveries</dt><dd>2 stale snapshots, 1 duplicate delivery",
			// Refunds and seats.
			"<tr><td>7001</td><td>11</td><td>4</td><td>2026-11-23 11:30:00 UTC</td></tr>",
			"<tr><td>11</td><td>TEAM</td><td>2 of 5 seats assigned</td><td>3</td><td>1</td></tr>",
			// Each item: desired state beside its status, mode, refund, seats of its line.
			`<span class="badge status-retrying">retrying</span> <span class="towards">→ unenrolled</span>`,
			"Desired: unenrolled · mode verified · <strong>refunded</strong> · line 11: 2 of 5 seats assigned",
			"Desired: enrolled · mode verified · line 11: 2 of 5 seats assigned",
			`<span class="badge status-awaiting_registration">awaiting_registration</span></h3>`,
			"Desired: enrolled · mode verified · line 12</p>",
		)
		if strings.Contains(page, "Redacted") {
			t.Errorf("order 9001 reads as redacted")
		}
		// One badge per item: the browser test reads an item's status by it.
		for _, section := range strings.Split(page, `<section class="item"`)[1:] {
			section, _, _ = strings.Cut(section, "</section>")
			if n := strings.Count(section, `class="badge`); n != 1 {
				t.Errorf("an item shows %d badges; want its status only:\n%s", n, section)
			}
		}

		_, _, page = f.get(t, "/admin/orders/9002")
		mustContain(t, page, "<dd>processing · <strong>"+template.HTMLEscapeString(enroll.PartialRefundNote)+"</strong></dd>",
			"<dt>Redacted</dt><dd>2026-11-24 08:00:00 UTC", "<dt>Ignored deliveries</dt><dd>none</dd>",
			"Desired: enrolled · mode course default · line 21</p>")
		if strings.Contains(page, "<h2>Refunds</h2>") || strings.Contains(page, "<h2>Seats</h2>") {
			t.Errorf("order 9002 shows refunds or seats it does not have")
		}
		_, _, page = f.get(t, "/admin/orders/9004")
		mustContain(t, page, "<dd>voided · <strong>cancelled</strong></dd>",
			`<span class="badge status-unenrolled">unenrolled</span></h3>`)

		// The search: every status in the filter, described, and the new ones filter.
		_, _, page = f.get(t, "/admin/orders")
		for _, s := range enroll.ItemStatuses() {
			mustContain(t, page, "<option>"+string(s)+"</option>",
				`<dt><span class="badge status-`+string(s)+`">`+string(s)+`</span></dt><dd>`+template.HTMLEscapeString(s.Describe())+`</dd>`)
		}
		_, _, page = f.get(t, "/admin/orders?status=unenrolled")
		mustContain(t, page, ">9003</a>", ">9004</a>", `<span class="small">shop: voided</span><br><span class="small">cancelled</span>`,
			`<option selected>unenrolled</option>`)
		if strings.Contains(page, ">9001</a>") {
			t.Errorf("unenrolled filter lists order 9001")
		}
		_, _, page = f.get(t, "/admin/orders?status=awaiting_registration")
		mustContain(t, page, ">9001</a>", `<span class="small">shop: partially_refunded</span>`,
			`<span class="badge status-retrying">retrying</span> <span class="towards">→ unenrolled</span>`)
		if regexp.MustCompile(`>900[234]</a>`).MatchString(page) {
			t.Errorf("awaiting_registration filter lists other orders")
		}
	})
}

// TestDashboardCountsStaleDeliveries: stale deliveries are counted apart
// from the accepted ones.
func TestDashboardCountsStaleDeliveries(t *testing.T) {
	f := newFixture(t, store.SQLite)
	for _, reason := range []string{"", store.ReasonStale, store.ReasonStale, store.ReasonDuplicate} {
		if _, err := f.db.SaveDelivery(context.Background(), store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify,
			Source: shop, Path: "/webhooks/shopify", Status: 200, Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	f.login(t)
	_, _, page := f.get(t, "/admin/")
	mustContain(t, page, `<th scope="col">Duplicates</th><th scope="col">Stale</th>`)
	// Accepted, duplicates, stale of the last 24 hours.
	if !regexp.MustCompile(`<td>1</td><td>1</td><td>2</td>\s*<td><a href="/admin/deliveries\?rejected=1">0</a></td>`).MatchString(page) {
		t.Errorf("the dashboard does not count 1 accepted, 1 duplicate and 2 stale deliveries:\n%s", page)
	}
}
