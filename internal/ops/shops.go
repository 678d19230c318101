package ops

// The shops' webhook subscriptions, through their APIs: which ones the
// receiver needs, which exist and in what state, and how to make them
// right (`webhook-receiver shops subscribe` and `shops status`).
//
// The rules:
//   - Shopify: ORDERS_CREATE always; ORDERS_PAID when the shop has
//     require_payment; ORDERS_CANCELLED and REFUNDS_CREATE when it has
//     unenroll_on_refund. WooCommerce: order.created and order.updated,
//     signed with the site's first webhook secret, active.
//   - Each points at the receiver's fixed endpoint for its topic under the
//     receiver's base URL (ShopifyTopics, WooTopics).
//   - A subscription of the topic at exactly that address is ours: left
//     alone when it is right, re-enabled when WooCommerce disabled or
//     paused it. Else one of the topic whose path is our endpoint's, or
//     whose host is the receiver's, is ours at a wrong address: pointed at
//     the right one (and re-enabled). Else ours is missing: created. A
//     subscription of the topic elsewhere (another receiver, another
//     app) is never changed.
//   - A shop or site without API credentials is skipped and said so; one
//     whose API fails is reported, and the others go on.
//   - Each subscription a shop needs is up when one of ours is active at
//     the right address, and down otherwise (NeededStates): what the
//     health check records and `check` prints.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopify"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/woo"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Wanted is a webhook subscription the receiver needs from a shop: a topic
// delivered to the receiver's endpoint for it.
type Wanted struct {
	Topic string // as the shop's API names it: ORDERS_PAID, order.created
	Path  string // the receiver's endpoint, /webhooks/shopify/order/paid
}

// ShopifyTopics are the subscriptions a Shopify shop needs, by its settings.
func ShopifyTopics(s config.Shop) []Wanted {
	out := []Wanted{{"ORDERS_CREATE", "/webhooks/shopify/order/create"}}
	if s.RequirePayment {
		out = append(out, Wanted{"ORDERS_PAID", "/webhooks/shopify/order/paid"})
	}
	if s.UnenrollOnRefund {
		out = append(out, Wanted{"ORDERS_CANCELLED", "/webhooks/shopify/order/cancelled"},
			Wanted{"REFUNDS_CREATE", "/webhooks/shopify/refund/create"})
	}
	return out
}

// WooTopics are the webhooks a WooCommerce site needs.
func WooTopics(config.Site) []Wanted {
	return []Wanted{{"order.created", "/webhooks/woocommerce/order/create"},
		{"order.updated", "/webhooks/woocommerce/order/update"}}
}

// ParseReceiverURL checks the receiver's public base URL, under which the
// shops deliver (config.ParseReceiverURL, which also checks
// WEBHOOK_RECEIVER_PUBLIC_URL): an absolute https:// URL without query or
// fragment. The result has no trailing slash.
func ParseReceiverURL(s string) (*url.URL, error) { return config.ParseReceiverURL(s) }

// address is the endpoint w under the receiver's base URL.
func (w Wanted) address(base *url.URL) string {
	u := *base
	u.Path += w.Path
	return u.String()
}

// ShopsOptions tell SubscribeShops and ShopsStatus what to do and how.
type ShopsOptions struct {
	// Shop, when set, limits them to the shop domain or site URL it names.
	Shop string
	// Base is the receiver's public base URL (ParseReceiverURL). Status
	// takes nil: a subscription is then ours by its path alone.
	Base *url.URL
	// DryRun says what would be done and changes nothing.
	DryRun bool
	// HTTPClient calls the shops' APIs; a client with a 30-second timeout
	// when nil.
	HTTPClient *http.Client
}

// ShopReport is what was found or done for one shop or site.
type ShopReport struct {
	Platform enroll.Platform
	Shop     string // the shop domain or site URL
	// API is the URL of the shop's API (no credentials), and APIVersion
	// its version (Shopify's dated one, WooCommerce's wc/v3); empty when
	// the shop was skipped.
	API, APIVersion string
	// Skipped says why the shop was not called (no credentials), or is "".
	Skipped string
	// Err is why its API could not be read or changed; the lines are
	// what was done before.
	Err   error
	Lines []SubscriptionLine
}

// SubscriptionLine is one subscription and its state, or what was done.
type SubscriptionLine struct {
	Topic   string
	Address string // where it delivers (after the change)
	// State is, for status, active, paused, disabled, missing or points
	// elsewhere; for subscribe, ok, created, fixed address, re-enabled or
	// would create... with DryRun.
	State string
}

