package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/cli"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// syncBuffer collects a command's output while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type env map[string]string

func (e env) getenv(k string) string { return e[k] }

// baseEnv configures one Shopify shop, one WooCommerce site and the fake LMS,
// on a fresh database, with fast retries.
func baseEnv(t *testing.T, lms *edxtest.LMS, d store.Dialect) env {
	return env{
		"WEBHOOK_RECEIVER_DATABASE_URL":                storetest.URL(t, d),
		"WEBHOOK_RECEIVER_LMS_BASE_URL":                lms.URL,
		"WEBHOOK_RECEIVER_OAUTH2_KEY":                  lms.ClientID,
		"WEBHOOK_RECEIVER_OAUTH2_SECRET":               lms.ClientSecret,
		"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":         "first.myshopify.com",
		"WEBHOOK_RECEIVER_SHOPIFY_SECRET":              "shopify-webhook-secret",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":          "https://shop.example.com/",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET":          "woo,commerce secret",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT": "true",
		"WEBHOOK_RECEIVER_RETRY_DELAY":                 "50ms",
		"WEBHOOK_RECEIVER_LMS_RATE_LIMIT":              "0",
		"WEBHOOK_RECEIVER_LOG_FORMAT":                  "json",
	}
}

// service is a running `webhook-receiver serve`.
type service struct {
	url    string
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve starts the service in this process and waits until it is ready.
func serve(t *testing.T, e env) *service {
	t.Helper()
	addr := freeAddr(t)
	e["WEBHOOK_RECEIVER_LISTEN"] = addr
	return start(t, e, addr, "serve")
}

// start runs a command that listens on addr, and waits until it is ready.
func start(t *testing.T, e env, addr string, args ...string) *service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{url: "http://" + addr, logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	args = append([]string{"webhook-receiver"}, args...)
	go func() { s.done <- cli.Run(ctx, args, e.getenv, io.Discard, s.logs) }()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("serve exited: %v\n%s", err, s.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("service not ready:\n%s", s.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the service down as SIGTERM would; it may be called twice.
func (s *service) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not stop:\n%s", s.logs)
	}
}

func (s *service) post(t *testing.T, path string, headers map[string]string, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func shopifyOrder(id int64, sku, email string) string {
	return fmt.Sprintf(`{"id": %d, "email": "buyer@example.com", "customer": {"email": "buyer@example.com"},
		"line_items": [{"id": %d1, "sku": %q, "properties": [{"name": "email", "value": %q}]}]}`, id, id, sku, email)
}

func (s *service) postShopify(t *testing.T, domain, secret, body string) int {
	t.Helper()
	return s.post(t, "/webhooks/shopify/order/create", map[string]string{
		"X-Shopify-Shop-Domain": domain,
		"X-Shopify-Hmac-Sha256": webhook.Sign([]byte(secret), []byte(body)),
	}, body)
}

func (s *service) postWoo(t *testing.T, source, secret, body string) int {
	t.Helper()
	return s.post(t, "/webhooks/woocommerce/order/create", map[string]string{
		"X-WC-Webhook-Source":    source,
		"X-WC-Webhook-Signature": webhook.Sign([]byte(secret), []byte(body)),
	}, body)
}

// waitEnrolled waits until the fake LMS has enrolled the learner.
func waitEnrolled(t *testing.T, lms *edxtest.LMS, course, email string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !lms.Enrolled(course, email) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never enrolled in %s; calls: %+v", email, course, lms.Calls())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServeEnrollsFromBothShops(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		lms.AddSKU("sku/WOO-1", "course-v1:Org+Woo+1")
		e := baseEnv(t, lms, d)
		e["WEBHOOK_RECEIVER_SKU_PREFIX"] = "sku/"
		s := serve(t, e)

		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
			shopifyOrder(5834765623456, "course-v1:Org+Shop+1", "learner@example.com")); got != 200 {
			t.Fatalf("shopify order: %d", got)
		}
		woo := `{"id": 77, "date_paid_gmt": "2026-11-25T10:00:00", "billing": {"email": "buyer@example.com"},
		"line_items": [{"id": 1, "sku": "WOO-1", "meta_data": [{"key": "_alg_wc_pif_global",
		"value": [{"type": "email", "_value": "student@example.com"}]}]}]}`
		if got := s.postWoo(t, "https://shop.example.com/", "woo,commerce secret", woo); got != 200 {
			t.Fatalf("woocommerce order: %d", got)
		}
		unpaid := strings.Replace(woo, `"2026-11-25T10:00:00"`, "null", 1)
		if got := s.postWoo(t, "https://shop.example.com/", "woo,commerce secret", unpaid); got != 402 {
			t.Fatalf("unpaid woocommerce order: %d; want 402", got)
		}
		waitEnrolled(t, lms, "course-v1:Org+Shop+1", "learner@example.com")
		waitEnrolled(t, lms, "course-v1:Org+Woo+1", "student@example.com")
		s.stop(t)
		logs := s.logs.String()
		for _, secret := range []string{"shopify-webhook-secret", "woo,commerce secret", lms.ClientSecret, "token-1", "learner@example.com"} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain %q:\n%s", secret, logs)
			}
		}
	})
}

