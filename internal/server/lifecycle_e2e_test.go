package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// What the LMS sees of an order's life, from signed deliveries to the
// enrollment workers' calls.

// callsSince returns the LMS calls made from the nth on, as "action course
// identifiers" lines.
func callsSince(lms *edxtest.LMS, n int) []string {
	var out []string
	for _, c := range lms.Calls()[n:] {
		out = append(out, c.Action+" "+strings.Join(c.Courses, ",")+" "+strings.Join(c.Identifiers, ","))
	}
	return out
}

// An unpaid order of a shop that requires payment is enrolled once, when
// orders/paid arrives; the redelivered orders/create that follows is stale.
func TestUnpaidShopifyOrderEnrollsOnceAtPayment(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d, func(c *config.Config) { c.Shopify[0].RequirePayment = true })
		const id = 5834765623471
		unpaid := shopifyOrderAt(id, "2026-12-01T10:00:00Z", "pending", false, twoLines...)
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", unpaid)
		if o := f.order(t, enroll.Shopify, id); o.Status != enroll.OrderAwaitingPayment || len(o.Items) != 0 {
			t.Fatalf("unpaid order: %s with %d items; want awaiting payment, none", o.Status, len(o.Items))
		}
		paidAt := time.Now()
		paid := shopifyOrderAt(id, "2026-12-01T10:03:00Z", "paid", false, twoLines...)
		f.mustShopify(t, "/webhooks/shopify/order/paid", "orders/paid", paid, "X-Shopify-Webhook-Id", "paid-1")
		f.settled(t, enroll.Shopify, id)
		f.mustShopify(t, "/webhooks/shopify/order/paid", "orders/paid", paid, "X-Shopify-Webhook-Id", "paid-1")
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", unpaid)
		o := f.settled(t, enroll.Shopify, id)
		for _, it := range o.Items {
			if it.Status != enroll.ItemEnrolled || f.lms.EnrollCount(it.SKU, it.Email) != 1 {
				t.Errorf("%s in %s: %s, enrolled %d times; want enrolled once", it.Email, it.SKU, it.Status, f.lms.EnrollCount(it.SKU, it.Email))
			}
		}
		calls := f.lms.Calls()
		for _, c := range calls {
			if c.Time.Before(paidAt) {
				t.Errorf("an LMS call before the payment: %+v", c)
			}
		}
		if len(calls) != 2 {
			t.Errorf("LMS calls %q; want one per course", callsSince(f.lms, 0))
		}
		var reasons []string
		for _, d := range f.deliveries(t, o.ID) {
			reasons = append(reasons, d.Reason)
		}
		if want := []string{"", "", store.ReasonDuplicate, store.ReasonStale}; !slices.Equal(reasons, want) {
			t.Errorf("delivery reasons %q; want %q", reasons, want)
		}
	})
}

// A delivery Shopify retries (the same X-Shopify-Webhook-Id) and an event
// sent to a second subscription (the same X-Shopify-Event-Id) are
// duplicates: one LMS call, their bodies not stored again.
func TestDuplicateShopifyDeliveriesMakeOneCall(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d)
		const id = 5834765623472
		body := shopifyOrderAt(id, "2026-12-01T10:00:00Z", "paid", false, line{1, courseA, 1, "a@example.com"})
		for _, h := range [][]string{
			{"X-Shopify-Webhook-Id", "w-1", "X-Shopify-Event-Id", "e-1"},
			{"X-Shopify-Webhook-Id", "w-1", "X-Shopify-Event-Id", "e-1"}, // Shopify's retry
			{"X-Shopify-Webhook-Id", "w-2", "X-Shopify-Event-Id", "e-1"}, // the other subscription
		} {
			f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", body, h...)
		}
		// The other subscription's retry, after the enrollment.
		o := f.settled(t, enroll.Shopify, id)
		f.mustShopify(t, "/webhooks/shopify", "orders/create", body, "X-Shopify-Webhook-Id", "w-2", "X-Shopify-Event-Id", "e-1")
		if calls := callsSince(f.lms, 0); len(calls) != 1 || o.Items[0].Status != enroll.ItemEnrolled {
			t.Errorf("LMS calls %q, item %s; want one enroll call", calls, o.Items[0].Status)
		}
		ds := f.deliveries(t, o.ID)
		if len(ds) != 4 || !ds[0].HasBody {
			t.Fatalf("deliveries %+v; want 4, the first with its body", ds)
		}
		for _, d := range ds[1:] {
			if d.Reason != store.ReasonDuplicate || d.HasBody || d.BodySHA256 != ds[0].BodySHA256 {
				t.Errorf("delivery %d: reason %q, body kept %v, digest %s; want a duplicate without its body, with its digest",
					d.ID, d.Reason, d.HasBody, d.BodySHA256)
			}
		}
	})
}

