package ops

// The health check of the shops' webhook subscriptions (CheckShops): the
// periodic job's, and what `check` and the console show.
//
// The rules:
//   - Each shop and site with API access is asked for its subscriptions
//     (ShopsStatus), at the receiver's public URL when it is configured.
//     Each subscription the shop needs (ShopifyTopics, WooTopics) is up
//     when one of ours is active at the right address; missing, pointing
//     elsewhere, disabled or paused, it is down. What the check saw is
//     stored (store.RecordShopCheck), which opens an outage for one newly
//     down and closes it when it is up again; a shop whose API fails is
//     recorded with the error, its subscriptions as last seen.
//   - One check of a shop runs at a time, across processes
//     (store.TryLockShop): one that finds another running leaves it out.
//   - Each subscription down is logged at ERROR, once per check.
//   - A shop with repair (config) and something down is repaired: first
//     its orders of the lookback are reconciled (StartedBy repair), so
//     that what the shop did not deliver is stored before deliveries
//     resume; then its subscriptions are made right (SubscribeShops at
//     the public URL), and the check is recorded again with the repaired
//     ones up, closing their outages as repaired. A reconciliation that
//     fails, or finds another of the shop running, puts the repair off to
//     the next check: the alarm goes on rather than orders being skipped.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// CheckOptions tell CheckShops what to check and how.
type CheckOptions struct {
	// Shop, when set, limits the check to the shop domain or site URL it
	// names.
	Shop string
	// HTTPClient calls the shops' APIs; a client with a 30-second timeout
	// when nil.
	HTTPClient *http.Client
	// Logger hears of subscriptions down and of repairs; nil discards.
	Logger *slog.Logger
}

// ShopHealth is what a check found of one shop or site, and what it did.
type ShopHealth struct {
	// Report is the shop's subscriptions as its API listed them
	// (ShopsStatus), or the API's error.
	Report ShopReport
	// Check is what was recorded: each needed subscription, up or down.
	Check store.ShopCheck
	// Repair is the subscription lines of a repair (SubscribeShops), when
	// one was done; Reconciled the reconciliation before it.
	Repair     []SubscriptionLine
	Reconciled []ReconcileReport
	// RepairErr is why a repair was needed and not done (the
	// reconciliation or the API failed), or nil.
	RepairErr error
}

// Down returns the needed subscriptions the check found down.
func (h ShopHealth) Down() []store.ShopWebhook {
	var out []store.ShopWebhook
	for _, w := range h.Check.Webhooks {
		if !w.Up {
			out = append(out, w)
		}
	}
	return out
}

// publicURL is the configured public URL, parsed; nil when none is set.
func (o *Ops) publicURL() (*url.URL, error) {
	if o.Config.PublicURL == "" {
		return nil, nil
	}
	base, err := config.ParseReceiverURL(o.Config.PublicURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Config.Source("public_url"), err)
	}
	return base, nil
}

