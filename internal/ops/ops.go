// Package ops holds the operator's actions on orders and deliveries,
// shared by the web console (internal/admin) and the command line
// (internal/cli), so that both do exactly the same thing, refuse the same
// things and record it the same way. A new action starts here.
//
// The actions and where their rules live:
//
//   - Retry: items in a status enroll.ItemStatus.Retryable allows
//     (enroll.RetryableStatuses) get a fresh attempt budget now; others are
//     skipped. RetryOrder retries an order's failed items (FailedItems).
//   - RetryFailed: the failed items of the orders a filter selects, at most
//     MaxRetryFailed; refused unless the filter narrows the orders
//     (HasFilter): never every failed item at once.
//   - Resolve: an item in a status enroll.ItemStatus.Resolvable allows
//     (enroll.ResolvableStatuses) is marked resolved, with a note; others,
//     and items a job is enrolling right now, are refused
//     (enroll.ErrConflict).
//   - Replay: a stored, authenticated delivery is processed again with
//     today's configuration (ErrNoBody otherwise).
//   - Reconcile: the orders a shop's API shows that the store lacks are
//     stored through the webhooks' ingest path (reconcile.go); SubscribeShops
//     and ShopsStatus: the shops' webhook subscriptions (shops.go).
//   - ImportDjango: the Django app's orders and items are copied here, each
//     item in the status DjangoItemStatus gives it (importdjango.go).
//   - Export, Redact, AnswerDataRequest and Purge: personal data and the
//     retention of raw bodies (privacy.go).
//
// Which order an operator names: OrdersOfShop, by the shop-name rule of
// enroll.SameSource. The store carries the actions out (store.RetryItems,
// store.ResolveItem, building its WHERE clauses from the enroll lists) and
// decides nothing; the console's buttons and the command line's help text
// come from the same enroll lists.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ingest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/woo"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// MaxRetryFailed caps the items one "retry all failed" takes: a bigger
// backlog is retried by running it again.
const MaxRetryFailed = 10000

// ErrNoBody is returned for a delivery that cannot be replayed because its
// body was not stored (rejected, unauthenticated deliveries).
var ErrNoBody = errors.New("no stored body")

// Refusal is an action the operator asked for that cannot be done as
// asked; its message says why and is meant to be shown to them.
type Refusal struct{ err error }

func (r *Refusal) Error() string { return r.err.Error() }
func (r *Refusal) Unwrap() error { return r.err }

func refuse(format string, args ...any) error { return &Refusal{fmt.Errorf(format, args...)} }

// Ops performs operator actions. Enqueue inserts enrollment jobs (a
// jobs.Queue's Enqueue, insert-only is enough); Config tells how shops and
// sites are to be handled on replay.
type Ops struct {
	DB      *store.DB
	Enqueue store.EnqueueFunc
	Config  config.Config
	// Now tells the time; nil is time.Now.
	Now func() time.Time
	// ReconcileLater queues a reconciliation of a shop or site (its
	// configured name) on behalf of actor; nil where this process runs no
	// reconciliations.
	ReconcileLater func(ctx context.Context, source, actor string) error
}

func (o *Ops) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// Retry gives items in a retryable status (enroll.ItemStatus.Retryable)
// a new chance now, with a fresh attempt budget, and returns those it
// retried; other items are left alone.
func (o *Ops) Retry(ctx context.Context, actor string, itemIDs ...int64) ([]int64, error) {
	return o.DB.RetryItems(ctx, itemIDs, actor, "", o.Enqueue)
}

// RetryOrder retries the failed items of an order (FailedItems).
func (o *Ops) RetryOrder(ctx context.Context, actor string, order store.OrderRecord) ([]int64, error) {
	ids := FailedItems(order)
	if len(ids) == 0 {
		return nil, nil
	}
	return o.Retry(ctx, actor, ids...)
}

// FailedItems returns the ids of an order's failed items: those "Retry all
// failed" on an order retries.
func FailedItems(order store.OrderRecord) []int64 {
	var ids []int64
	for _, it := range order.Items {
		if it.Status == enroll.ItemFailed {
			ids = append(ids, it.ID)
		}
	}
	return ids
}

