package ops

// Reconciliation: the shops' own APIs are the source of truth, webhooks
// only the fast path. Reconcile reads the orders a shop changed in a
// window and brings the store up to what they say.
//
// The rules:
//   - An order read that is not stored is missing. One stored whose last
//     snapshot is older than the shop's, and the shop's says something else
//     (financial status or status, cancelled, refunded, partially refunded,
//     a learner not stored, paid where the store awaits payment, a refund
//     not stored), is stale, as far as the shop's webhooks would have
//     said it: a Shopify order's financial status is not compared (it
//     moves with refunds and captures that no order topic sends; payment
//     awaited is), nor its cancellation and refunds when the shop is not
//     subscribed to them (ShopifyTopics). Others are left alone: nothing
//     is recorded.
//   - A missing or stale order goes through the webhook's ingest path: the
//     rules of package ingest make what the store is handed (a Shopify
//     order reads as orders/updated, a WooCommerce one as order.updated,
//     with its dedup key), stored by SaveAccepted with its jobs, as a
//     delivery from "reconcile" that keeps the webhook body it reads as, so
//     that it can be replayed. A webhook of the same order that arrives
//     later is a duplicate or stale, by the store's rules.
//   - Refunds: Shopify's come with their order, each not stored is stored
//     as a refunds/create would be. WooCommerce's webhooks do not name the
//     refunded lines: for a refunded or partially refunded order that is
//     missing, stale or has no refund stored, the site's
//     /orders/<id>/refunds is read, and each refund not stored is stored,
//     so that with unenroll_on_refund only the refunded lines' learners are
//     unenrolled.
//   - A WooCommerce order the site refuses unpaid (a 402 to its webhook) is
//     not stored; it is counted as unpaid.
//   - A refund that names no line (money only) has nothing to store.
//   - One reconciliation of a shop runs at a time, across processes
//     (store.TryLockShop): one that finds another running skips the shop
//     and says so (Busy), it does not wait.
//   - Each shop's run is recorded (RecordReconcileRun), dry runs too,
//     which store nothing else. A shop whose API fails is reported with
//     its error, and the others are reconciled all the same.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ingest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// DefaultLookback is how far back a reconciliation reads when not told.
const DefaultLookback = 72 * time.Hour

// ReconcilePath is the path of the deliveries reconciliation stores: no
// endpoint, where they came from.
const ReconcilePath = "reconcile"

// Why an order or a refund was found (FoundOrder.Reason).
const (
	// FoundMissing: the order was not stored at all.
	FoundMissing = "missing"
	// FoundStale: the order was stored with an older snapshot, and the
	// shop's says something else.
	FoundStale = "stale"
	// FoundRefund: a refund of the order was not stored.
	FoundRefund = "refund"
	// FoundUnpaid: a WooCommerce order the site refuses unpaid, not stored
	// (as its webhook would not be).
	FoundUnpaid = "unpaid"
)