// A line whose email property names three learners enrolls all three.
func TestThreeLearnersOnOneLine(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d)
		const id = 5834765623473
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", shopifyOrderAt(id, "2026-12-01T10:00:00Z", "paid", false,
			line{1, courseA, 3, "t1@example.com, t2@example.com;\nt3@example.com"}))
		o := f.settled(t, enroll.Shopify, id)
		if len(o.Items) != 3 {
			t.Fatalf("items %+v; want three learners", o.Items)
		}
		for _, email := range []string{"t1@example.com", "t2@example.com", "t3@example.com"} {
			if !f.lms.Enrolled(courseA, email) {
				t.Errorf("%s not enrolled", email)
			}
		}
	})
}

// A refund of one line unenrolls the learner of that course only.
func TestPartialRefundUnenrollsOnlyTheRefundedCourse(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d)
		const id = 5834765623474
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", shopifyOrderAt(id, "2026-12-01T10:00:00Z", "paid", false, twoLines...))
		f.settled(t, enroll.Shopify, id)
		before := len(f.lms.Calls())
		f.mustShopify(t, "/webhooks/shopify/refund/create", "refunds/create", shopifyRefundOf(900, id, 2, 1))
		waitFor(t, "the refunded learner to be unenrolled", func() bool { return !f.lms.Enrolled(courseB, "b@example.com") })
		o := f.settled(t, enroll.Shopify, id)
		if !f.lms.Enrolled(courseA, "a@example.com") || o.Items[0].Status != enroll.ItemEnrolled || o.Items[1].Status != enroll.ItemUnenrolled {
			t.Errorf("items %+v; want a@ enrolled in A, b@ unenrolled from B", o.Items)
		}
		if calls := callsSince(f.lms, before); !slices.Equal(calls, []string{"unenroll " + courseB + " b@example.com"}) {
			t.Errorf("LMS calls after the refund %q; want one unenroll from B", calls)
		}
	})
}

// After a refund, an older orders/create (a stale snapshot), or the same
// one delivered again, leaves the learner unenrolled.
func TestRefundThenOldOrderCreateStaysUnenrolled(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d)
		const id = 5834765623475
		created := shopifyOrderAt(id, "2026-12-01T10:00:00Z", "pending", false, twoLines...)
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", created)
		f.mustShopify(t, "/webhooks/shopify/order/paid", "orders/paid", shopifyOrderAt(id, "2026-12-01T10:05:00Z", "paid", false, twoLines...))
		f.settled(t, enroll.Shopify, id)
		f.mustShopify(t, "/webhooks/shopify/refund/create", "refunds/create", shopifyRefundOf(901, id, 1, 1))
		waitFor(t, "the refunded learner to be unenrolled", func() bool { return !f.lms.Enrolled(courseA, "a@example.com") })
		f.settled(t, enroll.Shopify, id)
		before := len(f.lms.Calls())
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", created) // stale
		f.mustShopify(t, "/webhooks/shopify/order/paid", "orders/paid", shopifyOrderAt(id, "2026-12-01T10:05:00Z", "paid", false, twoLines...))
		o := f.order(t, enroll.Shopify, id)
		if it := o.Items[0]; it.Status != enroll.ItemUnenrolled || it.Want != enroll.WantUnenrolled || !it.Refunded {
			t.Errorf("refunded item %+v; want unenrolled for good", it)
		}
		ds := f.deliveries(t, o.ID)
		if got := []string{ds[len(ds)-2].Reason, ds[len(ds)-1].Reason}; !slices.Equal(got, []string{store.ReasonStale, store.ReasonDuplicate}) {
			t.Errorf("the last deliveries' reasons %q; want stale, duplicate", got)
		}
		if calls := callsSince(f.lms, before); len(calls) != 0 || f.lms.Enrolled(courseA, "a@example.com") {
			t.Errorf("LMS calls %q after the old deliveries; want none, the learner unenrolled", calls)
		}
	})
}

