package cli_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/cli"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

func TestSendTest(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		e := baseEnv(t, lms, d)
		s := serve(t, e)

		out := mustRun(t, e, "send-test", "--shopify", "--url", s.url, "--email", "shop-test@example.com", "--sku", "course-v1:Org+Send+1")
		if !strings.Contains(out, "HTTP 200") || !strings.Contains(out, s.url+"/webhooks/shopify/order/create") {
			t.Errorf("send-test --shopify:\n%s", out)
		}
		waitEnrolled(t, lms, "course-v1:Org+Send+1", "shop-test@example.com")

		// The full webhook URL works too; the site requires payment: the sample is paid.
		out = mustRun(t, e, "send-test", "--woocommerce", "--url", s.url+"/webhooks/woocommerce/order/create",
			"--site", "https://shop.example.com", "--email", "woo-test@example.com", "--sku", "course-v1:Org+Send+1")
		if !strings.Contains(out, "HTTP 200") {
			t.Errorf("send-test --woocommerce:\n%s", out)
		}
		waitEnrolled(t, lms, "course-v1:Org+Send+1", "woo-test@example.com")
		orders := orderLines(t, mustRun(t, e, "orders", "list", "--json", "--course", "course-v1:Org+Send+1"))
		if len(orders) != 2 || orders[0]["platform"] != "woocommerce" || orders[1]["source"] != "first.myshopify.com" {
			t.Errorf("stored test orders: %v", orders)
		}

		// A secret that differs from the service's: the answer is shown and the command fails.
		wrong := env{}
		for k, v := range e {
			wrong[k] = v
		}
		wrong["WEBHOOK_RECEIVER_SHOPIFY_SECRET"] = "not-the-service-secret"
		out, _, err := runCmd(t, wrong, "", "send-test", "--shopify", "--url", s.url)
		if err == nil || !strings.Contains(out, "403") || !strings.Contains(err.Error(), "403") {
			t.Errorf("send-test with the wrong secret = %v\n%s", err, out)
		}

		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"send-test", "--url", s.url}, ""},
			{[]string{"send-test", "--shopify", "--woocommerce", "--url", s.url}, ""},
			{[]string{"send-test", "--shopify"}, ""},
			{[]string{"send-test", "--shopify", "--url", "ftp://x"}, ""},
			{[]string{"send-test", "--shopify", "--url", s.url, "--shop", "other.myshopify.com"}, "not a configured Shopify shop"},
			{[]string{"send-test", "--woocommerce", "--url", s.url, "--site", "https://other.example.com"}, "not a configured WooCommerce site"},
		} {
			_, _, err := runCmd(t, e, "", tt.args...)
			if err == nil || (tt.want == "" && !errors.Is(err, cli.ErrUsage)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v = %v; want an error with %q", tt.args, err, tt.want)
			}
		}
	})
}