func TestConcurrentDuplicatesEnrollOnce(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		s := serve(t, baseEnv(t, lms, d))
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				// Ten orders, each delivered four times at once.
				body := shopifyOrder(int64(1000+i%10), "course-v1:Org+Dup+1", fmt.Sprintf("l%d@example.com", i%10))
				if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret", body); got != 200 {
					t.Errorf("delivery %d: %d", i, got)
				}
			})
		}
		wg.Wait()
		for i := range 10 {
			waitEnrolled(t, lms, "course-v1:Org+Dup+1", fmt.Sprintf("l%d@example.com", i))
		}
		s.stop(t) // let every job finish before counting
		for i := range 10 {
			if n := lms.EnrollCount("course-v1:Org+Dup+1", fmt.Sprintf("l%d@example.com", i)); n != 1 {
				t.Errorf("learner %d enrolled %d times; want 1", i, n)
			}
		}
	})
}

func TestRestartFinishesPendingJobs(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		e := baseEnv(t, lms, d)
		e["WEBHOOK_RECEIVER_WORKERS"] = "0" // accept only
		s := serve(t, e)
		for i := range 5 {
			if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
				shopifyOrder(int64(50+i), "course-v1:Org+Later+1", fmt.Sprintf("p%d@example.com", i))); got != 200 {
				t.Fatalf("order %d: %d", i, got)
			}
		}
		s.stop(t)
		if n := len(lms.Calls()); n != 0 {
			t.Fatalf("%d LMS calls with no workers", n)
		}
		e["WEBHOOK_RECEIVER_WORKERS"] = "2"
		serve(t, e)
		for i := range 5 {
			waitEnrolled(t, lms, "course-v1:Org+Later+1", fmt.Sprintf("p%d@example.com", i))
		}
	})
}

func TestLMSOutageRetriedUntilItReturns(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		lms.SetDown(true)
		s := serve(t, baseEnv(t, lms, d))
		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
			shopifyOrder(60, "course-v1:Org+Down+1", "wait@example.com")); got != 200 {
			t.Fatalf("order: %d", got)
		}
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(s.logs.String(), `"outcome":"retry"`) {
			if time.Now().After(deadline) {
				t.Fatalf("no retry logged:\n%s", s.logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
		lms.SetDown(false)
		waitEnrolled(t, lms, "course-v1:Org+Down+1", "wait@example.com")
	})
}

func TestLegacyDjangoSettings(t *testing.T) {
	lms := edxtest.New(t)
	dir := t.TempDir()
	e := env{
		"DJANGO_DATABASE_URL":                                          "sqlite:///" + filepath.Join(dir, "legacy.db"),
		"DJANGO_WEBHOOK_RECEIVER_LMS_BASE_URL":                         lms.URL,
		"DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_KEY":                       lms.ClientID,
		"DJANGO_WEBHOOK_RECEIVER_EDX_OAUTH2_SECRET":                    lms.ClientSecret,
		"DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL":                          "no",
		"DJANGO_WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL":                "0",
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_SHOP_DOMAIN":         "legacy.myshopify.com",
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_SHOPIFY_API_KEY":             "legacy-secret",
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SOURCE":          "https://legacy.example.com",
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_SECRET":          "legacy-woo-secret",
		"DJANGO_WEBHOOK_RECEIVER_SETTINGS_WOOCOMMERCE_REQUIRE_PAYMENT": "yes",
	}
	s := serve(t, e)
	if got := s.postShopify(t, "legacy.myshopify.com", "legacy-secret",
		shopifyOrder(70, "course-v1:Org+Legacy+1", "old@example.com")); got != 200 {
		t.Fatalf("order: %d", got)
	}
	unpaid := `{"id": 71, "date_paid_gmt": null, "line_items": []}`
	if got := s.postWoo(t, "https://legacy.example.com/", "legacy-woo-secret", unpaid); got != 402 {
		t.Fatalf("unpaid order with legacy require_payment: %d; want 402", got)
	}
	waitEnrolled(t, lms, "course-v1:Org+Legacy+1", "old@example.com")
	c := lms.Calls()[0]
	if c.AutoEnroll || c.EmailStudents {
		t.Errorf("legacy booleans ignored: %+v", c)
	}
	if _, err := os.Stat(filepath.Join(dir, "legacy.db")); err != nil {
		t.Errorf("database not at the DJANGO_DATABASE_URL path: %v", err)
	}
}