// HasFilter reports whether f narrows the orders by what they are (an
// order id, a learner, a course, a platform, a shop or dates); a status
// alone does not: every failed item is in an ERROR or PROCESSING order.
// RetryFailed requires it, so that no slip retries every failed item
// there is.
func HasFilter(f store.OrderFilter) bool {
	return strings.TrimSpace(f.Query) != "" || strings.TrimSpace(f.Email) != "" || strings.TrimSpace(f.Course) != "" ||
		f.Platform != "" || strings.TrimSpace(f.Source) != "" || !f.Since.IsZero() || !f.Until.IsZero()
}

// ErrNoFilter refuses a RetryFailed without a filter (see HasFilter).
var ErrNoFilter = errors.New("retrying all failed items needs a filter: an order id, a learner email, a course, a platform, a shop or dates")

// RetryFailed retries the failed items of the orders f selects (at most
// MaxRetryFailed of them); f must narrow the orders (HasFilter).
func (o *Ops) RetryFailed(ctx context.Context, actor string, f store.OrderFilter) ([]int64, error) {
	if !HasFilter(f) {
		return nil, &Refusal{ErrNoFilter}
	}
	ids, err := o.DB.FailedItemIDs(ctx, f, MaxRetryFailed)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return o.DB.RetryItems(ctx, ids, actor, "retry of all failed items matching a filter", o.Enqueue)
}

// Resolve marks an item resolved by hand; the note says why. Only items
// in a resolvable status (enroll.ItemStatus.Resolvable) that no job is
// enrolling right now can be: others are refused with enroll.ErrConflict.
func (o *Ops) Resolve(ctx context.Context, actor string, itemID int64, note string) error {
	return o.DB.ResolveItem(ctx, itemID, actor, note)
}

// Replay runs a stored delivery through the processing of a webhook again,
// as if the shop had sent it anew: it is read as its topic's endpoint
// reads it (a snapshot of the order, or a refund) and applied as the store
// applies deliveries: new items are stored and enqueued, failed ones get
// another chance, a snapshot older than the one applied changes nothing.
// The shop or site must still be configured; its payment and refund
// settings are today's. The replay is stored as a delivery of its own,
// naming the original and the actor.
func (o *Ops) Replay(ctx context.Context, actor string, deliveryID int64) (store.SaveResult, error) {
	d, err := o.DB.Delivery(ctx, deliveryID)
	if err != nil {
		return store.SaveResult{}, err
	}
	if !d.HasBody {
		return store.SaveResult{}, refuse("delivery %d has %w: only authenticated deliveries can be replayed", deliveryID, ErrNoBody)
	}
	var headers http.Header
	if err := json.Unmarshal([]byte(d.Headers), &headers); err != nil {
		headers = nil // the stored headers are informational only
	}
	var a store.Accepted
	switch d.Platform {
	case enroll.Shopify:
		shop, ok := o.Config.Shop(d.Source)
		if !ok {
			return store.SaveResult{}, refuse("replay delivery %d: Shopify shop %q is not configured any more", deliveryID, d.Source)
		}
		if a, err = replayShopify(o.Config, shop, headers.Get("X-Shopify-Topic"), d.Body); err != nil {
			return store.SaveResult{}, refuse("replay delivery %d: %w", deliveryID, err)
		}
	case enroll.WooCommerce:
		site, ok := o.Config.Site(d.Source)
		if !ok {
			return store.SaveResult{}, refuse("replay delivery %d: WooCommerce site %q is not configured any more", deliveryID, d.Source)
		}
		if a, err = replayWooCommerce(o.Config, site, headers, d); err != nil {
			return store.SaveResult{}, refuse("replay delivery %d: %w", deliveryID, err)
		}
	default:
		return store.SaveResult{}, refuse("replay delivery %d: unknown platform %q", deliveryID, d.Platform)
	}
	// A replay is processed anew: it is no copy of the delivery replayed.
	a.Keys = nil
	a.Order.Source = d.Source
	actor = strings.TrimSpace(actor)
	a.Delivery = store.Delivery{ReceivedAt: o.now(), Platform: d.Platform, Source: d.Source, Path: d.Path,
		Headers: headers, Body: d.Body, Status: http.StatusOK,
		Reason: fmt.Sprintf("replay of delivery %d by %s", deliveryID, actor)}
	res, err := o.DB.SaveAccepted(ctx, a, o.Enqueue)
	if err != nil {
		return res, fmt.Errorf("replay delivery %d: %w", deliveryID, err)
	}
	// The replayed delivery names the actor already; the action puts the
	// replay on the order's page.
	err = o.DB.RecordAction(ctx, store.ActionRecord{Actor: actor, Action: store.ActionReplay, OrderID: res.OrderID,
		DeliveryID: deliveryID, Note: fmt.Sprintf("replayed as delivery %d: %d item(s) enqueued", res.DeliveryID, len(res.Enqueued))})
	if err != nil {
		return res, fmt.Errorf("replay delivery %d: stored as delivery %d, but: %w", deliveryID, res.DeliveryID, err)
	}
	return res, nil
}