// Failed counts the reports with an error.
func Failed(reports []ShopReport) int {
	n := 0
	for _, r := range reports {
		if r.Err != nil {
			n++
		}
	}
	return n
}

// SubscribeShops creates and repairs the subscriptions of every configured
// shop and site (or of opts.Shop), by the rules above.
func SubscribeShops(ctx context.Context, cfg config.Config, opts ShopsOptions) ([]ShopReport, error) {
	if opts.Base == nil {
		return nil, errors.New("subscribe: the receiver's URL is required")
	}
	return eachShop(ctx, cfg, opts, subscribeShopify, subscribeWoo)
}

// ShopsStatus lists every subscription of every configured shop and site
// (or of opts.Shop) with its state, and the subscriptions it needs but
// lacks as missing.
func ShopsStatus(ctx context.Context, cfg config.Config, opts ShopsOptions) ([]ShopReport, error) {
	return eachShop(ctx, cfg, opts, statusShopify, statusWoo)
}

type shopifyAction func(ctx context.Context, c *shopify.Client, s config.Shop, opts ShopsOptions, r *ShopReport) error
type wooAction func(ctx context.Context, c *woo.Client, s config.Site, opts ShopsOptions, r *ShopReport) error

func eachShop(ctx context.Context, cfg config.Config, opts ShopsOptions, onShopify shopifyAction, onWoo wooAction) ([]ShopReport, error) {
	shops, err := apiShops(cfg, opts.Shop, clientOptions{http: opts.HTTPClient})
	if err != nil {
		return nil, err
	}
	reports := make([]ShopReport, 0, len(shops))
	for _, s := range shops {
		r := ShopReport{Platform: s.platform, Shop: s.name, Skipped: s.skipped, Err: s.err}
		switch {
		case s.skipped != "" || s.err != nil:
		case s.shopify != nil:
			r.API, r.APIVersion = s.shopify.Endpoint(), cmp.Or(s.shop.APIVersion, shopify.DefaultAPIVersion)
			r.Err = onShopify(ctx, s.shopify, s.shop, opts, &r)
		default:
			r.API, r.APIVersion = s.woo.Endpoint(), woo.APIVersion
			r.Err = onWoo(ctx, s.woo, s.site, opts, &r)
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// apiShop is a configured shop or site, with a client of its API when it
// has credentials.
type apiShop struct {
	platform enroll.Platform
	name     string // the shop domain or site URL, as configured
	shop     config.Shop
	site     config.Site
	shopify  *shopify.Client
	woo      *woo.Client
	// skipped says why the shop has no client (no credentials), or is "".
	skipped string
	// err is why its client could not be made.
	err error
}

// clientOptions are what the shops' clients are made with beyond the
// configuration.
type clientOptions struct {
	// http calls the APIs; a client with a 30-second timeout when nil.
	http *http.Client
	// now and sleep are the Shopify client's clock and waits (nil: the
	// real ones).
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// apiShops returns every configured shop and site (or the one only names)
// with a client of its API: Shopify shops first, in the order configured.
// A shop named that is not configured is refused.
func apiShops(cfg config.Config, only string, co clientOptions) ([]apiShop, error) {
	var out []apiShop
	for _, s := range cfg.Shopify {
		if only != "" && !enroll.SameSource(enroll.Shopify, s.Domain, only) {
			continue
		}
		a := apiShop{platform: enroll.Shopify, name: s.Domain, shop: s}
		if !s.HasAPI() {
			a.skipped = "no api_token or client_id: skipped"
		} else {
			a.shopify, a.err = shopify.New(shopify.Options{Domain: s.Domain, Token: s.APIToken.Value(),
				ClientID: s.ClientID, ClientSecret: s.ClientSecret.Value(),
				APIVersion: s.APIVersion, HTTPClient: co.http, Now: co.now, Sleep: co.sleep})
		}
		out = append(out, a)
	}
	for _, s := range cfg.WooCommerce {
		if only != "" && !enroll.SameSource(enroll.WooCommerce, s.Source, only) {
			continue
		}
		a := apiShop{platform: enroll.WooCommerce, name: s.Source, site: s}
		if !s.HasAPI() {
			a.skipped = "no consumer_key: skipped"
		} else {
			a.woo, a.err = woo.New(woo.Options{BaseURL: s.Source, ConsumerKey: s.ConsumerKey.Value(),
				ConsumerSecret: s.ConsumerSecret.Value(), HTTPClient: co.http})
		}
		out = append(out, a)
	}
	if only != "" && len(out) == 0 {
		return nil, refuse("no Shopify shop or WooCommerce site %q is configured", only)
	}
	return out, nil
}

// ours picks, among the addresses of a topic's subscriptions, the one at
// exactly want, else one at our endpoint's path or on the receiver's
// host; -1 when none is ours. exact says whether it is at want.
func ours(addresses []string, w Wanted, base *url.URL) (i int, exact bool) {
	for i, a := range addresses {
		if base != nil && a == w.address(base) {
			return i, true
		}
	}
	for i, a := range addresses {
		u, err := url.Parse(a)
		if err != nil {
			continue
		}
		if base == nil && strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), w.Path) {
			return i, true // status without --url: our endpoint anywhere is ours
		}
		if base != nil && (strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), w.Path) || strings.EqualFold(u.Host, base.Host)) {
			return i, false
		}
	}
	return -1, false
}

