package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// sendTestTimeout bounds the test request.
const sendTestTimeout = 30 * time.Second

// Webhook paths send-test appends to a base URL.
const (
	shopifyPath     = "/webhooks/shopify/order/create"
	woocommercePath = "/webhooks/woocommerce/order/create"
)

func sendTest(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var shopify, woo bool
	var target, shop, site, email, sku string
	fs := newFlagSet(env, "send-test", "Send one correctly signed sample order (one line item) to a running service, signed with\n"+
		"the configured secret of the shop or site, to check a deployment end to end. It prints the\n"+
		"answer and fails unless it is 200. The order is real to the service: its learner is enrolled.\n"+
		"  webhook-receiver send-test --shopify --url https://enroll.example.com --email you@example.com --sku course-v1:Org+X+1")
	fs.StringVar(&flags.file, "config", "", "YAML configuration file (default $WEBHOOK_RECEIVER_CONFIG)")
	fs.StringVar(&flags.databaseURL, "database-url", "", "the service's database URL, if not the configured one: only passed on to the 'orders show' command printed at the end")
	fs.BoolVar(&shopify, "shopify", false, "send a Shopify orders/create webhook")
	fs.BoolVar(&woo, "woocommerce", false, "send a WooCommerce order.created webhook")
	fs.StringVar(&target, "url", "", "the service's base URL (the webhook path is appended), or the full webhook URL (a path ending in /order/create is used as is)")
	fs.StringVar(&shop, "shop", "", "configured Shopify shop domain to sign as (default: the first)")
	fs.StringVar(&site, "site", "", "configured WooCommerce site URL to sign as (default: the first)")
	fs.StringVar(&email, "email", "learner@example.com", "learner email")
	fs.StringVar(&sku, "sku", "course-v1:edX+DemoX+Demo_Course", "SKU of the line item (a course id, or a SKU the LMS redirects)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if shopify == woo {
		return usageError(fs, "choose one of --shopify and --woocommerce")
	}
	if target == "" {
		return usageError(fs, "--url is required: the service's base URL, e.g. https://enroll.example.com")
	}
	cfg, _, err := flags.load(env)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	orderID := now.UnixMilli() // unique enough to never be a duplicate
	var body []byte
	headers := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"webhook-receiver send-test"}}
	path := shopifyPath
	if shopify {
		s, err := chooseShop(cfg, shop)
		if err != nil {
			return err
		}
		body = sampleShopifyOrder(orderID, now, email, sku)
		headers.Set("X-Shopify-Topic", "orders/create")
		headers.Set("X-Shopify-Shop-Domain", s.Domain)
		headers.Set("X-Shopify-Api-Version", "2024-10")
		headers.Set("X-Shopify-Webhook-Id", fmt.Sprintf("send-test-%d", orderID))
		headers.Set("X-Shopify-Hmac-Sha256", webhook.Sign([]byte(s.Secrets[0].Value()), body))
	} else {
		s, err := chooseSite(cfg, site)
		if err != nil {
			return err
		}
		body = sampleWooCommerceOrder(orderID, now, email, sku)
		path = woocommercePath
		source := s.Source
		if !strings.HasSuffix(source, "/") {
			source += "/" // as WooCommerce sends it
		}
		headers.Set("X-WC-Webhook-Source", source)
		headers.Set("X-WC-Webhook-Topic", "order.created")
		headers.Set("X-WC-Webhook-Resource", "order")
		headers.Set("X-WC-Webhook-Event", "created")
		headers.Set("X-WC-Webhook-ID", "1")
		headers.Set("X-WC-Webhook-Delivery-ID", strconv.FormatInt(orderID, 10))
		headers.Set("X-WC-Webhook-Signature", webhook.Sign([]byte(s.Secrets[0].Value()), body))
	}
	u, err := webhookURL(target, path)
	if err != nil {
		return usageError(fs, "--url %q: %v", target, err)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("--url %q: %w", target, err)
	}
	req.Header = headers
	fmt.Fprintf(env.stdout, "POST %s\norder %d: learner %s, SKU %s\n", u, orderID, email, sku)
	// A redirect is reported, not followed: following would turn the POST
	// into a GET, and the answer would be the redirect target's.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send the test order: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(env.stdout, "HTTP %s\n%s\n", resp.Status, strings.TrimSpace(string(answer)))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the service answered %s, not 200", resp.Status)
	}
	show, redacted := showCommand(orderID, flags)
	fmt.Fprintf(env.stdout, "stored: see it with: %s\n", show)
	if redacted {
		fmt.Fprintln(env.stdout, "(the password in --database-url is shown as xxxxx)")
	}
	return nil
}

// showCommand is the command line that shows the order, with the flags
// that name the configuration and the database send-test was given:
// without them, it would look in another database (or none). A password
// in a PostgreSQL URL is not printed; redacted tells whether one was cut.
func showCommand(orderID int64, flags configFlags) (cmd string, redacted bool) {
	args := []string{"webhook-receiver", "orders", "show", strconv.FormatInt(orderID, 10)}
	if flags.file != "" {
		args = append(args, "--config", flags.file)
	}
	if db := flags.databaseURL; db != "" {
		if hasPassword(db) {
			db, redacted = config.RedactURL(db), true
		}
		args = append(args, "--database-url", db)
	}
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " "), redacted
}

