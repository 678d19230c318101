package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/fuzztest"
)

// FuzzConfigFiles loads any bytes as the YAML file and as the Django app's
// YAML file: a configuration error is fine, a panic or a hang is not.
func FuzzConfigFiles(f *testing.F) {
	f.Add([]byte("listen: \":8000\"\nlms:\n  base_url: https://lms.example.com\n  auto_enroll: yes\n"+
		"shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [one, two]\n"), false)
	f.Add([]byte("base: &b {timeout: 5s}\nlms:\n  <<: *b\n  batch_size: 10\nwoocommerce: [{source: x, secrets: [s], require_payment: true}]\n"), false)
	f.Add([]byte("a: &a [*a]\nlms: *a\n"), false)
	f.Add([]byte("WEBHOOK_RECEIVER_LMS_BASE_URL: http://lms\nWEBHOOK_RECEIVER_SETTINGS:\n  shopify: {shop_domain: a, api_key: k}\n"+
		"  woocommerce: {source: s, secret: x, require_payment: no}\nDATABASES: {}\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, legacy bool) {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		name := "WEBHOOK_RECEIVER_CONFIG"
		if legacy {
			name = "WEBHOOK_RECEIVER_CFG"
		}
		Load(mapenv(map[string]string{name: path}), Flags{})
	})
}

func TestFuzzTargets(t *testing.T) {
	fuzztest.Run(t, "FuzzConfigFiles")
}