// onTopic returns a shop's subscriptions of a topic and their addresses;
// topicURL reads both from a subscription of either API.
func onTopic[S any](subs []S, topic string, topicURL func(S) (string, string)) (same []S, addresses []string) {
	for _, sub := range subs {
		if t, u := topicURL(sub); t == topic {
			same = append(same, sub)
			addresses = append(addresses, u)
		}
	}
	return same, addresses
}

func subscribeShopify(ctx context.Context, c *shopify.Client, s config.Shop, opts ShopsOptions, r *ShopReport) error {
	subs, err := c.Subscriptions(ctx)
	if err != nil {
		return err
	}
	for _, w := range ShopifyTopics(s) {
		want := w.address(opts.Base)
		same, addresses := onTopic(subs, w.Topic, func(s shopify.Subscription) (string, string) { return s.Topic, s.URL })
		line := SubscriptionLine{Topic: w.Topic, Address: want}
		switch i, exact := ours(addresses, w, opts.Base); {
		case exact:
			line.State = "ok"
		case i >= 0 && opts.DryRun:
			line.State = "would fix address (now " + same[i].URL + ")"
		case i >= 0:
			if _, err := c.UpdateSubscription(ctx, same[i].ID, want); err != nil {
				return err
			}
			line.State = "fixed address (was " + same[i].URL + ")"
		case opts.DryRun:
			line.State = "would create"
		default:
			if _, err := c.CreateSubscription(ctx, w.Topic, want); err != nil {
				return err
			}
			line.State = "created"
		}
		r.Lines = append(r.Lines, line)
	}
	return nil
}

func subscribeWoo(ctx context.Context, c *woo.Client, s config.Site, opts ShopsOptions, r *ShopReport) error {
	hooks, err := c.Webhooks(ctx)
	if err != nil {
		return err
	}
	for _, w := range WooTopics(s) {
		want := w.address(opts.Base)
		same, addresses := onTopic(hooks, w.Topic, func(h woo.Webhook) (string, string) { return h.Topic, h.DeliveryURL })
		line := SubscriptionLine{Topic: w.Topic, Address: want}
		i, exact := activeFirst(same, addresses, w, opts.Base)
		switch {
		case i < 0 && opts.DryRun:
			line.State = "would create"
		case i < 0:
			if len(s.Secrets) == 0 || s.Secrets[0] == "" {
				return fmt.Errorf("create webhook %s: the site has no webhook secret to sign it with", w.Topic)
			}
			if _, err := c.CreateWebhook(ctx, w.Topic, want, s.Secrets[0].Value()); err != nil {
				return err
			}
			line.State = "created"
		default:
			h := same[i]
			var did, would []string
			status, address := "", ""
			if !exact {
				address = want
				did = append(did, "fixed address (was "+h.DeliveryURL+")")
				would = append(would, "would fix address (now "+h.DeliveryURL+")")
			}
			if h.Status != woo.StatusActive {
				status = woo.StatusActive
				did = append(did, "re-enabled (was "+h.Status+")")
				would = append(would, "would re-enable (now "+h.Status+")")
			}
			switch {
			case len(did) == 0:
				line.State = "ok"
			case opts.DryRun:
				line.State = strings.Join(would, ", ")
			default:
				if _, err := c.UpdateWebhook(ctx, h.ID, status, address); err != nil {
					return err
				}
				line.State = strings.Join(did, ", ")
			}
		}
		r.Lines = append(r.Lines, line)
	}
	return nil
}