func TestYAMLFiles(t *testing.T) {
	lms := edxtest.New(t)
	dir := t.TempDir()
	newFile := filepath.Join(dir, "config.yaml")
	legacyFile := filepath.Join(dir, "legacy.yaml")
	os.WriteFile(newFile, []byte(fmt.Sprintf(`
lms:
  base_url: %q
  oauth2_key: %q
  oauth2_secret: %q
  rate_limit: 0
retry_delay: 50ms
shopify:
  - shop_domain: "first.myshopify.com"
    secrets: ["current", "previous"]
  - shop_domain: "second.myshopify.com"
    secrets: ["second-secret"]
`, lms.URL, lms.ClientID, lms.ClientSecret)), 0o600)
	os.WriteFile(legacyFile, []byte(`
WEBHOOK_RECEIVER_SETTINGS:
  woocommerce:
    source: "https://old.example.com"
    secret: "old-woo-secret"
    require_payment: false
SECRET_KEY: "django-secret"
DATABASES: {default: {}}
`), 0o600)
	s := serve(t, env{
		"WEBHOOK_RECEIVER_CONFIG":       newFile,
		"WEBHOOK_RECEIVER_CFG":          legacyFile,
		"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + filepath.Join(dir, "data.db"),
	})
	for i, shop := range []struct{ domain, secret string }{
		{"first.myshopify.com", "current"}, {"first.myshopify.com", "previous"}, {"second.myshopify.com", "second-secret"},
	} {
		if got := s.postShopify(t, shop.domain, shop.secret, shopifyOrder(int64(80+i), "course-v1:Org+Yaml+1", fmt.Sprintf("y%d@example.com", i))); got != 200 {
			t.Errorf("%s with its secret %d: %d", shop.domain, i, got)
		}
	}
	if got := s.postShopify(t, "second.myshopify.com", "current", shopifyOrder(89, "course-v1:Org+Yaml+1", "x@example.com")); got != 403 {
		t.Errorf("another shop's secret: %d; want 403", got)
	}
	woo := `{"id": 90, "billing": {"email": "w@example.com"}, "line_items": [{"id": 1, "sku": "course-v1:Org+Yaml+1"}]}`
	if got := s.postWoo(t, "https://old.example.com/", "old-woo-secret", woo); got != 200 {
		t.Errorf("site from the legacy file: %d", got)
	}
	waitEnrolled(t, lms, "course-v1:Org+Yaml+1", "w@example.com")
	logs := s.logs.String()
	if !strings.Contains(logs, "SECRET_KEY") || strings.Contains(logs, "django-secret") {
		t.Errorf("want a warning naming SECRET_KEY without its value:\n%s", logs)
	}
}

