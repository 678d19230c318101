package cli

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"text/tabwriter"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
)

const shopsUsage = `Usage: webhook-receiver shops <subcommand> [flags]

Manage the shops' webhook subscriptions through their APIs (the rules are in
internal/ops/shops.go). A Shopify shop needs shopify[].api_token (scopes
read_orders and write_webhooks-level access) or a Dev Dashboard app's
client_id and client_secret, a WooCommerce site
woocommerce[].consumer_key and consumer_secret (Read/Write, https:// only);
shops without them are skipped. No database is needed.

Subcommands:
  subscribe [--url https://webhooks.lms.example.com] [--shop X] [--dry-run]
            create what is missing, point a wrong address at ours, re-enable a
            disabled or paused WooCommerce webhook; print one line per
            subscription and what was done. Shopify: ORDERS_CREATE, ORDERS_PAID
            (require_payment), ORDERS_CANCELLED and REFUNDS_CREATE
            (unenroll_on_refund); WooCommerce: order.created and order.updated,
            signed with the site's first secret. Exits non-zero if a shop failed.
  status    [--shop X] [--url https://webhooks.lms.example.com]
            list every subscription of each shop and its state: active, paused,
            disabled, points elsewhere, or missing (one we need and lack)

--url is the receiver's public https:// address, as the shops reach it;
WEBHOOK_RECEIVER_PUBLIC_URL when not given (subscribe needs one of them).
`

func shops(ctx context.Context, env *environment, args []string) error {
	return subcommand(ctx, env, args, "shops", shopsUsage, map[string]command{
		"subscribe": shopsSubscribe,
		"status":    shopsStatus,
	})
}

func shopsSubscribe(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "shops subscribe", "Create or repair the webhook subscriptions of every configured shop and site (or of --shop),\n"+
		"pointed at the receiver's endpoints under --url. Idempotent; --dry-run changes nothing.")
	var flags shopsFlags
	flags.register(fs, "the receiver's public https:// address, as the shops reach it (default $WEBHOOK_RECEIVER_PUBLIC_URL)")
	dryRun := fs.Bool("dry-run", false, "say what would be done, change nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, base, err := flags.load(env)
	if err != nil {
		return err
	}
	if base == nil {
		return usageError(fs, "--url is required (or WEBHOOK_RECEIVER_PUBLIC_URL): the receiver's public https:// address, such as https://webhooks.lms.example.com")
	}
	reports, err := ops.SubscribeShops(ctx, cfg, ops.ShopsOptions{Shop: flags.shop, Base: base, DryRun: *dryRun, HTTPClient: env.httpClient})
	if err != nil {
		return err
	}
	return printShops(env, reports)
}

func shopsStatus(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet(env, "shops status", "List every webhook subscription of every configured shop and site (or of --shop) and its\n"+
		"state. With --url, a subscription of ours at another address points elsewhere; without\n"+
		"it, one at our endpoint's path on any host counts as ours.")
	var flags shopsFlags
	flags.register(fs, "the receiver's public https:// address (default $WEBHOOK_RECEIVER_PUBLIC_URL, optional)")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, base, err := flags.load(env)
	if err != nil {
		return err
	}
	opts := ops.ShopsOptions{Shop: flags.shop, Base: base, HTTPClient: env.httpClient}
	reports, err := ops.ShopsStatus(ctx, cfg, opts)
	if err != nil {
		return err
	}
	return printShops(env, reports)
}

// shopsFlags are the shops subcommands' --config, --shop and --url.
type shopsFlags struct {
	config configFlags
	shop   string
	url    string
}

func (f *shopsFlags) register(fs *flag.FlagSet, urlHelp string) {
	fs.StringVar(&f.config.file, "config", "", "YAML configuration file (default $WEBHOOK_RECEIVER_CONFIG)")
	fs.StringVar(&f.shop, "shop", "", "only this Shopify shop domain or WooCommerce site URL")
	fs.StringVar(&f.url, "url", "", urlHelp)
}

// load reads the configuration and the receiver's public URL (nil when
// neither --url nor WEBHOOK_RECEIVER_PUBLIC_URL is set).
func (f *shopsFlags) load(env *environment) (config.Config, *url.URL, error) {
	cfg, _, err := f.config.load(env)
	if err != nil {
		return cfg, nil, err
	}
	base, err := receiverURL(cfg, f.url)
	return cfg, base, err
}

// receiverURL is the receiver's public base URL: --url, else the
// configured WEBHOOK_RECEIVER_PUBLIC_URL; nil when neither is set.
func receiverURL(cfg config.Config, flagURL string) (*url.URL, error) {
	switch {
	case flagURL != "":
		base, err := ops.ParseReceiverURL(flagURL)
		if err != nil {
			return nil, fmt.Errorf("--url: %w", err)
		}
		return base, nil
	case cfg.PublicURL != "":
		base, err := ops.ParseReceiverURL(cfg.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cfg.Source("public_url"), err)
		}
		return base, nil
	}
	return nil, nil
}

// printShops prints a line per subscription, and one per shop skipped or
// failed; it fails when a shop did.
func printShops(env *environment, reports []ops.ShopReport) error {
	if len(reports) == 0 {
		fmt.Fprintln(env.stdout, "no Shopify shop or WooCommerce site is configured")
		return nil
	}
	w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	for _, r := range reports {
		for _, l := range r.Lines {
			address := l.Address
			if address == "" {
				address = "-"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Shop, l.Topic, address, l.State)
		}
		if r.Skipped != "" {
			fmt.Fprintf(w, "%s\t-\t-\t%s\n", r.Shop, r.Skipped)
		}
		if r.Err != nil {
			fmt.Fprintf(w, "%s\t-\t-\tFAILED: %v\n", r.Shop, r.Err)
		}
	}
	w.Flush()
	if n := ops.Failed(reports); n > 0 {
		return fmt.Errorf("%d shop(s) failed", n)
	}
	return nil
}