// activeFirst is ours for webhooks, preferring an active one among
// several at the right address.
func activeFirst(hooks []woo.Webhook, addresses []string, w Wanted, base *url.URL) (int, bool) {
	i, exact := ours(addresses, w, base)
	if i < 0 || hooks[i].Status == woo.StatusActive {
		return i, exact
	}
	for j, h := range hooks {
		if addresses[j] == addresses[i] && h.Status == woo.StatusActive {
			return j, exact
		}
	}
	return i, exact
}

func statusShopify(ctx context.Context, c *shopify.Client, s config.Shop, opts ShopsOptions, r *ShopReport) error {
	subs, err := c.Subscriptions(ctx)
	if err != nil {
		return err
	}
	lines := make([]SubscriptionLine, len(subs))
	for i, sub := range subs {
		lines[i] = SubscriptionLine{Topic: sub.Topic, Address: sub.URL, State: "active"}
	}
	r.Lines = states(lines, ShopifyTopics(s), opts.Base)
	return nil
}

func statusWoo(ctx context.Context, c *woo.Client, s config.Site, opts ShopsOptions, r *ShopReport) error {
	hooks, err := c.Webhooks(ctx)
	if err != nil {
		return err
	}
	lines := make([]SubscriptionLine, len(hooks))
	for i, h := range hooks {
		lines[i] = SubscriptionLine{Topic: h.Topic, Address: h.DeliveryURL, State: h.Status}
	}
	r.Lines = states(lines, WooTopics(s), opts.Base)
	return nil
}

// states marks, among a shop's subscriptions in their own state, those of
// a wanted topic that are not ours as pointing elsewhere, and adds a
// missing line for each wanted topic without one of ours.
func states(lines []SubscriptionLine, wanted []Wanted, base *url.URL) []SubscriptionLine {
	for _, w := range wanted {
		var idx []int
		var addresses []string
		for i, l := range lines {
			if l.Topic == w.Topic {
				idx = append(idx, i)
				addresses = append(addresses, l.Address)
			}
		}
		i, exact := ours(addresses, w, base)
		for k, j := range idx {
			if !exact || addresses[k] != addresses[i] {
				lines[j].State = "points elsewhere"
			}
		}
		if i < 0 || !exact {
			missing := SubscriptionLine{Topic: w.Topic, State: "missing"}
			if base != nil {
				missing.Address = w.address(base)
			}
			lines = append(lines, missing)
		}
	}
	return lines
}

// stateActive is the state a needed subscription is up in; in any other
// (disabled, paused, missing, points elsewhere) it is down.
const stateActive = "active"

// NeededStates reads a shop's status report (ShopsStatus, with base) as
// the state of each subscription the shop needs, up or down, in the order
// ShopifyTopics or WooTopics give them.
func NeededStates(cfg config.Config, r ShopReport, base *url.URL) []store.ShopWebhook {
	var out []store.ShopWebhook
	for _, w := range wanted(cfg, r.Platform, r.Shop) {
		out = append(out, needed(r.Lines, w, base))
	}
	return out
}

// needed is the state of one needed subscription among a shop's status
// lines: ours (an active one first), else one of its topic pointing
// elsewhere, else missing.
func needed(lines []SubscriptionLine, w Wanted, base *url.URL) store.ShopWebhook {
	var ours, elsewhere, missing *SubscriptionLine
	for i := range lines {
		l := &lines[i]
		if l.Topic != w.Topic {
			continue
		}
		switch l.State {
		case "missing":
			missing = l
		case "points elsewhere":
			if elsewhere == nil {
				elsewhere = l
			}
		default:
			if ours == nil || (ours.State != stateActive && l.State == stateActive) {
				ours = l
			}
		}
	}
	switch {
	case ours != nil:
		return store.ShopWebhook{Topic: w.Topic, Address: ours.Address, State: ours.State, Up: ours.State == stateActive}
	case elsewhere != nil:
		return store.ShopWebhook{Topic: w.Topic, Address: elsewhere.Address, State: elsewhere.State}
	}
	h := store.ShopWebhook{Topic: w.Topic, State: "missing"}
	if missing != nil {
		h.Address = missing.Address
	} else if base != nil {
		h.Address = w.address(base)
	}
	return h
}

// wanted returns the subscriptions the configured shop or site needs.
func wanted(cfg config.Config, p enroll.Platform, shop string) []Wanted {
	switch p {
	case enroll.Shopify:
		if s, ok := cfg.Shop(shop); ok {
			return ShopifyTopics(s)
		}
	case enroll.WooCommerce:
		if s, ok := cfg.Site(shop); ok {
			return WooTopics(s)
		}
	}
	return nil
}