func TestServeWithoutConfigurationWarns(t *testing.T) {
	s := serve(t, env{"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "x.db")})
	if got := s.postShopify(t, "first.myshopify.com", "x", `{"id": 1}`); got != 403 {
		t.Errorf("webhook with no shop configured: %d; want 403", got)
	}
	logs := s.logs.String()
	if !strings.Contains(logs, "no Shopify shop") || !strings.Contains(logs, "LMS") {
		t.Errorf("no warning about the missing configuration:\n%s", logs)
	}
}

func TestInvalidConfigurationNamesTheSetting(t *testing.T) {
	tests := []struct {
		name string
		env  env
		want string
	}{
		{"bad max attempts", env{"WEBHOOK_RECEIVER_MAX_ATTEMPTS": "0"}, "WEBHOOK_RECEIVER_MAX_ATTEMPTS"},
		{"bad boolean", env{"DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL": "maybe"}, "DJANGO_WEBHOOK_RECEIVER_AUTO_ENROLL"},
		{"bad duration", env{"WEBHOOK_RECEIVER_RETRY_DELAY": "soon"}, "WEBHOOK_RECEIVER_RETRY_DELAY"},
		{"bad database", env{"WEBHOOK_RECEIVER_DATABASE_URL": "mysql://db"}, "WEBHOOK_RECEIVER_DATABASE_URL"},
		{"shop without secret", env{"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN": "a.myshopify.com"}, "WEBHOOK_RECEIVER_SHOPIFY_SECRET"},
		{"port in use", env{"WEBHOOK_RECEIVER_LISTEN": "not-an-address"}, "WEBHOOK_RECEIVER_LISTEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := tt.env["WEBHOOK_RECEIVER_DATABASE_URL"]; !ok {
				tt.env["WEBHOOK_RECEIVER_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "x.db")
			}
			var stderr syncBuffer
			err := cli.Run(context.Background(), []string{"webhook-receiver", "serve"}, tt.env.getenv, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("serve = %v; want an error naming %s", err, tt.want)
			}
		})
	}
}

// databaseVersion matches how check names each backend and its version.
var databaseVersion = map[store.Dialect]string{
	store.SQLite:   `SQLite 3\.\d+\.\d+`,
	store.Postgres: `PostgreSQL \d+(\.\d+)?\S*( \(.*\))?`,
}

func TestCheck(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		tests := []struct {
			name    string
			setup   func(*edxtest.LMS, env)
			wantErr bool
			want    []string
		}{
			{"all good", nil, false, []string{"ok   config", "ok   database", "ok   lms token", "ok   bulk enroll"}},
			{"view disabled", func(l *edxtest.LMS, e env) { l.SetBulkEnrollEnabled(false) }, true,
				[]string{"ok   lms token", "FAIL bulk enroll", "ENABLE_BULK_ENROLLMENT_VIEW"}},
			{"bad credentials", func(l *edxtest.LMS, e env) { e["WEBHOOK_RECEIVER_OAUTH2_SECRET"] = "wrong-oauth-secret" }, true,
				[]string{"FAIL lms token"}},
			{"no LMS", func(l *edxtest.LMS, e env) { delete(e, "WEBHOOK_RECEIVER_LMS_BASE_URL") }, true,
				[]string{"FAIL lms", "WEBHOOK_RECEIVER_LMS_BASE_URL"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				lms := edxtest.New(t)
				e := baseEnv(t, lms, d)
				if tt.setup != nil {
					tt.setup(lms, e)
				}
				mustRun(t, e, "migrate")
				var stdout syncBuffer
				err := cli.Run(context.Background(), []string{"webhook-receiver", "check"}, e.getenv, &stdout, io.Discard)
				if (err != nil) != tt.wantErr {
					t.Errorf("check = %v; want error %v\n%s", err, tt.wantErr, &stdout)
				}
				out := stdout.String()
				for _, w := range tt.want {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q:\n%s", w, out)
					}
				}
				wantDB := regexp.MustCompile("(?m)^ok   database     " + databaseVersion[d] + " at " +
					regexp.QuoteMeta(e["WEBHOOK_RECEIVER_DATABASE_URL"]) + ", schema current$")
				if !wantDB.MatchString(out) {
					t.Errorf("output lacks a line matching %s:\n%s", wantDB, out)
				}
				for _, secret := range []string{"wrong-oauth-secret", lms.ClientSecret, "shopify-webhook-secret"} {
					if strings.Contains(out, secret) {
						t.Errorf("output contains a secret:\n%s", out)
					}
				}
			})
		}
	})
}

func TestMigrateVersionHelp(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	run := func(args ...string) (string, error) {
		var out syncBuffer
		err := cli.Run(context.Background(), append([]string{"webhook-receiver"}, args...),
			env{"WEBHOOK_RECEIVER_DATABASE_URL": dbURL}.getenv, &out, &out)
		return out.String(), err
	}
	for _, args := range [][]string{{"migrate"}, {"migrate"}, {"version"}, {"help"}, {"help", "serve"}, {"serve", "-h"}, {"check", "--help"}} {
		if out, err := run(args...); err != nil || out == "" {
			t.Errorf("%v = %v, output %q", args, err, out)
		}
	}
	if out, _ := run("version"); !strings.HasPrefix(out, "webhook-receiver ") {
		t.Errorf("version output %q", out)
	}
	if _, err := run("frobnicate"); err == nil {
		t.Error("unknown command succeeded")
	}
	if _, err := run(); !errors.Is(err, cli.ErrUsage) {
		t.Errorf("no command = %v; want ErrUsage", err)
	}
	if _, err := run("serve", "--bogus"); !errors.Is(err, cli.ErrUsage) {
		t.Errorf("bad flag = %v; want ErrUsage", err)
	}
}