// hasPassword tells whether a PostgreSQL URL holds a password.
func hasPassword(databaseURL string) bool {
	if d, _ := store.DialectOf(databaseURL); d != store.Postgres {
		return false
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return true // unreadable: RedactURL hides it all
	}
	_, set := u.User.Password()
	return set || strings.Contains(strings.ToLower(u.RawQuery), "password")
}

// shellQuote quotes s for a POSIX shell, unless it needs no quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// webhookURL appends the webhook path to a base URL; a URL that names a
// webhook already (its path ends in /order/create) is kept.
func webhookURL(target, path string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("want an http:// or https:// URL")
	}
	if p := strings.TrimRight(u.Path, "/"); !strings.HasSuffix(p, "/order/create") {
		u.Path = p + path
	}
	return u.String(), nil
}

func chooseShop(cfg config.Config, domain string) (config.Shop, error) {
	if domain != "" {
		s, ok := cfg.Shop(domain)
		if !ok {
			return s, fmt.Errorf("--shop %q is not a configured Shopify shop (WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN or shopify: in the YAML file)", domain)
		}
		return s, nil
	}
	if len(cfg.Shopify) == 0 {
		return config.Shop{}, fmt.Errorf("no Shopify shop is configured: set WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN and WEBHOOK_RECEIVER_SHOPIFY_SECRET")
	}
	return cfg.Shopify[0], nil
}

func chooseSite(cfg config.Config, source string) (config.Site, error) {
	if source != "" {
		s, ok := cfg.Site(source)
		if !ok {
			return s, fmt.Errorf("--site %q is not a configured WooCommerce site (WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE or woocommerce: in the YAML file)", source)
		}
		return s, nil
	}
	if len(cfg.WooCommerce) == 0 {
		return config.Site{}, fmt.Errorf("no WooCommerce site is configured: set WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE and WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET")
	}
	return cfg.WooCommerce[0], nil
}

// sampleShopifyOrder is an orders/create body with one line item whose
// "email" property names the learner, as a product page form sends it.
func sampleShopifyOrder(id int64, now time.Time, email, sku string) []byte {
	created := now.Format(time.RFC3339)
	lineItemID := id + 1
	return mustJSON(map[string]any{
		"id":                   id,
		"admin_graphql_api_id": fmt.Sprintf("gid://shopify/Order/%d", id),
		"name":                 fmt.Sprintf("#T%d", id%100000),
		"order_number":         id % 100000,
		"email":                "buyer@example.com",
		"contact_email":        "buyer@example.com",
		"created_at":           created,
		"processed_at":         created,
		"currency":             "USD",
		"financial_status":     "paid",
		"fulfillment_status":   nil,
		"total_price":          "0.00",
		"subtotal_price":       "0.00",
		"total_tax":            "0.00",
		"test":                 true,
		"tags":                 "webhook-receiver send-test",
		"customer": map[string]any{
			"id": 1, "email": "buyer@example.com", "first_name": "Test", "last_name": "Buyer", "verified_email": true,
		},
		"line_items": []any{map[string]any{
			"id":                   lineItemID,
			"admin_graphql_api_id": fmt.Sprintf("gid://shopify/LineItem/%d", lineItemID),
			"name":                 "webhook-receiver test course",
			"title":                "webhook-receiver test course",
			"price":                "0.00",
			"quantity":             1,
			"sku":                  sku,
			"product_id":           1,
			"variant_id":           1,
			"requires_shipping":    false,
			"gift_card":            false,
			"properties":           []any{map[string]any{"name": "email", "value": email}},
		}},
	})
}

// sampleWooCommerceOrder is a paid order.created body with one line item
// whose email field comes from the "Product Input Fields for WooCommerce"
// plugin, as it sends it.
func sampleWooCommerceOrder(id int64, now time.Time, email, sku string) []byte {
	local := now.Format("2006-01-02T15:04:05")
	return mustJSON(map[string]any{
		"id":                id,
		"parent_id":         0,
		"number":            strconv.FormatInt(id, 10),
		"status":            "processing",
		"currency":          "USD",
		"total":             "0.00",
		"customer_id":       0,
		"payment_method":    "test",
		"created_via":       "checkout",
		"date_created":      local,
		"date_created_gmt":  local,
		"date_paid":         local,
		"date_paid_gmt":     local,
		"date_modified_gmt": local,
		"customer_note":     "webhook-receiver send-test",
		"billing":           map[string]any{"first_name": "Test", "last_name": "Buyer", "email": "buyer@example.com", "country": "US"},
		"meta_data":         []any{},
		"needs_payment":     false,
		"needs_processing":  true,
		"line_items": []any{map[string]any{
			"id":           id + 1,
			"name":         "webhook-receiver test course",
			"product_id":   1,
			"variation_id": 0,
			"quantity":     1,
			"subtotal":     "0.00",
			"total":        "0.00",
			"sku":          sku,
			"price":        0,
			"meta_data": []any{map[string]any{
				"id":  1,
				"key": "_alg_wc_pif_global",
				"value": []any{map[string]any{
					"title": "Email", "type": "email", "_field_nr": 1, "_value": email, "required": "yes",
				}},
				"display_key":   "",
				"display_value": "",
			}},
		}},
	})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of plain values always encode
	}
	return b
}
