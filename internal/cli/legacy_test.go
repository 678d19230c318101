package cli_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/cli"
)

// TestLegacyFileTypo runs serve, check and migrate on the Django app's
// YAML file with "secert:" for "secret:". Each fails naming the file and
// the Django app's key of the missing secret, after the warning about the
// misspelled key.
func TestLegacyFileTypo(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "webhook-receiver.yml")
	if err := os.WriteFile(path, []byte(`
WEBHOOK_RECEIVER_LMS_BASE_URL: https://lms.example.com
WEBHOOK_RECEIVER_SETTINGS:
  woocommerce:
    source: https://shop.example.com
    secert: wc-Zebra-42
`), 0o600); err != nil {
		t.Fatal(err)
	}
	e := env{"WEBHOOK_RECEIVER_CFG": path, "WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + filepath.Join(dir, "x.db")}
	warning := "WEBHOOK_RECEIVER_CFG " + path + ": ignoring unknown key WEBHOOK_RECEIVER_SETTINGS.woocommerce.secert (did you mean secret?)"
	problem := "WEBHOOK_RECEIVER_CFG " + path + `: WEBHOOK_RECEIVER_SETTINGS.woocommerce.secret: at least one non-empty secret is required for site "https://shop.example.com"`

	t.Run("serve", func(t *testing.T) {
		var logs syncBuffer
		err := cli.Run(context.Background(), []string{"webhook-receiver", "serve"}, e.getenv, io.Discard, &logs)
		if err == nil || !strings.Contains(err.Error(), problem) {
			t.Errorf("serve = %v\nwant an error with %s", err, problem)
		}
		if !strings.Contains(logs.String(), "level=WARN msg=\""+warning+"\"") {
			t.Errorf("serve did not log the warning before failing:\n%s", &logs)
		}
		if strings.Contains(logs.String()+err.Error(), "Zebra-42") {
			t.Errorf("the secret is shown:\n%v\n%s", err, &logs)
		}
	})
	t.Run("check", func(t *testing.T) {
		out, _, err := runCmd(t, e, "", "check")
		warn, fail := strings.Index(out, "warn config       "+warning+"\n"), strings.Index(out, "FAIL config       configuration: "+problem)
		if err == nil || warn < 0 || fail < warn {
			t.Errorf("check = %v; want the warning, then the failure:\n%s", err, out)
		}
	})
	t.Run("migrate", func(t *testing.T) {
		_, errOut, err := runCmd(t, e, "", "migrate")
		if err == nil || !strings.Contains(err.Error(), problem) || !strings.Contains(errOut, "warning: "+warning+"\n") {
			t.Errorf("migrate = %v; want the warning on standard error:\n%s", err, errOut)
		}
	})
}

// TestMisspelledLegacyVariables starts serve with the Django app's
// variables, three of them misspelled: it says at start which legacy names
// it read, which variables it ignored (and what they meant), and that no
// shop and no LMS are configured, before it listens.
func TestMisspelledLegacyVariables(t *testing.T) {
	addr := freeAddr(t)
	environ := []string{
		"PATH=/usr/bin",
		"DJANGO_DATABASE_URL=sqlite:///" + filepath.Join(t.TempDir(), "x.db"),
		"DJANGO_WEBHOOK_RECEIVER_LMS_BASE_UR=https://lms.example.com",
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOPDOMAIN=shop.myshopify.com",
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_APIKEY=shop-Zebra-42",
		"DJANGO_SECRET_KEY=django-Zebra-42",
		"DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL=false",
		"WEBHOOK_RECEIVER_LISTEN=" + addr,
		"WEBHOOK_RECEIVER_LISTEN=127.0.0.1:1", // a second copy: the first counts
	}
	ignored := "environment variables that are not settings, ignored: DJANGO_SECRET_KEY, " +
		"DJANGO_WEBHOOK_RECEIVER_LMS_BASE_UR (did you mean DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL?), " +
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_APIKEY (did you mean DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY?), " +
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOPDOMAIN (did you mean DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN?)"
	wantInOrder := []string{
		`level=INFO msg="read the Django app's setting names" names=DJANGO_DATABASE_URL,DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL` + "\n",
		`level=WARN msg="` + ignored + `"`,
		`level=WARN msg="no Shopify shop or WooCommerce site is configured: every webhook will be rejected with 403"`,
		`level=WARN msg="no LMS is configured (WEBHOOK_RECEIVER_LMS_BASE_URL): enrollments will wait"`,
		`msg=listening command=serve addr=` + addr,
	}

	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- cli.RunEnviron(ctx, []string{"webhook-receiver", "serve"}, environ, nil, io.Discard, &logs)
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "msg=listening"); {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, &logs)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start:\n%s", &logs)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve = %v", err)
	}
	out, at := logs.String(), 0
	for _, want := range wantInOrder {
		i := strings.Index(out[at:], want)
		if i < 0 {
			t.Fatalf("logs lack, after what came before it:\n%s\nin:\n%s", want, out)
		}
		at += i
	}
	if strings.Contains(out, "Zebra-42") {
		t.Errorf("a value is shown:\n%s", out)
	}

	var stdout syncBuffer
	cli.RunEnviron(context.Background(), []string{"webhook-receiver", "check"}, environ, nil, &stdout, io.Discard)
	for _, want := range []string{
		"info config       read the Django app's setting names: DJANGO_DATABASE_URL, DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL\n",
		"warn config       " + ignored + "\n",
		"warn config       no Shopify shop or WooCommerce site is configured",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("check's output lacks %q:\n%s", want, &stdout)
		}
	}
}
