package cli_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// TestServePortInUse starts serve on a port that is taken, given by each
// source in turn: the error names the source the address really came
// from, and the database was neither created nor migrated.
func TestServePortInUse(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		taken := busy.Addr().String()
		file := writeTemp(t, "listen: "+taken+"\n")
		metricsFile := writeTemp(t, "metrics_listen: "+taken+"\n")
		tests := []struct {
			name string
			env  env
			args []string
			want string
		}{
			{"flag", env{"WEBHOOK_RECEIVER_LISTEN": freeAddr(t)}, []string{"--listen", taken}, "listen on " + taken + " (--listen): "},
			{"environment", env{"WEBHOOK_RECEIVER_LISTEN": taken}, nil, "listen on " + taken + " (WEBHOOK_RECEIVER_LISTEN): "},
			{"file", env{"WEBHOOK_RECEIVER_CONFIG": file}, nil, "listen on " + taken + " (WEBHOOK_RECEIVER_CONFIG " + file + ": listen): "},
			{"--config file", env{}, []string{"--config", file}, "listen on " + taken + " (--config " + file + ": listen): "},
			{"metrics environment", env{"WEBHOOK_RECEIVER_LISTEN": freeAddr(t), "WEBHOOK_RECEIVER_METRICS_LISTEN": taken}, nil,
				"listen on " + taken + " (WEBHOOK_RECEIVER_METRICS_LISTEN): "},
			{"metrics file", env{"WEBHOOK_RECEIVER_LISTEN": freeAddr(t), "WEBHOOK_RECEIVER_CONFIG": metricsFile}, nil,
				"listen on " + taken + " (WEBHOOK_RECEIVER_CONFIG " + metricsFile + ": metrics_listen): "},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				url := storetest.URL(t, d)
				tt.env["WEBHOOK_RECEIVER_DATABASE_URL"] = url
				for _, cmd := range []string{"serve", "worker"} {
					if cmd == "worker" {
						tt.env["WEBHOOK_RECEIVER_LMS_BASE_URL"] = "http://127.0.0.1:1"
					}
					_, _, err := runCmd(t, tt.env, "", append([]string{cmd}, tt.args...)...)
					if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "address already in use") {
						t.Errorf("%s = %v; want an error starting %q", cmd, err, tt.want)
					}
				}
				assertNoDatabase(t, url)
			})
		}
	})
}

// assertNoDatabase fails unless the database URL names no SQLite file, or
// a database without the receiver's tables.
func assertNoDatabase(t *testing.T, url string) {
	t.Helper()
	if path, err := store.SQLitePath(url); err == nil {
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s was created: %v", path, err)
		}
		return
	}
	ctx := context.Background()
	db, err := store.Open(ctx, url, store.Options{Existing: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if has, err := db.HasSchema(ctx); has || err != nil {
		t.Errorf("the database was migrated (%v)", err)
	}
}

// TestServeSQLiteLocation starts serve on SQLite files it cannot create:
// it fails with the operating system's reason, and creates no missing
// directory unless --create-dirs asks it to (and then says so).
func TestServeSQLiteLocation(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "data", "sub")
	tests := []struct {
		name string
		path string
		want string
		skip bool
	}{
		{"missing directory", filepath.Join(missing, "r.db"),
			"WEBHOOK_RECEIVER_DATABASE_URL: the database's directory does not exist: " + missing + ": create it, or use --create-dirs", false},
		{"under a file", filepath.Join(file, "r.db"), "not a directory", false},
		{"a directory", tmp, "is a directory", false},
		{"proc", "/proc/webhook-receiver-serve.db", "the file cannot be created: no such file or directory", !isDir("/proc/self")},
		{"sys", "/sys/webhook-receiver-serve.db", "the file cannot be created: permission denied", !isDir("/sys/kernel")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skip {
				t.Skip("no such file system here")
			}
			e := env{"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + tt.path, "WEBHOOK_RECEIVER_LISTEN": freeAddr(t)}
			for _, cmd := range []string{"serve", "migrate"} {
				_, _, err := runCmd(t, e, "", cmd)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s = %v; want an error with %q", cmd, err, tt.want)
				}
			}
			if entries, _ := os.ReadDir(tmp); len(entries) != 1 {
				t.Errorf("%s holds %v; want only a-file", tmp, entries)
			}
		})
	}

	t.Run("--create-dirs", func(t *testing.T) {
		path := filepath.Join(missing, "r.db")
		addr := freeAddr(t)
		s := start(t, env{"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + path, "WEBHOOK_RECEIVER_LISTEN": addr}, addr, "serve", "--create-dirs")
		s.stop(t)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("serve --create-dirs: %v", err)
		}
		if logs := s.logs.String(); !strings.Contains(logs, `level=WARN msg="created database directory (--create-dirs)" dir=`+missing) {
			t.Errorf("serve did not say it created %s:\n%s", missing, logs)
		}
	})
}