// CheckShops checks the subscriptions of every shop and site with API
// access (or of opts.Shop), records what it found, and repairs the shops
// with repair, by the rules above. Shops without API access are left out.
// The error is for the check as a whole (an unknown opts.Shop, the
// database); a shop's API failing is in its ShopHealth.
func (o *Ops) CheckShops(ctx context.Context, opts CheckOptions) ([]ShopHealth, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	base, err := o.publicURL()
	if err != nil {
		return nil, err
	}
	shops, err := apiShops(o.Config, opts.Shop, clientOptions{})
	if err != nil {
		return nil, err
	}
	var out []ShopHealth
	for _, s := range shops {
		if s.skipped != "" {
			continue
		}
		// One check of a shop at a time, across processes: two would
		// repair it twice. One that finds another running leaves it out.
		unlock, ok, err := o.DB.TryLockShop(ctx, store.LockCheck, s.platform, s.name)
		if err != nil {
			return out, fmt.Errorf("check %s: %w", s.name, err)
		}
		if !ok {
			logger.InfoContext(ctx, "check of "+s.name+" already running", "platform", s.platform, "shop", s.name)
			continue
		}
		reports, err := ShopsStatus(ctx, o.Config, ShopsOptions{Shop: s.name, Base: base, HTTPClient: opts.HTTPClient})
		for _, r := range reports {
			var h ShopHealth
			if h, err = o.checkShop(ctx, r, base, opts, logger); err != nil {
				break
			}
			out = append(out, h)
		}
		unlock()
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// checkShop records what the check of a shop found, and repairs it.
func (o *Ops) checkShop(ctx context.Context, r ShopReport, base *url.URL, opts CheckOptions, logger *slog.Logger) (ShopHealth, error) {
	h := ShopHealth{Report: r, Check: o.shopCheck(r, base)}
	if err := o.DB.RecordShopCheck(ctx, h.Check); err != nil {
		return h, err
	}
	if r.Err != nil {
		logger.WarnContext(ctx, "shop check failed", "platform", r.Platform, "shop", r.Shop, "error", r.Err)
	}
	for _, w := range h.Down() {
		logger.ErrorContext(ctx, "shop webhook down", "platform", r.Platform, "shop", r.Shop, "topic", w.Topic,
			"state", w.State, "address", w.Address)
	}
	if len(h.Down()) > 0 && o.repairs(r.Platform, r.Shop) {
		if err := o.repair(ctx, &h, base, opts, logger); err != nil {
			return h, err
		}
	}
	return h, nil
}

// shopCheck reads a shop's status report as a check: one line per needed
// subscription (the report lists the shop's others too).
func (o *Ops) shopCheck(r ShopReport, base *url.URL) store.ShopCheck {
	c := store.ShopCheck{Platform: r.Platform, Source: r.Shop, CheckedAt: o.now(), APIVersion: r.APIVersion}
	if r.Err != nil {
		c.Error = r.Err.Error()
		return c
	}
	c.Webhooks = NeededStates(o.Config, r, base)
	return c
}

// repairs reports whether the configured shop or site has repair on.
func (o *Ops) repairs(p enroll.Platform, shop string) bool {
	s, ok := o.Config.FindShop(p, shop)
	return ok && s.Repair
}

// repair reconciles a shop's orders of the lookback, then makes its
// subscriptions right and records the check again. A repair that cannot
// be done is logged and left in h.RepairErr for the next check; the
// error returned is the database's.
func (o *Ops) repair(ctx context.Context, h *ShopHealth, base *url.URL, opts CheckOptions, logger *slog.Logger) error {
	r := h.Report
	fail := func(step string, err error) {
		h.RepairErr = fmt.Errorf("repair %s: %s: %w", r.Shop, step, err)
		logger.ErrorContext(ctx, "shop webhook repair put off", "platform", r.Platform, "shop", r.Shop, "error", h.RepairErr)
	}
	if base == nil {
		fail("no public URL", fmt.Errorf("%s is not set", o.Config.Source("public_url")))
		return nil
	}
	reports, err := o.Reconcile(ctx, ReconcileOptions{Shop: r.Shop, // over the configured lookback
		StartedBy: store.ReconcileRepair, HTTPClient: opts.HTTPClient, Logger: logger})
	h.Reconciled = reports
	if err == nil {
		err = reconcileFailed(reports)
	}
	for _, rr := range reports {
		if err == nil && rr.Busy {
			// It may have read the shop's pages before what it is yet to
			// miss: the next check repairs after a reconciliation of its own.
			err = errors.New(rr.Skipped)
		}
	}
	if err != nil {
		fail("reconcile its orders first", err)
		return nil
	}
	subscribed, err := SubscribeShops(ctx, o.Config, ShopsOptions{Shop: r.Shop, Base: base, HTTPClient: opts.HTTPClient})
	if err == nil && len(subscribed) == 1 && subscribed[0].Err != nil {
		err = subscribed[0].Err
	}
	if err != nil || len(subscribed) != 1 {
		if err == nil {
			err = fmt.Errorf("%d shops answered", len(subscribed))
		}
		fail("subscribe", err)
		return nil
	}
	h.Repair = subscribed[0].Lines
	missing, stale := reconciledCounts(reports)
	done := map[string]SubscriptionLine{}
	for _, l := range h.Repair {
		done[l.Topic] = l
	}
	check := h.Check
	check.CheckedAt = o.now()
	check.Webhooks = nil
	for _, w := range h.Check.Webhooks {
		l, ok := done[w.Topic]
		if w.Up || !ok {
			check.Webhooks = append(check.Webhooks, w)
			continue
		}
		check.Webhooks = append(check.Webhooks, store.ShopWebhook{Topic: w.Topic, Address: l.Address, State: stateActive,
			Up: true, Repaired: true})
		logger.InfoContext(ctx, "shop webhook repaired", "platform", r.Platform, "shop", r.Shop, "topic", w.Topic,
			"was", w.State, "did", l.State, "address", l.Address, "reconciled_missing", missing, "reconciled_stale", stale)
	}
	h.Check = check
	return o.DB.RecordShopCheck(ctx, check)
}

// reconciledCounts adds up the orders reconciliations found missing and
// stale.
func reconciledCounts(reports []ReconcileReport) (missing, stale int) {
	for _, r := range reports {
		missing += r.Run.Missing
		stale += r.Run.Stale
	}
	return missing, stale
}

// reconcileFailed is the error of reconciliation reports, or nil.
func reconcileFailed(reports []ReconcileReport) error {
	var errs []error
	for _, r := range reports {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errors.Join(errs...)
}
