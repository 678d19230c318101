package shopify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopify"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/shop/shopifytest"
)

// TestClientCredentials checks an app of the Dev Dashboard: the client asks
// for a token by the client-credentials grant, keeps it, and asks again
// before it expires.
func TestClientCredentials(t *testing.T) {
	shop := shopifytest.New(t)
	shop.SetToken("") // only granted tokens are accepted
	shop.SetClientCredentials("client-id", "SECRET-client-secret", 24*time.Hour)
	c, _ := newClient(t, shop, func(o *shopify.Options) {
		o.Token, o.ClientID, o.ClientSecret = "", "client-id", "SECRET-client-secret"
	})
	list := func() {
		t.Helper()
		if _, err := c.Subscriptions(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	list()
	list()
	if n := shop.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens asked for; want 1, kept", n)
	}
	shop.Advance(22 * time.Hour) // less than a tenth of its life left
	list()
	if n := shop.TokensIssued(); n != 2 {
		t.Fatalf("%d tokens asked for; want a new one before the first expires", n)
	}
	shop.Advance(time.Hour)
	list()
	if n := shop.TokensIssued(); n != 2 {
		t.Fatalf("%d tokens asked for; want the second kept", n)
	}

	// The shop forgets the tokens it gave (the app's secret rotated, say):
	// a refused token is asked for again.
	shop.SetClientCredentials("client-id", "SECRET-client-secret", 24*time.Hour)
	list()
	if n := shop.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens issued since; want one, after the 401", n)
	}

	t.Run("refused", func(t *testing.T) {
		c, _ := newClient(t, shop, func(o *shopify.Options) {
			o.Token, o.ClientID, o.ClientSecret = "", "client-id", "SECRET-wrong"
		})
		_, err := c.Subscriptions(t.Context())
		if !errors.Is(err, shopify.ErrClientCredentials) {
			t.Fatalf("error = %v; want ErrClientCredentials", err)
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("the error shows the secret: %v", err)
		}
		if n := shop.TokensIssued(); n != 1 {
			t.Errorf("%d tokens issued", n)
		}
	})
}