// TestSignatureBeforeParsing pins two answers that differ from the Django
// app's: a body that does not match its signature gets 403 even when it is
// not JSON (the receiver never parses unauthenticated bytes; the Django app
// answered 400), and a signed WooCommerce order without Content-Type is
// read as JSON and accepted (the Django app answered 400).
func TestSignatureBeforeParsing(t *testing.T) {
	e := env{
		"WEBHOOK_RECEIVER_DATABASE_URL":        "sqlite:" + filepath.Join(t.TempDir(), "r.db"),
		"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN": "first.myshopify.com",
		"WEBHOOK_RECEIVER_SHOPIFY_SECRET":      "shopify-webhook-secret",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":  "https://shop.example.com/",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET":  "woo-secret",
	}
	s := serve(t, e)
	const notJSON = "{not json"
	send := func(path, contentType string, headers map[string]string, body string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, s.url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	shopify := func(secret, signed string) map[string]string {
		return map[string]string{"X-Shopify-Shop-Domain": "first.myshopify.com", "X-Shopify-Hmac-Sha256": webhook.Sign([]byte(secret), []byte(signed))}
	}
	woo := func(secret, signed string) map[string]string {
		return map[string]string{"X-WC-Webhook-Source": "https://shop.example.com/", "X-WC-Webhook-Signature": webhook.Sign([]byte(secret), []byte(signed))}
	}
	const (
		shopifyPath = "/webhooks/shopify/order/create"
		wooPath     = "/webhooks/woocommerce/order/create"
	)
	order := `{"id": 77, "date_paid_gmt": "2026-01-01T00:00:00", "billing": {"email": "b@example.com"}, "line_items": [{"id": 1, "sku": "course-v1:O+C+R"}]}`
	tests := []struct {
		name        string
		path        string
		contentType string
		headers     map[string]string
		body        string
		want        int
	}{
		{"shopify: non-JSON body, wrong secret", shopifyPath, "application/json", shopify("wrong", notJSON), notJSON, 403},
		{"shopify: non-JSON body, signature of another body", shopifyPath, "application/json", shopify("shopify-webhook-secret", "{}"), notJSON, 403},
		{"shopify: non-JSON body, signed", shopifyPath, "application/json", shopify("shopify-webhook-secret", notJSON), notJSON, 400},
		{"woocommerce: non-JSON body, wrong secret", wooPath, "application/json", woo("wrong", notJSON), notJSON, 403},
		{"woocommerce: non-JSON body without Content-Type, wrong secret", wooPath, "", woo("wrong", notJSON), notJSON, 403},
		{"woocommerce: signed order without Content-Type", wooPath, "", woo("woo-secret", order), order, 200},
	}
	for _, tt := range tests {
		if got := send(tt.path, tt.contentType, tt.headers, tt.body); got != tt.want {
			t.Errorf("%s: %d; want %d", tt.name, got, tt.want)
		}
	}
}