// replayShopify reads a stored Shopify delivery of a topic as the
// webhook endpoint of that topic does (see internal/server): a refund, or
// a snapshot of the order, with the rules of package ingest. A delivery
// stored without its topic is an orders/create, the only topic once
// handled.
func replayShopify(cfg config.Config, shop config.Shop, topic string, body []byte) (store.Accepted, error) {
	if topic == ingest.RefundsCreate {
		refund, err := webhook.ParseShopifyRefund(body)
		if err != nil {
			return store.Accepted{}, err
		}
		return ingest.ShopifyRefund(shop, refund), nil
	}
	if err := ingest.ShopifyOrderTopic(topic); err != nil {
		return store.Accepted{}, err
	}
	order, err := webhook.ParseShopifyOrder(body)
	if err != nil {
		return store.Accepted{}, err
	}
	return ingest.ShopifyOrder(cfg, shop, topic, order)
}

// WooRefundHeader names, in the headers stored with a WooCommerce refund
// that reconciliation read from the site's API, the order refunded: the
// REST refund does not say.
const WooRefundHeader = "X-Reconciled-Refund-Of"

// replayWooCommerce reads a stored WooCommerce delivery: an order, as its
// webhooks send it, or a refund reconciliation read from the site's API.
func replayWooCommerce(cfg config.Config, site config.Site, headers http.Header, d store.DeliveryRecord) (store.Accepted, error) {
	if headers.Get(WooRefundHeader) != "" {
		orderID, err := strconv.ParseInt(headers.Get(WooRefundHeader), 10, 64)
		if err != nil {
			return store.Accepted{}, fmt.Errorf("refund of order %q: not an order id", headers.Get(WooRefundHeader))
		}
		refunds, err := woo.ParseRefunds(orderID, append(append([]byte("["), d.Body...), ']'))
		if err != nil || len(refunds) != 1 {
			return store.Accepted{}, fmt.Errorf("refund of order %d: not a refund", orderID)
		}
		return ingest.WooCommerceRefund(site, refunds[0]), nil
	}
	order, err := webhook.ParseWooCommerceOrder(d.Body)
	if err != nil {
		return store.Accepted{}, err
	}
	a, err := ingest.WooCommerceOrder(cfg, site, order)
	if errors.Is(err, ingest.ErrUnpaid) {
		return store.Accepted{}, fmt.Errorf("order %d is not paid and %s requires payment: it is enrolled when the shop sends it paid", order.ID, d.Source)
	}
	return a, err
}

// OrdersOfShop keeps the orders of the named platform and shop; an empty
// platform or source names any. Shop names compare as enroll.SameSource
// says: the console's order page and the command line's --source find the
// same orders.
func OrdersOfShop(orders []store.OrderRecord, platform enroll.Platform, source string) []store.OrderRecord {
	var out []store.OrderRecord
	for _, o := range orders {
		if (platform == "" || o.Platform == platform) && (strings.TrimSpace(source) == "" || enroll.SameSource(o.Platform, o.Source, source)) {
			out = append(out, o)
		}
	}
	return out
}