// ReconcileOptions tell Reconcile what to read and how.
type ReconcileOptions struct {
	// Shop, when set, limits it to the shop domain or site URL it names.
	Shop string
	// Since is the start of the window read; when zero, Now less the
	// configured lookback (WEBHOOK_RECEIVER_RECONCILE_LOOKBACK), or
	// DefaultLookback. Shopify reads at most its last 60 days (a warning says so).
	Since time.Time
	// DryRun reads and compares, and stores nothing but the record of the
	// run.
	DryRun bool
	// StartedBy is store.ReconcileCommand, ReconcilePeriodic, ...; Actor
	// names who asked.
	StartedBy string
	Actor     string
	// HTTPClient calls the shops' APIs; a client with a 30-second timeout
	// when nil.
	HTTPClient *http.Client
	// Logger logs what each shop's run found; none when nil.
	Logger *slog.Logger
	// Sleep waits out Shopify's rate limits (d, or until ctx ends); a timer
	// when nil. Tests give one that moves a fake shop's clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

// ReconcileReport is what a reconciliation of one shop or site did.
type ReconcileReport struct {
	Platform enroll.Platform
	Shop     string // the shop domain or site URL
	// Skipped says why the shop was not read (no credentials, another
	// reconciliation of it running), or is "".
	Skipped string
	// Busy is true when another reconciliation of the shop was running,
	// in this process or another: this one did not read it.
	Busy bool
	// Err is why the shop's run stopped early; what it found before is
	// stored and reported all the same.
	Err error
	// Run is the run as recorded (ID 0 for a skipped shop): the window,
	// the counts, the warnings.
	Run store.ReconcileRun
	// Unpaid counts the WooCommerce orders not stored because the site
	// refuses them unpaid.
	Unpaid int
	// Found are the orders and refunds found missing or stale, in the
	// order read.
	Found []FoundOrder
}

// FoundOrder is an order, or a refund of one, that reconciliation found
// the store lacked.
type FoundOrder struct {
	OrderID  int64  // the shop's order id
	RefundID int64  // the shop's refund id, for FoundRefund
	Reason   string // FoundMissing, FoundStale, FoundRefund, FoundUnpaid
	// DeliveryID is the delivery it was stored as (0 in a dry run, or for
	// one not stored), and Enqueued how many enrollment jobs it made.
	DeliveryID int64
	Enqueued   int
}

// ReconcileFailed counts the reports with an error.
func ReconcileFailed(reports []ReconcileReport) int {
	n := 0
	for _, r := range reports {
		if r.Err != nil {
			n++
		}
	}
	return n
}

// Reconcile reads, for each configured shop and site with API access (or
// opts.Shop only), the orders changed since opts.Since, and stores what
// the store lacks (see the rules above). It returns one report per shop;
// its error is for a request it refuses (an unknown shop, a window in the
// future), a shop's failure is in its report.
func (o *Ops) Reconcile(ctx context.Context, opts ReconcileOptions) ([]ReconcileReport, error) {
	now := o.now()
	since := opts.Since
	if since.IsZero() {
		since = now.Add(-cmp.Or(o.Config.ReconcileLookback, DefaultLookback))
	}
	if since.After(now) {
		return nil, refuse("reconcile: the window starts at %s, in the future", since.UTC().Format(time.RFC3339))
	}
	if opts.StartedBy == "" {
		opts.StartedBy = store.ReconcileCommand
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	shops, err := apiShops(o.Config, opts.Shop, clientOptions{http: opts.HTTPClient, now: o.Now, sleep: opts.Sleep})
	if err != nil {
		return nil, err
	}
	reports := make([]ReconcileReport, 0, len(shops))
	for _, s := range shops {
		r := ReconcileReport{Platform: s.platform, Shop: s.name, Skipped: s.skipped}
		if s.skipped == "" {
			o.reconcileAlone(ctx, s, since, opts, &r)
			logReconcile(logger, r)
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// reconcileAlone reconciles a shop unless another reconciliation of it
// runs, in this process or another: that one is not waited for, the
// shop is reported Busy and skipped.
func (o *Ops) reconcileAlone(ctx context.Context, s apiShop, since time.Time, opts ReconcileOptions, r *ReconcileReport) {
	unlock, ok, err := o.DB.TryLockShop(ctx, store.LockReconcile, s.platform, source(s))
	if err != nil {
		r.Err = fmt.Errorf("reconcile %s: %w", s.name, err)
		return
	}
	if !ok {
		r.Busy = true
		r.Skipped = "reconciliation of " + s.name + " already running"
		return
	}
	defer unlock()
	o.reconcileShop(ctx, s, since, opts, r)
}

// reconcileShop reconciles one shop and records its run.
func (o *Ops) reconcileShop(ctx context.Context, s apiShop, since time.Time, opts ReconcileOptions, r *ReconcileReport) {
	rc := &reconciler{o: o, s: s, opts: opts, r: r}
	r.Run = store.ReconcileRun{Platform: s.platform, Source: source(s), StartedBy: opts.StartedBy,
		Actor: strings.TrimSpace(opts.Actor), Since: since.UTC(), StartedAt: o.now(), DryRun: opts.DryRun}
	var res shop.Result
	var err error
	switch {
	case s.err != nil:
		err = s.err
	case s.shopify != nil:
		res, err = s.shopify.Orders(ctx, since, func(found []shop.Found) error { return rc.page(ctx, found) })
	default:
		res, err = s.woo.Orders(ctx, since, func(found []shop.Found) error { return rc.page(ctx, found) })
	}
	if !res.Since.IsZero() {
		r.Run.Since = res.Since
	}
	r.Run.Warnings = append(slices.Clone(res.Warnings), r.Run.Warnings...)
	for _, skipped := range res.Skipped {
		r.Run.Warnings = append(r.Run.Warnings, "order skipped: "+skipped.Error())
	}
	if res.Waits > 0 {
		r.Run.Warnings = append(r.Run.Warnings, fmt.Sprintf("waited %d times for the shop's rate limit, %s in all",
			res.Waits, res.Waited.Round(time.Millisecond)))
	}
	if err != nil {
		r.Err = fmt.Errorf("reconcile %s: %w", s.name, err)
		r.Run.Error = r.Err.Error()
	}
	r.Run.FinishedAt = o.now()
	// The run is recorded even when the shop failed or ctx ended.
	id, err := o.DB.RecordReconcileRun(context.WithoutCancel(ctx), r.Run)
	if err != nil {
		r.Err = errors.Join(r.Err, err)
		return
	}
	r.Run.ID = id
}

// source is the shop's name as its webhooks' orders are stored: the
// domain, or the site's StoredSource.
func source(s apiShop) string {
	if s.platform == enroll.WooCommerce {
		return s.site.StoredSource()
	}
	return s.name
}

// reconciler compares one shop's pages with the store.
type reconciler struct {
	o    *Ops
	s    apiShop
	opts ReconcileOptions
	r    *ReconcileReport
}

// page compares a page of orders with the store and stores what it lacks.
func (rc *reconciler) page(ctx context.Context, found []shop.Found) error {
	src := rc.r.Run.Source
	ids := make([]int64, len(found))
	for i, f := range found {
		ids[i] = f.Order.ID
	}
	stored, err := rc.o.DB.StoredOrders(ctx, rc.s.platform, src, ids)
	if err != nil {
		return err
	}
	for _, f := range found {
		f.Order.Source = src
		rc.r.Run.Seen++
		if err := rc.order(ctx, f, stored); err != nil {
			return err
		}
	}
	return nil
}

// order compares one order with the store and stores what it lacks.
func (rc *reconciler) order(ctx context.Context, f shop.Found, stored map[int64]store.StoredOrder) error {
	s, isStored := stored[f.Order.ID]
	if s.Redacted {
		return nil // a privacy request erased it: nothing comes back
	}
	var a store.Accepted
	var err error
	if rc.s.platform == enroll.Shopify {
		a, err = ingest.ShopifyOrder(rc.o.Config, rc.s.shop, ingest.OrdersUpdated, f.Order)
	} else {
		a, err = ingest.WooCommerceOrder(rc.o.Config, rc.s.site, f.Order)
	}
	if errors.Is(err, ingest.ErrUnpaid) {
		if !isStored {
			rc.r.Unpaid++
		}
		return nil
	}
	if err != nil {
		return err
	}
	older := !isStored || olderSnapshot(s.Snapshot.At, f.Order.At)
	refunds, err := rc.refunds(ctx, f, s, isStored, older)
	if err != nil {
		return err
	}
	reason := ""
	switch {
	case !isStored:
		reason = FoundMissing
	case older && (rc.differs(s, a) || len(refunds) > 0 && rc.sends("REFUNDS_CREATE")):
		reason = FoundStale
	}
	// Refunds first: the seats they took are then created refunded, and
	// never enrolled only to be unenrolled.
	var found []FoundOrder
	for _, rf := range refunds {
		var ra store.Accepted
		headers := rc.headers()
		if rc.s.platform == enroll.Shopify {
			ra = ingest.ShopifyRefund(rc.s.shop, rf.Refund)
			headers.Set("X-Shopify-Topic", ingest.RefundsCreate)
		} else {
			ra = ingest.WooCommerceRefund(rc.s.site, rf.Refund)
			headers.Set(WooRefundHeader, strconv.FormatInt(f.Order.ID, 10))
		}
		fo := FoundOrder{OrderID: f.Order.ID, RefundID: rf.Refund.ID, Reason: FoundRefund}
		counted, err := rc.save(ctx, ra, rf.Body, &fo, headers)
		if err != nil {
			return err
		}
		if counted {
			rc.r.Run.Refunds++
			found = append(found, fo)
		}
	}
	if reason != "" {
		fo := FoundOrder{OrderID: f.Order.ID, Reason: reason}
		counted, err := rc.save(ctx, a, f.Body, &fo, rc.headers())
		if err != nil {
			return err
		}
		if counted || len(found) > 0 {
			if reason == FoundMissing {
				rc.r.Run.Missing++
			} else {
				rc.r.Run.Stale++
			}
			found = append([]FoundOrder{fo}, found...)
		}
	}
	rc.r.Found = append(rc.r.Found, found...)
	return nil
}

// refunds returns the order's refunds the store lacks that name a line.
// WooCommerce's are read from the site for a refunded order that is not
// stored, older in the store, or without a refund stored.
func (rc *reconciler) refunds(ctx context.Context, f shop.Found, s store.StoredOrder, isStored, older bool) ([]shop.Refund, error) {
	all := f.Refunds
	if rc.s.platform == enroll.WooCommerce {
		if !f.Order.Refunded && !f.Order.PartialRefund || isStored && !older && len(s.Refunds) > 0 {
			return nil, nil
		}
		var err error
		if all, err = rc.s.woo.Refunds(ctx, f.Order.ID); err != nil {
			return nil, err
		}
	}
	var out []shop.Refund
	for _, rf := range all {
		if slices.Contains(s.Refunds, rf.Refund.ID) || !namesLine(rf.Refund) {
			continue
		}
		out = append(out, rf)
	}
	return out, nil
}

// namesLine reports whether a refund takes a seat of some line.
func namesLine(r enroll.Refund) bool {
	for _, l := range r.Lines {
		if l.LineItemID != 0 && l.Quantity > 0 {
			return true
		}
	}
	return false
}

// olderSnapshot reports whether the stored snapshot's time is older than
// the shop's: none stored is older; a shop's without a time cannot be
// told apart and is taken as newer.
func olderSnapshot(stored, shop time.Time) bool {
	return stored.IsZero() || shop.IsZero() || stored.Before(shop)
}

// differs reports whether what the store would be handed says something
// the stored order does not that the shop's webhooks would have told it.
// Shopify's order topics we subscribe to (ShopifyTopics) send the order
// when it is created, paid (when payment is awaited) and cancelled (when
// refunds unenroll); its financial status also moves without any of them
// (a refund, a capture where payment is not awaited), which is no webhook
// lost: payment is compared as awaited or not, below.
func (rc *reconciler) differs(s store.StoredOrder, a store.Accepted) bool {
	o := a.Order
	if rc.s.platform == enroll.Shopify {
		o.ShopStatus, o.Refunded, o.PartialRefund = s.Snapshot.ShopStatus, s.Snapshot.Refunded, s.Snapshot.PartialRefund
		if !rc.sends("ORDERS_CANCELLED") {
			o.Cancelled = s.Snapshot.Cancelled
		}
	}
	if o.ShopStatus != s.Snapshot.ShopStatus || o.Cancelled != s.Snapshot.Cancelled || o.Refunded != s.Snapshot.Refunded ||
		o.PartialRefund != s.Snapshot.PartialRefund {
		return true
	}
	if a.AwaitingPayment {
		return false // its items wait for the payment
	}
	if s.AwaitingPayment() {
		return true
	}
	have := map[[2]string]bool{}
	for _, it := range s.Items {
		have[[2]string{it.SKU, it.Email}] = true
	}
	for _, it := range o.Items {
		if !have[[2]string{it.SKU, it.Email}] {
			return true
		}
	}
	return false
}

// sends reports whether the shop's webhooks bring what a Shopify topic
// does: the shop is subscribed to it (ShopifyTopics). A WooCommerce
// site's order.updated brings every change of its orders.
func (rc *reconciler) sends(shopifyTopic string) bool {
	if rc.s.platform != enroll.Shopify {
		return true
	}
	return slices.ContainsFunc(ShopifyTopics(rc.s.shop), func(w Wanted) bool { return w.Topic == shopifyTopic })
}

// headers are the headers stored with a delivery reconciliation
// makes: the topic a replay reads it as, the shop, and who asked.
func (rc *reconciler) headers() http.Header {
	h := http.Header{}
	if rc.s.platform == enroll.Shopify {
		h.Set("X-Shopify-Topic", ingest.OrdersUpdated)
		h.Set("X-Shopify-Shop-Domain", rc.s.name)
	} else {
		h.Set("X-Wc-Webhook-Topic", "order.updated")
		h.Set("X-Wc-Webhook-Source", rc.s.name)
	}
	by := rc.opts.StartedBy
	if actor := strings.TrimSpace(rc.opts.Actor); actor != "" {
		by += " by " + actor
	}
	h.Set("X-Reconciled-By", by)
	return h
}

// save stores a as a delivery from reconciliation with body, unless this
// is a dry run, and reports whether it counts: a webhook of the same state
// stored meanwhile makes it a duplicate or stale, which does not.
func (rc *reconciler) save(ctx context.Context, a store.Accepted, body []byte, fo *FoundOrder, headers http.Header) (bool, error) {
	if rc.opts.DryRun {
		return true, nil
	}
	a.Order.Source = rc.r.Run.Source
	a.Delivery = store.Delivery{ReceivedAt: rc.o.now(), Platform: rc.s.platform, Source: rc.r.Run.Source,
		Path: ReconcilePath, Headers: headers, Body: body, Status: http.StatusOK}
	res, err := rc.o.DB.SaveAccepted(ctx, a, rc.o.Enqueue)
	if err != nil {
		return false, fmt.Errorf("store order %d: %w", a.Order.ID, err)
	}
	fo.DeliveryID, fo.Enqueued = res.DeliveryID, len(res.Enqueued)
	return !res.Stale && !res.Duplicate(), nil
}

// logReconcile logs what a shop's run found.
func logReconcile(logger *slog.Logger, r ReconcileReport) {
	attrs := []any{"platform", r.Platform, "shop", r.Shop, "since", r.Run.Since, "seen", r.Run.Seen,
		"missing", r.Run.Missing, "stale", r.Run.Stale, "refunds", r.Run.Refunds, "dry_run", r.Run.DryRun,
		"started_by", r.Run.StartedBy}
	if len(r.Run.Warnings) > 0 {
		attrs = append(attrs, "warnings", strings.Join(r.Run.Warnings, "; "))
	}
	switch {
	case r.Busy:
		logger.Info(r.Skipped, "platform", r.Platform, "shop", r.Shop)
		return
	case r.Err != nil:
		logger.Error("reconciliation failed", append(attrs, "error", r.Err)...)
	case r.Run.Missing+r.Run.Stale+r.Run.Refunds > 0:
		logger.Warn("reconciliation found orders the webhooks did not bring", attrs...)
	default:
		logger.Info("reconciled", attrs...)
	}
}
