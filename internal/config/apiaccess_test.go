package config

import (
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopify"
)

// TestAPICredentials checks the shops' API settings: from the environment,
// from files (NAME_FILE and key_file), optional, and never shown.
func TestAPICredentials(t *testing.T) {
	const token, key, secret = "shpat_SECRET_TOKEN", "ck_SECRET_KEY", "cs_SECRET_SECRET"
	t.Run("environment", func(t *testing.T) {
		c, _ := mustLoad(t, map[string]string{
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":         "a.myshopify.com",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET":              "s",
			"WEBHOOK_RECEIVER_SHOPIFY_API_TOKEN":           token,
			"WEBHOOK_RECEIVER_SHOPIFY_API_VERSION":         "2025-07",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":          "https://shop.example.com",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET":          "s",
			"WEBHOOK_RECEIVER_WOOCOMMERCE_CONSUMER_KEY":    key,
			"WEBHOOK_RECEIVER_WOOCOMMERCE_CONSUMER_SECRET": secret,
		}, "")
		if c.Shopify[0].APIToken.Value() != token || c.Shopify[0].APIVersion != "2025-07" || !c.Shopify[0].HasAPI() {
			t.Errorf("shop = %+v", c.Shopify[0])
		}
		if c.WooCommerce[0].ConsumerKey.Value() != key || c.WooCommerce[0].ConsumerSecret.Value() != secret || !c.WooCommerce[0].HasAPI() {
			t.Errorf("site = %+v", c.WooCommerce[0])
		}
		for _, s := range []string{token, key, secret} {
			if strings.Contains(c.Redacted(), s) {
				t.Errorf("Redacted() shows a secret:\n%s", c.Redacted())
			}
		}
	})
	t.Run("files", func(t *testing.T) {
		tokenFile := writeFile(t, "token", token+"\n")
		keyFile := writeFile(t, "key", key+"\n")
		secretFile := writeFile(t, "secret", secret+"\n")
		c, _ := mustLoad(t, map[string]string{
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":    "a.myshopify.com",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET":         "s",
			"WEBHOOK_RECEIVER_SHOPIFY_API_TOKEN_FILE": tokenFile,
		}, writeFile(t, "c.yaml", "woocommerce:\n  - source: https://shop.example.com\n    secrets: [s]\n"+
			"    consumer_key_file: "+keyFile+"\n    consumer_secret_file: "+secretFile+"\n"))
		if c.Shopify[0].APIToken.Value() != token {
			t.Errorf("api_token from its file = %q", c.Shopify[0].APIToken.Value())
		}
		if c.WooCommerce[0].ConsumerKey.Value() != key || c.WooCommerce[0].ConsumerSecret.Value() != secret {
			t.Errorf("consumer key and secret from their files: %q %q", c.WooCommerce[0].ConsumerKey.Value(), c.WooCommerce[0].ConsumerSecret.Value())
		}
	})
	t.Run("client credentials", func(t *testing.T) {
		c, _ := mustLoad(t, map[string]string{
			"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":   "a.myshopify.com",
			"WEBHOOK_RECEIVER_SHOPIFY_SECRET":        "s",
			"WEBHOOK_RECEIVER_SHOPIFY_CLIENT_ID":     "app-id",
			"WEBHOOK_RECEIVER_SHOPIFY_CLIENT_SECRET": secret,
		}, "")
		if s := c.Shopify[0]; s.ClientID != "app-id" || s.ClientSecret.Value() != secret || !s.HasAPI() {
			t.Errorf("shop = %+v", s)
		}
		if strings.Contains(c.Redacted(), secret) {
			t.Errorf("Redacted() shows a secret:\n%s", c.Redacted())
		}
	})
	t.Run("repair", func(t *testing.T) {
		c, _ := mustLoad(t, map[string]string{"WEBHOOK_RECEIVER_PUBLIC_URL": "https://webhooks.lms.example.com"},
			writeFile(t, "c.yaml", "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [s]\n    api_token: "+token+
				"\n    repair: true\nwoocommerce:\n  - source: https://shop.example.com\n    secrets: [s]\n"+
				"    consumer_key: "+key+"\n    consumer_secret: "+secret+"\n    repair: true\n"))
		if !c.Shopify[0].Repair || !c.WooCommerce[0].Repair || c.PublicURL != "https://webhooks.lms.example.com" || !c.HasAPI() {
			t.Errorf("repair: %+v %+v %q", c.Shopify[0], c.WooCommerce[0], c.PublicURL)
		}
	})
	t.Run("optional", func(t *testing.T) {
		c, _ := mustLoad(t, nil, writeFile(t, "c.yaml", "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [s]\n"+
			"woocommerce:\n  - source: http://shop.example.com\n    secrets: [s]\n"))
		if c.Shopify[0].HasAPI() || c.WooCommerce[0].HasAPI() || c.Shopify[0].APIVersion != "" {
			t.Errorf("API access without credentials: %+v %+v", c.Shopify[0], c.WooCommerce[0])
		}
	})
	refused := []struct{ name, yaml, want string }{
		{"plain http", "woocommerce:\n  - source: http://shop.example.com\n    secrets: [s]\n    consumer_key: " + key + "\n    consumer_secret: " + secret + "\n",
			`woocommerce[0].consumer_key: refused for site "http://shop.example.com": its source is plain http://`},
		{"key without secret", "woocommerce:\n  - source: https://shop.example.com\n    secrets: [s]\n    consumer_key: " + key + "\n",
			"woocommerce[0].consumer_key: a consumer key needs its consumer secret"},
		{"secret without key", "woocommerce:\n  - source: https://shop.example.com\n    secrets: [s]\n    consumer_secret: " + secret + "\n",
			"woocommerce[0].consumer_secret: a consumer secret needs its consumer key"},
		{"client id without secret", "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [s]\n    client_id: app\n",
			`shopify[0].client_id: a client id needs its client secret (`},
		{"client secret without id", "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [s]\n    client_secret: " + secret + "\n",
			`shopify[0].client_secret: a client secret needs its client id`},
		{"token and client id", "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [s]\n    api_token: " + token +
			"\n    client_id: app\n    client_secret: " + secret + "\n",
			`shopify[0].api_token and --config`},
		{"api version", "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [s]\n    api_token: " + token + "\n    api_version: latest\n",
			`shopify[0].api_version: must be a dated API version such as ` + shopify.DefaultAPIVersion + `, got "latest"`},
		{"repair without public url", "shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [s]\n    api_token: " + token + "\n    repair: true\n",
			`shopify[0].repair: refused for shop "a.myshopify.com": repair needs WEBHOOK_RECEIVER_PUBLIC_URL`},
		{"repair without api access", "public_url: https://webhooks.lms.example.com\nwoocommerce:\n  - source: https://shop.example.com\n    secrets: [s]\n    repair: true\n",
			`woocommerce[0].repair: refused for site "https://shop.example.com": repair needs API access (consumer_key and consumer_secret)`},
		{"plain http public url", "public_url: http://webhooks.lms.example.com\n",
			`public_url: must be the receiver's public address, an absolute https:// URL`},
		{"negative interval", "shop_check_every: -1m\n", `shop_check_every: must be 0 (off) or positive, got "-1m0s"`},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Load(mapenv(nil), Flags{File: writeFile(t, "c.yaml", tt.yaml)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v; want %q", err, tt.want)
			}
			for _, s := range []string{token, key, secret} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		})
	}
}