func TestShutdownLetsRunningEnrollmentFinish(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		lms.SetDelay(time.Second)
		e := baseEnv(t, lms, d)
		s := serve(t, e)
		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
			shopifyOrder(62, "course-v1:Org+Slow+1", "slow@example.com")); got != 200 {
			t.Fatalf("order: %d", got)
		}
		deadline := time.Now().Add(30 * time.Second)
		for lms.TokenRequests() == 0 { // the slow bulk enroll call follows the token
			if time.Now().After(deadline) {
				t.Fatal("the job never called the LMS")
			}
			time.Sleep(10 * time.Millisecond)
		}
		s.stop(t) // as on SIGTERM
		db, err := store.Open(context.Background(), e["WEBHOOK_RECEIVER_DATABASE_URL"], store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		o, err := db.FindOrder(context.Background(), enroll.Shopify, "first.myshopify.com", 62)
		if err != nil || o.Items[0].Status != enroll.ItemEnrolled {
			t.Fatalf("after shutdown: %+v, %v; want the running enrollment finished and recorded", o, err)
		}
		if n := len(lms.Calls()); n != 1 {
			t.Errorf("%d bulk enroll calls; want 1", n)
		}
	})
}

func TestLegacyPostgresURLSchemes(t *testing.T) {
	u := storetest.URL(t, store.Postgres) + "&password=NOT-A-REAL-PW" // the server trusts local users
	for _, scheme := range []string{"postgres", "postgresql", "pgsql"} {
		var out syncBuffer
		getenv := env{"DJANGO_DATABASE_URL": scheme + strings.TrimPrefix(u, "postgres")}.getenv
		if err := cli.Run(context.Background(), []string{"webhook-receiver", "migrate"}, getenv, &out, &out); err != nil {
			t.Fatalf("migrate with %s://: %v\n%s", scheme, err, &out)
		}
		cli.Run(context.Background(), []string{"webhook-receiver", "check"}, getenv, &out, &out)
		if !strings.Contains(out.String(), "ok   database     PostgreSQL") || !strings.Contains(out.String(), "schema current") {
			t.Errorf("check with %s:// does not report a current PostgreSQL schema:\n%s", scheme, &out)
		}
		if strings.Contains(out.String(), "NOT-A-REAL-PW") {
			t.Errorf("the database password is shown:\n%s", &out)
		}
	}
}

// serveWithWorker runs `serve` taking webhooks only and, on the same
// database, a `worker` enrolling them; it returns the serve process and
// the worker's address. Both stop when the test ends.
func serveWithWorker(t *testing.T, e env) (*service, string) {
	t.Helper()
	intake := env{}
	for k, v := range e {
		intake[k] = v
	}
	intake["WEBHOOK_RECEIVER_WORKERS"] = "0"
	s := serve(t, intake)

	addr := freeAddr(t)
	worker := env{}
	for k, v := range e {
		worker[k] = v
	}
	worker["WEBHOOK_RECEIVER_LISTEN"] = addr
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	done := make(chan error, 1)
	go func() { done <- cli.Run(ctx, []string{"webhook-receiver", "worker"}, worker.getenv, io.Discard, &logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker returned %v\n%s", err, &logs)
		}
	})
	return s, addr
}

func TestWorkerCommandEnrollsWhatServeAccepts(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		e := baseEnv(t, lms, d)
		s, addr := serveWithWorker(t, e)

		for i := range 3 {
			if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
				shopifyOrder(int64(300+i), "course-v1:Org+Split+1", fmt.Sprintf("w%d@example.com", i))); got != 200 {
				t.Fatalf("order %d: %d", i, got)
			}
		}
		for i := range 3 {
			waitEnrolled(t, lms, "course-v1:Org+Split+1", fmt.Sprintf("w%d@example.com", i))
		}
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/webhooks/shopify/order/create": 404} {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("worker GET %s = %d; want %d", path, resp.StatusCode, want)
			}
		}
	})
}

func TestWorkerNeedsLMSAndWorkers(t *testing.T) {
	e := env{"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "x.db"), "WEBHOOK_RECEIVER_WORKERS": "0"}
	err := cli.Run(context.Background(), []string{"webhook-receiver", "worker"}, e.getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "WEBHOOK_RECEIVER_WORKERS") {
		t.Fatalf("worker without workers = %v; want an error naming WEBHOOK_RECEIVER_WORKERS", err)
	}
}