// A cancellation while the enrollment waits for a retry (the LMS answered
// 503) ends with the learner not enrolled, and no enroll call after it.
func TestCancelWhileEnrollRetrying(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d)
		const id = 5834765623476
		f.lms.FailNext(1000, http.StatusServiceUnavailable)
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create",
			shopifyOrderAt(id, "2026-12-01T10:00:00Z", "paid", false, line{1, courseA, 1, "a@example.com"}))
		waitFor(t, "the enrollment to wait for a retry", func() bool {
			o := f.order(t, enroll.Shopify, id)
			return len(o.Items) == 1 && o.Items[0].Status == enroll.ItemRetrying
		})
		f.lms.FailNext(0, 0)
		before := len(f.lms.Calls())
		f.mustShopify(t, "/webhooks/shopify/order/cancelled", "orders/cancelled",
			shopifyOrderAt(id, "2026-12-01T10:07:00Z", "voided", true, line{1, courseA, 1, "a@example.com"}))
		o := f.settled(t, enroll.Shopify, id)
		if it := o.Items[0]; it.Status != enroll.ItemUnenrolled || f.lms.Enrolled(courseA, "a@example.com") {
			t.Errorf("item %s (%q), enrolled %v; want unenrolled", it.Status, it.LastError, f.lms.Enrolled(courseA, "a@example.com"))
		}
		calls := callsSince(f.lms, before)
		for _, c := range calls {
			if strings.HasPrefix(c, "enroll ") {
				t.Errorf("an enroll call after the cancellation: %q", calls)
			}
		}
		if before == 0 || len(calls) == 0 {
			t.Errorf("calls before the cancellation %d, after %q; want failed enrolls, then an unenroll", before, calls)
		}
	})
}

// The log line of each delivery says whether it was stale or a
// duplicate, and holds neither emails nor bodies.
func TestDeliveryLogSaysStaleOrDuplicate(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d)
		const id = 5834765623477
		newer := shopifyOrderAt(id, "2026-12-01T10:05:00Z", "paid", false, twoLines...)
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", newer, "X-Shopify-Webhook-Id", "w-1")
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", newer, "X-Shopify-Webhook-Id", "w-1")
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", shopifyOrderAt(id, "2026-12-01T10:00:00Z", "paid", false, twoLines...))
		var accepted []string
		for l := range strings.Lines(f.logs.String()) {
			if strings.Contains(l, `msg="webhook accepted"`) {
				accepted = append(accepted, l)
			}
		}
		want := []string{"stale=false duplicate=false", "stale=false duplicate=true", "stale=true duplicate=false"}
		if len(accepted) != len(want) {
			t.Fatalf("log lines %q; want %d", accepted, len(want))
		}
		for i, l := range accepted {
			if !strings.Contains(l, want[i]) || strings.Contains(l, "@example.com") || strings.Contains(l, "line_items") {
				t.Errorf("log line %d: %s; want %s, no emails, no body", i, l, want[i])
			}
		}
	})
}

