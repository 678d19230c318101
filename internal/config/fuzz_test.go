package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/fuzztest"
	"go.yaml.in/yaml/v3"
)

// FuzzConfigFiles loads any bytes as the YAML file and as the Django app's
// YAML file: a configuration error is fine, a panic or a hang is not, and
// no error, warning or redacted dump may show a secret. Before loading,
// every value at the place of a secret (by the settings table) is made
// distinctive ("Zebra-1-secret"), and "Zebra" is taken out of every other
// text, so that the check cannot be fooled by an input that repeats a
// secret elsewhere.
func FuzzConfigFiles(f *testing.F) {
	f.Add([]byte("listen: \":8000\"\nlms:\n  base_url: https://lms.example.com\n  auto_enroll: yes\n  oauth2_secret: s\n"+
		"shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [one, two]\n"), false)
	f.Add([]byte("base: &b {timeout: 5s}\nlms:\n  <<: *b\n  batch_size: 10\nwoocommerce: [{source: x, secrets: [s], require_payment: true}]\n"), false)
	f.Add([]byte("a: &a [*a]\nlms: *a\n"), false)
	f.Add([]byte("shopify:\n  - shop_domain: a.myshopify.com\n    secrets: [[x], {y: z}]\nadmin: {password_hash: h, user: [u]}\n"+
		"woocommerce:\n  - source: https://x.example.com\n    secrets: &s [t]\ntrusted_proxies: *s\nlisten: *s\n"), false)
	f.Add([]byte("lms: {oauth2_secret: o, base_url: x}\nadmin: {password_hash: h}\nshopify: [{shop_domain: 'a b', secrets: [s, '']}]\n"+
		"woocommerce: [{source: x, secrets: t}, {source: x, secrets: ''}]\nlisten: x\n"), false)
	f.Add([]byte("lms:\n  oauth2_secret: [s]\n  oauth2_secret_file: /nonexistent\n  timeout: {a: 1}\n"), false)
	f.Add([]byte("WEBHOOK_RECEIVER_LMS_BASE_URL: http://lms\nWEBHOOK_RECEIVER_EDX_OAUTH2_SECRET: o\nWEBHOOK_RECEIVER_SETTINGS:\n"+
		"  shopify: {shop_domain: a, api_key: k}\n  woocommerce: {source: s, secret: x, require_payment: no}\nDATABASES: {}\n"), true)
	f.Add([]byte("WEBHOOK_RECEIVER_SETTINGS:\n  woocommerce:\n    source: https://shop.example.com\n    secert: x\n"+
		"  shopify: {shop_domain: [a], api_key: {k: v}}\nWEBHOOK_RECEIVER_EDX_OAUTH2_SECRET: [o]\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, legacy bool) {
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
			load(t, data, legacy) // still must not panic
			return
		}
		secrets := markSecrets(&doc, legacy)
		marked, err := yaml.Marshal(&doc)
		if err != nil {
			return
		}
		c, warnings, err := load(t, marked, legacy)
		shown := fmt.Sprint(err) + "\n" + strings.Join(warnings, "\n") + "\n" + c.Redacted()
		for _, s := range secrets {
			if strings.Contains(shown, s) {
				t.Fatalf("secret %q shown in:\n%s\ninput:\n%s", s, shown, marked)
			}
		}
	})
}

func load(t *testing.T, data []byte, legacy bool) (Config, []string, error) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	name := envFile
	if legacy {
		name = envLegacyFile
	}
	return Load(mapenv(map[string]string{name: path}), Flags{})
}

// markSecrets gives each scalar at the place of a secret in doc a value of
// its own, "Zebra-<n>-secret", and returns them. Every other text loses
// "Zebra", and aliases to a node holding a secret become plain text, so
// that a secret appears only where the file's format says it is one.
func markSecrets(doc *yaml.Node, legacy bool) []string {
	places := secretPlaces(legacy)
	var secrets []string
	marked := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i], "") // a key
				walk(n.Content[i+1], joinPath(path, n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path+"[]")
			}
		case yaml.ScalarNode:
			if places[path] || places[strings.TrimSuffix(path, "[]")] && path != "" {
				n.Value = fmt.Sprintf("Zebra-%d-secret", len(secrets)+1)
				n.Tag, n.Style = "!!str", 0
				secrets = append(secrets, n.Value)
				marked[n] = true
			} else {
				n.Value = strings.ReplaceAll(n.Value, "Zebra", "zebra")
			}
		}
		n.Anchor = strings.ReplaceAll(n.Anchor, "Zebra", "zebra")
	}
	walk(doc, "")
	var holds func(n *yaml.Node) bool
	holds = func(n *yaml.Node) bool {
		if marked[n] {
			return true
		}
		for _, c := range n.Content {
			if holds(c) {
				return true
			}
		}
		return false
	}
	var unalias func(n *yaml.Node)
	unalias = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode && n.Alias != nil && holds(n.Alias) {
			*n = yaml.Node{Kind: yaml.ScalarNode, Value: "plain", Line: n.Line, Column: n.Column}
		}
		for _, c := range n.Content {
			unalias(c)
		}
	}
	unalias(doc)
	return secrets
}

// secretPlaces are the YAML paths of the secrets of a file, by the
// settings table: "lms.oauth2_secret", "shopify[].secrets" (a secret, or
// a list of them); in the Django app's file
// "WEBHOOK_RECEIVER_SETTINGS.shopify.api_key".
func secretPlaces(legacy bool) map[string]bool {
	places := map[string]bool{}
	for i := range settings {
		s := &settings[i]
		if s.kind == nil || !s.kind.secret() {
			continue
		}
		list, _, inList := s.listKey()
		switch {
		case !legacy:
			places[s.key] = true
		case s.legacyKey != "" && inList:
			places[legacySettings+"."+list+"."+s.legacyKey] = true
		case s.legacyKey != "":
			places[s.legacyKey] = true
		}
	}
	return places
}

func TestFuzzTargets(t *testing.T) {
	fuzztest.Run(t, "FuzzConfigFiles")
}