// A course sold in the verified mode enrolls an existing account in
// verified through the Enrollment API, and a learner who registers later
// once the registration check finds the account.
func TestVerifiedCourseEnrollsInItsMode(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d, func(c *config.Config) {
			c.Courses = []config.Course{{CourseID: courseA, Mode: "verified"}}
		})
		f.lms.AddCourseMode(courseA, "audit")
		f.lms.AddCourseMode(courseA, "verified")
		f.lms.SetIdentifier("later@example.com", edxtest.NoAccount)
		const id = 5834765623478
		f.mustShopify(t, "/webhooks/shopify/order/create", "orders/create", shopifyOrderAt(id, "2026-12-01T10:00:00Z", "paid", false,
			line{1, courseA, 1, "has@example.com"}, line{2, courseA, 1, "later@example.com"}))
		waitFor(t, "the existing account to be enrolled and the other to await registration", func() bool {
			o := f.order(t, enroll.Shopify, id)
			return len(o.Items) == 2 && o.Items[0].Status == enroll.ItemEnrolled && o.Items[1].Status == enroll.ItemAwaitingRegistration
		})
		if mode, active := f.lms.EnrollmentOf(courseA, "has@example.com"); mode != "verified" || !active {
			t.Errorf("has@: enrollment %q, active %v; want verified", mode, active)
		}
		if !f.lms.Allowed(courseA, "later@example.com") {
			t.Error("later@ is not allowed to enroll on registration")
		}
		f.lms.Register("later@example.com", "later_learner")
		o := f.settled(t, enroll.Shopify, id)
		waitFor(t, "the registered learner to be enrolled", func() bool {
			return f.order(t, enroll.Shopify, id).Items[1].Status == enroll.ItemEnrolled
		})
		if mode, active := f.lms.EnrollmentOf(courseA, "later@example.com"); mode != "verified" || !active {
			t.Errorf("later@: enrollment %q, active %v; want verified once registered", mode, active)
		}
		for _, it := range o.Items {
			if it.Mode != "verified" {
				t.Errorf("item %s: mode %q; want verified", it.Email, it.Mode)
			}
		}
	})
}

// A WooCommerce order.updated whose status became refunded unenrolls the
// order's learners; a partial refund before it left them enrolled.
func TestWooCommerceRefundUnenrolls(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newLifeFixture(t, d)
		const id = 71
		for _, body := range []string{
			wooOrderAt(id, "processing", "2026-12-01T10:00:00", true, "[]"),
			wooOrderAt(id, "processing", "2026-12-01T10:05:00", true, `[{"id": 5, "total": "-1.00"}]`),
		} {
			if got := f.woo(t, body); got != http.StatusOK {
				t.Fatalf("order.updated: %d", got)
			}
		}
		o := f.settled(t, enroll.WooCommerce, id)
		if !o.Snapshot.PartialRefund || o.Items[0].Status != enroll.ItemEnrolled || !f.lms.Enrolled(courseA, "buyer@example.com") {
			t.Fatalf("after a partial refund: %+v, item %s; want the learner enrolled", o.Snapshot, o.Items[0].Status)
		}
		before := len(f.lms.Calls())
		if got := f.woo(t, wooOrderAt(id, "refunded", "2026-12-01T10:09:00", true, `[{"id": 6, "total": "-9.00"}]`)); got != http.StatusOK {
			t.Fatalf("refunded: %d", got)
		}
		waitFor(t, "the learner to be unenrolled", func() bool {
			return f.order(t, enroll.WooCommerce, id).Items[0].Status == enroll.ItemUnenrolled
		})
		if calls := callsSince(f.lms, before); !slices.Equal(calls, []string{"unenroll " + courseA + " buyer@example.com"}) ||
			f.lms.Enrolled(courseA, "buyer@example.com") {
			t.Errorf("LMS calls after the refund %q; want one unenroll", calls)
		}
	})
}
