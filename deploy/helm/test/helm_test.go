// Package test checks the Helm chart in ../webhook-receiver with the real
// helm (helm.sh/helm/v4, built from the Go module proxy as a tool of this
// module): helm lint, helm template for the SQLite and PostgreSQL value
// sets in testdata, every rendered document decoded strictly into its
// Kubernetes API type, and what the documents say asserted. It is a module
// of its own so that the service's module does not depend on Helm and the
// Kubernetes API types.
package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

const chartDir = "../webhook-receiver"

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helm returns the path of the helm binary, built once per test run by
// `go tool -n helm` (the version is this module's go.mod's; the binary is
// kept in Go's build cache, so only the first run on a machine compiles
// it). It skips the test when helm cannot be built, and fails it instead
// under CI=true.
func helm(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		start := time.Now()
		var stderr bytes.Buffer
		cmd := exec.Command("go", "tool", "-n", "helm")
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			helmErr = fmt.Errorf("go tool -n helm: %w: %s", err, strings.TrimSpace(stderr.String()))
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		helmPath = lines[len(lines)-1]
		t.Logf("helm built or found in the build cache in %s: %s", time.Since(start).Round(time.Millisecond), helmPath)
	})
	if helmErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("helm is needed under CI=true: %v", helmErr)
		}
		t.Skipf("skipping: helm could not be built from the Go module proxy (%v)", helmErr)
	}
	return helmPath
}

// runHelm runs helm with args; the error holds its standard error. A
// helm that succeeds but writes to standard error (a warning about the
// values, say) fails the test.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helm(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No repositories, plugins or registry logins of the user's.
	dir := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+dir, "HELM_CACHE_HOME="+dir, "HELM_DATA_HOME="+dir)
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("helm %s warned:\n%s", strings.Join(args, " "), stderr.String())
	}
	return stdout.String(), nil
}

// valueArgs turns value files of testdata and --set pairs into helm flags.
func valueArgs(files []string, sets ...string) []string {
	var args []string
	for _, f := range files {
		args = append(args, "--values", "testdata/"+f)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

const release = "shop"

// render runs helm template and decodes every document strictly.
func render(t *testing.T, files []string, sets ...string) *manifests {
	t.Helper()
	out, err := runHelm(t, append([]string{"template", release, chartDir, "--namespace", "edx"}, valueArgs(files, sets...)...)...)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

// manifests are the rendered documents by kind and name.
type manifests struct {
	deployments     map[string]*appsv1.Deployment
	services        map[string]*corev1.Service
	secrets         map[string]*corev1.Secret
	claims          map[string]*corev1.PersistentVolumeClaim
	jobs            map[string]*batchv1.Job
	ingresses       map[string]*networkingv1.Ingress
	serviceMonitors map[string]*monitoringv1.ServiceMonitor
	count           int
}

var separator = regexp.MustCompile(`(?m)^---\s*$`)

// decode splits helm's output into documents and decodes each strictly
// (unknown or duplicate fields are errors) into the API type of its
// apiVersion and kind; a kind the test does not know fails it.
func decode(t *testing.T, out string) *manifests {
	t.Helper()
	m := &manifests{
		deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		secrets: map[string]*corev1.Secret{}, claims: map[string]*corev1.PersistentVolumeClaim{},
		jobs: map[string]*batchv1.Job{}, ingresses: map[string]*networkingv1.Ingress{},
		serviceMonitors: map[string]*monitoringv1.ServiceMonitor{},
	}
	for _, doc := range separator.Split(out, -1) {
		var head struct {
			metav1.TypeMeta `json:",inline"`
			Metadata        metav1.ObjectMeta `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("document is not YAML: %v\n%s", err, doc)
		}
		if head.Kind == "" && head.APIVersion == "" {
			if strings.TrimSpace(stripComments(doc)) != "" {
				t.Fatalf("document without apiVersion and kind:\n%s", doc)
			}
			continue
		}
		m.count++
		name := head.Metadata.Name
		where := fmt.Sprintf("%s %s", head.Kind, name)
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
			t.Errorf("%s: name: %v", where, errs)
		}
		if head.Metadata.Namespace != "" {
			t.Errorf("%s: namespace %q set: helm install --namespace decides", where, head.Metadata.Namespace)
		}
		if head.Metadata.Labels["app.kubernetes.io/instance"] != release || head.Metadata.Labels["app.kubernetes.io/name"] != "webhook-receiver" {
			t.Errorf("%s: labels %v lack the release's", where, head.Metadata.Labels)
		}
		switch gvk := head.APIVersion + " " + head.Kind; gvk {
		case "apps/v1 Deployment":
			m.deployments[name] = strict[appsv1.Deployment](t, where, doc)
		case "v1 Service":
			m.services[name] = strict[corev1.Service](t, where, doc)
			if errs := validation.IsDNS1035Label(name); len(errs) > 0 {
				t.Errorf("%s: a Service name must be a DNS-1035 label: %v", where, errs)
			}
		case "v1 Secret":
			m.secrets[name] = strict[corev1.Secret](t, where, doc)
		case "v1 PersistentVolumeClaim":
			m.claims[name] = strict[corev1.PersistentVolumeClaim](t, where, doc)
		case "batch/v1 Job":
			m.jobs[name] = strict[batchv1.Job](t, where, doc)
		case "networking.k8s.io/v1 Ingress":
			m.ingresses[name] = strict[networkingv1.Ingress](t, where, doc)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			m.serviceMonitors[name] = strict[monitoringv1.ServiceMonitor](t, where, doc)
		default:
			t.Fatalf("%s: %s is not decoded by this test: add it to decode", where, gvk)
		}
	}
	return m
}

func strict[T any](t *testing.T, where, doc string) *T {
	t.Helper()
	v := new(T)
	if err := yaml.UnmarshalStrict([]byte(doc), v); err != nil {
		t.Fatalf("%s does not decode strictly: %v\n%s", where, err, doc)
	}
	return v
}

func stripComments(doc string) string {
	var b strings.Builder
	for line := range strings.Lines(doc) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// helm lint runs the templates in lint mode, where Helm 4 logs a fail
// instead of failing: the failing value sets are TestRenderFails'.
func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
	}{
		{"defaults", nil},
		{"sqlite", []string{"sqlite.yaml"}},
		{"postgresql", []string{"postgresql.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runHelm(t, append([]string{"lint", "--strict", chartDir}, valueArgs(tc.files)...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint:\n%s", out)
			}
		})
	}
}

const (
	dataDir = "/var/lib/webhook-receiver"
	image   = "registry.example.com/webhook-receiver:v1.2.3"
)

func TestSQLite(t *testing.T) {
	m := render(t, []string{"sqlite.yaml"})
	d := only(t, m.deployments, "shop-webhook-receiver")
	if *d.Spec.Replicas != 1 {
		t.Errorf("replicas %d, want 1", *d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || d.Spec.Strategy.RollingUpdate != nil {
		t.Errorf("strategy %+v, want Recreate: two pods must never hold the SQLite file", d.Spec.Strategy)
	}
	c := checkPod(t, m, d, "serve")

	// The database: a file on the claim mounted at the data directory.
	if env := envOf(c)["WEBHOOK_RECEIVER_DATABASE_URL"]; env.Value != "sqlite:"+dataDir+"/webhook-receiver.db" || env.ValueFrom != nil {
		t.Errorf("WEBHOOK_RECEIVER_DATABASE_URL %+v, want the file on the volume", env)
	}
	pvc := only(t, m.claims, "shop-webhook-receiver-data")
	if v := volume(t, d.Spec.Template.Spec, "data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name {
		t.Errorf("data volume %+v, want the claim %s", v, pvc.Name)
	}
	if got := pvc.Spec.Resources.Requests.Storage().String(); got != "2Gi" {
		t.Errorf("claim size %s, want 2Gi", got)
	}
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != "fast" ||
		!slices.Equal(pvc.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
		t.Errorf("claim spec %+v, want storage class fast, ReadWriteOnce", pvc.Spec)
	}
	if pvc.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("claim annotations %v: helm uninstall would delete the database", pvc.Annotations)
	}
	if len(m.jobs) != 0 {
		t.Errorf("jobs %v: with SQLite serve migrates at start, no hook Job", keys(m.jobs))
	}
	if len(m.deployments) != 1 {
		t.Errorf("deployments %v, want serve only", keys(m.deployments))
	}

	// Settings: plain ones as values, secret ones from the chart's Secret.
	env := envOf(c)
	for name, want := range map[string]string{
		"WEBHOOK_RECEIVER_LISTEN":         ":8000",
		"WEBHOOK_RECEIVER_METRICS_LISTEN": ":9100",
		"WEBHOOK_RECEIVER_LMS_BASE_URL":   "https://lms.example.com",
		"WEBHOOK_RECEIVER_LOG_FORMAT":     "json",
		"WEBHOOK_RECEIVER_CONFIG":         "/etc/webhook-receiver/config.yaml",
	} {
		if env[name].Value != want {
			t.Errorf("%s = %q, want %q", name, env[name].Value, want)
		}
	}
	if _, ok := env["WEBHOOK_RECEIVER_WORKERS"]; ok {
		t.Error("WEBHOOK_RECEIVER_WORKERS set without a separate worker")
	}
	secret := only(t, m.secrets, "shop-webhook-receiver")
	for name, want := range map[string]string{
		"WEBHOOK_RECEIVER_OAUTH2_SECRET":       "lms-client-secret",
		"WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH": "$2a$10$abcdefghijklmnopqrstuuJ8uJ1W1j7o3r9B6F0R8w7g1C7yq0K1e",
	} {
		ref := env[name].ValueFrom
		if ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != secret.Name || ref.SecretKeyRef.Key != name {
			t.Errorf("%s: %+v, want key %s of Secret %s", name, env[name], name, secret.Name)
		}
		if got := string(secret.Data[name]); got != want {
			t.Errorf("Secret %s[%s] = %q, want %q", secret.Name, name, got, want)
		}
	}
	// The shops' file: the Secret's config.yaml, mounted where
	// WEBHOOK_RECEIVER_CONFIG points.
	var shops struct {
		Shopify []struct {
			ShopDomain string   `json:"shop_domain"`
			Secrets    []string `json:"secrets"`
		} `json:"shopify"`
		WooCommerce []struct {
			Source         string   `json:"source"`
			Secrets        []string `json:"secrets"`
			RequirePayment bool     `json:"require_payment"`
		} `json:"woocommerce"`
	}
	if err := yaml.UnmarshalStrict(secret.Data["config.yaml"], &shops); err != nil {
		t.Fatalf("config.yaml: %v\n%s", err, secret.Data["config.yaml"])
	}
	if len(shops.Shopify) != 1 || shops.Shopify[0].ShopDomain != "first.myshopify.com" ||
		!slices.Equal(shops.Shopify[0].Secrets, []string{"current", "previous"}) ||
		len(shops.WooCommerce) != 1 || !shops.WooCommerce[0].RequirePayment {
		t.Errorf("config.yaml decoded to %+v", shops)
	}
	checkConfigMount(t, d.Spec.Template.Spec, c, secret.Name, "config.yaml")
	if d.Spec.Template.Annotations["checksum/secret"] == "" {
		t.Error("no checksum/secret annotation: pods would not restart when the Secret changes")
	}

	svc := only(t, m.services, "shop-webhook-receiver")
	checkSelects(t, svc, d)
	checkIngress(t, m, svc, "/webhooks/", "/admin/")
	ing := m.ingresses["shop-webhook-receiver"]
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || len(ing.Spec.TLS) != 1 ||
		ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"] != "5m" {
		t.Errorf("ingress %+v", ing)
	}
	sm := checkServiceMonitor(t, m, "metrics", svc)
	if sm.Labels["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v lack release: prometheus", sm.Labels)
	}
}

func TestPostgreSQL(t *testing.T) {
	m := render(t, []string{"postgresql.yaml"})
	const url = "postgres://webhooks:pa55word@postgres.db.svc:5432/webhooks?sslmode=require"
	d := only(t, m.deployments, "shop-webhook-receiver")
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas %d, want 3", *d.Spec.Replicas)
	}
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy %+v, want RollingUpdate", d.Spec.Strategy)
	}
	if len(m.claims) != 0 {
		t.Errorf("claims %v: PostgreSQL needs no volume", keys(m.claims))
	}
	serve := checkPod(t, m, d, "serve")
	if v := volume(t, d.Spec.Template.Spec, "data"); v.EmptyDir == nil {
		t.Errorf("data volume %+v, want an emptyDir (scratch space)", v)
	}
	if d.Spec.Template.Spec.ImagePullSecrets[0].Name != "registry-credentials" || serve.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("pull secrets %v, policy %s", d.Spec.Template.Spec.ImagePullSecrets, serve.ImagePullPolicy)
	}

	// The URL is in the chart's Secret; serve and worker read it there.
	secret := only(t, m.secrets, "shop-webhook-receiver")
	if got := string(secret.Data["database-url"]); got != url {
		t.Errorf("Secret database-url %q, want %q", got, url)
	}
	checkSecretRef(t, serve, "WEBHOOK_RECEIVER_DATABASE_URL", secret.Name, "database-url")
	checkSecretRef(t, serve, "WEBHOOK_RECEIVER_OAUTH2_SECRET", "lms-credentials", "oauth2-secret")
	checkConfigMount(t, d.Spec.Template.Spec, serve, "webhook-receiver-shops", "shops.yaml")

	// serve takes webhooks only; the worker Deployment enrolls.
	env := envOf(serve)
	if env["WEBHOOK_RECEIVER_WORKERS"].Value != "0" || env["WEBHOOK_RECEIVER_LMS_RATE_LIMIT"].Value != "2" ||
		env["WEBHOOK_RECEIVER_DATABASE_MAX_CONNS"].Value != "5" {
		t.Errorf("serve env %+v", serve.Env)
	}
	if _, ok := env["WEBHOOK_RECEIVER_METRICS_LISTEN"]; ok {
		t.Error("WEBHOOK_RECEIVER_METRICS_LISTEN set with metrics.port 0")
	}
	w := only(t, m.deployments, "shop-webhook-receiver-worker")
	if *w.Spec.Replicas != 2 {
		t.Errorf("worker replicas %d, want 2", *w.Spec.Replicas)
	}
	worker := checkPod(t, m, w, "worker")
	wenv := envOf(worker)
	if wenv["WEBHOOK_RECEIVER_WORKERS"].Value != "8" || wenv["WEBHOOK_RECEIVER_LMS_RATE_LIMIT"].Value != "1" ||
		wenv["WEBHOOK_RECEIVER_LMS_BASE_URL"].Value != "https://lms.example.com" {
		t.Errorf("worker env %+v", worker.Env)
	}
	if worker.Resources.Limits.Memory().String() != "512Mi" {
		t.Errorf("worker resources %+v", worker.Resources)
	}
	checkSecretRef(t, worker, "WEBHOOK_RECEIVER_DATABASE_URL", secret.Name, "database-url")
	checkConfigMount(t, w.Spec.Template.Spec, worker, "webhook-receiver-shops", "shops.yaml")

	svc := only(t, m.services, "shop-webhook-receiver")
	checkSelects(t, svc, d)
	if selects(svc, w) {
		t.Errorf("Service %s selects the worker pods: webhooks would reach them", svc.Name)
	}
	wsvc := only(t, m.services, "shop-webhook-receiver-worker")
	checkSelects(t, wsvc, w)
	checkIngress(t, m, svc, "/webhooks/")
	checkServiceMonitor(t, m, "http", svc, wsvc)

	// The migration: a hook Job before install and upgrade, reading the URL
	// from a hook Secret created just before it.
	job := checkMigrationJob(t, m)
	hookSecret := only(t, m.secrets, "shop-webhook-receiver-migrate")
	if got := string(hookSecret.Data["database-url"]); got != url {
		t.Errorf("hook Secret database-url %q, want %q", got, url)
	}
	if hookSecret.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" ||
		weight(t, hookSecret.ObjectMeta) >= weight(t, job.ObjectMeta) ||
		!strings.Contains(hookSecret.Annotations["helm.sh/hook-delete-policy"], "hook-succeeded") {
		t.Errorf("hook Secret annotations %v: it must be a hook created before the Job and deleted after", hookSecret.Annotations)
	}
	jc := job.Spec.Template.Spec.Containers[0]
	checkSecretRef(t, jc, "WEBHOOK_RECEIVER_DATABASE_URL", hookSecret.Name, "database-url")
	if envOf(jc)["WEBHOOK_RECEIVER_LOG_FORMAT"].Value != "json" {
		t.Errorf("migration env %+v lacks the log format", jc.Env)
	}
	if _, ok := envOf(jc)["WEBHOOK_RECEIVER_OAUTH2_SECRET"]; ok {
		t.Error("the migration Job gets the LMS secret: it needs the database only")
	}
}

// With the URL in a Secret of the operator's, serve, worker and the
// migration read it there, and the chart stores no copy.
func TestPostgreSQLExistingSecret(t *testing.T) {
	m := render(t, []string{"postgresql.yaml"}, "database.url=", "database.existingSecret=pg", "database.existingSecretKey=url")
	if len(m.secrets) != 0 {
		t.Errorf("secrets %v rendered: nothing is left for the chart to store", keys(m.secrets))
	}
	for _, name := range []string{"shop-webhook-receiver", "shop-webhook-receiver-worker"} {
		d := only(t, m.deployments, name)
		checkSecretRef(t, d.Spec.Template.Spec.Containers[0], "WEBHOOK_RECEIVER_DATABASE_URL", "pg", "url")
	}
	job := checkMigrationJob(t, m)
	checkSecretRef(t, job.Spec.Template.Spec.Containers[0], "WEBHOOK_RECEIVER_DATABASE_URL", "pg", "url")

	// migration.enabled=false: no hook; serve and worker migrate at start.
	m = render(t, []string{"postgresql.yaml"}, "migration.enabled=false")
	if len(m.jobs) != 0 || m.secrets["shop-webhook-receiver-migrate"] != nil {
		t.Errorf("jobs %v, secrets %v with migration.enabled=false", keys(m.jobs), keys(m.secrets))
	}
}

// The chart's defaults render an installable SQLite release.
func TestDefaults(t *testing.T) {
	m := render(t, nil)
	d := only(t, m.deployments, "shop-webhook-receiver")
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "webhook-receiver:0.1.0" {
		t.Errorf("image %s, want the chart's appVersion as tag", c.Image)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || len(m.claims) != 1 || len(m.secrets) != 0 ||
		len(m.jobs) != 0 || len(m.ingresses) != 0 || len(m.serviceMonitors) != 0 || m.count != 3 {
		t.Errorf("defaults render %d documents: deployments %v claims %v secrets %v jobs %v", m.count,
			keys(m.deployments), keys(m.claims), keys(m.secrets), keys(m.jobs))
	}
	checkSelects(t, only(t, m.services, "shop-webhook-receiver"), d)
}

// helm install --dry-run=client: Helm takes the migration Job and its
// Secret as hooks (PostgreSQL only), the rest as the release's manifest,
// and renders the notes.
func TestInstallDryRun(t *testing.T) {
	for _, tc := range []struct {
		file, hooks, url string
	}{
		{"sqlite.yaml", "", "https://webhooks.example.com/webhooks/shopify/order/create"},
		{"postgresql.yaml", "shop-webhook-receiver-migrate shop-webhook-receiver-migrate", "http://webhooks.example.com/webhooks/shopify/order/create"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out, err := runHelm(t, append([]string{"install", release, chartDir, "--dry-run=client", "--namespace", "edx"}, valueArgs([]string{tc.file})...)...)
			if err != nil {
				t.Fatal(err)
			}
			parts := regexp.MustCompile(`(?m)^(HOOKS|MANIFEST|NOTES):$`).Split(out, -1)
			if len(parts) != 4 {
				t.Fatalf("no HOOKS, MANIFEST and NOTES in:\n%s", out)
			}
			hooks, manifest, notes := parts[1], parts[2], parts[3]
			h := decode(t, hooks)
			var names []string
			for name := range h.secrets {
				names = append(names, name)
			}
			for name := range h.jobs {
				names = append(names, name)
			}
			if got := strings.Join(names, " "); got != tc.hooks || h.count != len(names) {
				t.Errorf("hooks %q (%d documents), want %q", got, h.count, tc.hooks)
			}
			if m := decode(t, manifest); len(m.jobs) != 0 || m.secrets["shop-webhook-receiver-migrate"] != nil {
				t.Errorf("the migration is in the release's manifest, not a hook")
			}
			for _, want := range []string{tc.url, "kubectl -n edx exec deploy/shop-webhook-receiver -- /webhook-receiver check"} {
				if !strings.Contains(notes, want) {
					t.Errorf("notes lack %q:\n%s", want, notes)
				}
			}
		})
	}
}

// A claim of the operator's replaces the chart's.
func TestExistingClaim(t *testing.T) {
	m := render(t, nil, "persistence.existingClaim=webhooks-data")
	if len(m.claims) != 0 {
		t.Errorf("claims %v rendered beside an existing claim", keys(m.claims))
	}
	d := only(t, m.deployments, "shop-webhook-receiver")
	if v := volume(t, d.Spec.Template.Spec, "data"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "webhooks-data" {
		t.Errorf("data volume %+v, want the claim webhooks-data", v)
	}
}

// Every variable the pods get is a setting of the service: one the README's
// configuration table (generated from internal/config) lists. A renamed
// setting would otherwise be ignored with a warning in the pod's log.
func TestSettingNames(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, name := range regexp.MustCompile("`(WEBHOOK_RECEIVER_[A-Z0-9_]+)`").FindAllStringSubmatch(string(readme), -1) {
		known[name[1]] = true
	}
	if !known["WEBHOOK_RECEIVER_DATABASE_URL"] {
		t.Fatal("the README lists no settings")
	}
	for _, files := range [][]string{{"sqlite.yaml"}, {"postgresql.yaml"}} {
		m := render(t, files)
		var specs []corev1.PodSpec
		for _, d := range m.deployments {
			specs = append(specs, d.Spec.Template.Spec)
		}
		for _, j := range m.jobs {
			specs = append(specs, j.Spec.Template.Spec)
		}
		for _, spec := range specs {
			for _, c := range spec.Containers {
				for _, e := range c.Env {
					if !known[e.Name] {
						t.Errorf("%s: %s is not a setting in the README's configuration table", files[0], e.Name)
					}
				}
			}
		}
	}
}

// A configuration file given whole (--set-file) is stored as it is, not
// re-encoded, and mounted.
func TestConfigFile(t *testing.T) {
	out, err := runHelm(t, "template", release, chartDir, "--set-file", "config.content=testdata/shops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m := decode(t, out)
	want, err := os.ReadFile("testdata/shops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	secret := only(t, m.secrets, "shop-webhook-receiver")
	if got := secret.Data["config.yaml"]; !bytes.Equal(got, want) {
		t.Errorf("config.yaml %q, want %q", got, want)
	}
	d := only(t, m.deployments, "shop-webhook-receiver")
	checkConfigMount(t, d.Spec.Template.Spec, d.Spec.Template.Spec.Containers[0], secret.Name, "config.yaml")
}

// Values that cannot work stop the rendering with a message that says
// what to change.
func TestRenderFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		sets  []string
		want  string
	}{
		{"sqlite with 2 replicas", []string{"sqlite.yaml"}, []string{"replicas=2"},
			"replicas is 2 but the database is SQLite, which serves one process: keep replicas at 1, or use PostgreSQL"},
		{"sqlite with a worker", nil, []string{"worker.enabled=true"}, "worker.enabled needs PostgreSQL"},
		{"postgresql without a URL", nil, []string{"database.engine=postgresql"},
			"database.engine is postgresql but no database URL is given"},
		{"postgresql URL with engine sqlite", nil, []string{"database.url=postgres://u@db/x"},
			"database.url is not a sqlite: URL but database.engine is sqlite"},
		{"sqlite URL with engine postgresql", nil, []string{"database.engine=postgresql", "database.url=sqlite:x.db"},
			"database.url must be a postgres:// URL"},
		{"unknown engine", nil, []string{"database.engine=mysql"}, `database.engine must be sqlite or postgresql, got "mysql"`},
		{"URL twice", []string{"postgresql.yaml"}, []string{"database.existingSecret=pg"},
			"database.url and database.existingSecret are both set"},
		{"database URL in env", nil, []string{"env.WEBHOOK_RECEIVER_DATABASE_URL=sqlite:x.db"},
			"env.WEBHOOK_RECEIVER_DATABASE_URL is set by the chart"},
		{"workers in env with a worker", []string{"postgresql.yaml"}, []string{"env.WEBHOOK_RECEIVER_WORKERS=2"},
			"env.WEBHOOK_RECEIVER_WORKERS is set by the chart"},
		{"a setting twice", []string{"sqlite.yaml"}, []string{"env.WEBHOOK_RECEIVER_OAUTH2_SECRET=x"},
			"WEBHOOK_RECEIVER_OAUTH2_SECRET is set in both env and secrets"},
		{"config twice", []string{"sqlite.yaml"}, []string{"config.existingSecret=shops"},
			"config.content and config.existingSecret are both set"},
		{"secretEnv without a key", nil, []string{"secretEnv.WEBHOOK_RECEIVER_OAUTH2_SECRET.name=lms"},
			"secretEnv.WEBHOOK_RECEIVER_OAUTH2_SECRET must be {name: <Secret>, key: <key>}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runHelm(t, append([]string{"template", release, chartDir}, valueArgs(tc.files, tc.sets...)...)...)
			if err == nil {
				t.Fatalf("rendered:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not say %q:\n%v", tc.want, err)
			}
		})
	}
}

// checkPod asserts what every serve and worker pod must have and returns
// its container.
func checkPod(t *testing.T, m *manifests, d *appsv1.Deployment, command string) corev1.Container {
	t.Helper()
	spec := d.Spec.Template.Spec
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("%s: selector %v does not match its pod labels %v (%v)", d.Name, d.Spec.Selector, d.Spec.Template.Labels, err)
	}
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
		t.Fatalf("%s: containers %d, init containers %d, want 1 and 0", d.Name, len(spec.Containers), len(spec.InitContainers))
	}
	c := spec.Containers[0]
	if !slices.Equal(c.Args, []string{command}) || len(c.Command) != 0 {
		t.Errorf("%s: command %q args %q, want the image's entrypoint with %q", d.Name, c.Command, c.Args, command)
	}
	if want := image; c.Image != want && c.Image != "webhook-receiver:0.1.0" {
		t.Errorf("%s: image %s, want %s", d.Name, c.Image, want)
	}
	if len(c.Ports) == 0 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8000 {
		t.Errorf("%s: ports %+v, want http on 8000", d.Name, c.Ports)
	}
	if envOf(c)["WEBHOOK_RECEIVER_LISTEN"].Value != ":8000" {
		t.Errorf("%s: WEBHOOK_RECEIVER_LISTEN %+v, want :8000", d.Name, envOf(c)["WEBHOOK_RECEIVER_LISTEN"])
	}
	checkProbe(t, d.Name+" startup", c.StartupProbe, "/healthz")
	checkProbe(t, d.Name+" liveness", c.LivenessProbe, "/healthz")
	checkProbe(t, d.Name+" readiness", c.ReadinessProbe, "/readyz")
	checkSecurity(t, d.Name, spec.SecurityContext, c.SecurityContext)
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted: the service needs no API access", d.Name)
	}
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Errorf("%s: service links on: WEBHOOK_RECEIVER_PORT and the like would be warned about as unknown settings", d.Name)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: no memory limit", d.Name)
	}
	mount := mountOf(t, c, "data")
	if mount.MountPath != dataDir || mount.ReadOnly {
		t.Errorf("%s: data mounted %+v, want %s writable (database, TMPDIR)", d.Name, mount, dataDir)
	}
	volume(t, spec, "data")
	checkScratch(t, d.Name, spec, c)
	checkEnvRefs(t, m, d.Name, c)
	return c
}

// checkScratch: /tmp is a writable emptyDir, the root filesystem being
// read-only.
func checkScratch(t *testing.T, what string, spec corev1.PodSpec, c corev1.Container) {
	t.Helper()
	if m := mountOf(t, c, "tmp"); m.MountPath != "/tmp" || m.ReadOnly || volume(t, spec, "tmp").EmptyDir == nil {
		t.Errorf("%s: /tmp is not a writable emptyDir (%+v)", what, m)
	}
}

func checkProbe(t *testing.T, what string, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s probe: %+v, want GET %s", what, p, path)
		return
	}
	if p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" || p.PeriodSeconds == 0 {
		t.Errorf("%s probe: %+v, want GET %s on port http", what, p.ProbeHandler.HTTPGet, path)
	}
}

func checkSecurity(t *testing.T, what string, pod *corev1.PodSecurityContext, c *corev1.SecurityContext) {
	t.Helper()
	if pod == nil || c == nil {
		t.Fatalf("%s: security contexts %v %v", what, pod, c)
	}
	if !isTrue(pod.RunAsNonRoot) || val(pod.RunAsUser) != 65532 || val(pod.FSGroup) != 65532 ||
		pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod security context %+v", what, pod)
	}
	if !isTrue(c.RunAsNonRoot) || val(c.RunAsUser) != 65532 || !isTrue(c.ReadOnlyRootFilesystem) ||
		c.AllowPrivilegeEscalation == nil || *c.AllowPrivilegeEscalation ||
		c.Capabilities == nil || !slices.Equal(c.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(c.Capabilities.Add) != 0 ||
		c.SeccompProfile == nil || c.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: container security context %+v", what, c)
	}
}

// checkEnvRefs: no variable twice, and every Secret of the chart that a
// variable names holds its key.
func checkEnvRefs(t *testing.T, m *manifests, what string, c corev1.Container) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range c.Env {
		if seen[e.Name] {
			t.Errorf("%s: %s set twice", what, e.Name)
		}
		seen[e.Name] = true
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			continue
		}
		ref := e.ValueFrom.SecretKeyRef
		if s, ok := m.secrets[ref.Name]; ok {
			if _, ok := s.Data[ref.Key]; !ok {
				t.Errorf("%s: %s reads key %s of Secret %s, which has keys %v", what, e.Name, ref.Key, ref.Name, keys(s.Data))
			}
			if s.Annotations["helm.sh/hook"] != "" && !strings.HasSuffix(ref.Name, "-migrate") {
				t.Errorf("%s: %s reads hook Secret %s", what, e.Name, ref.Name)
			}
		}
	}
}

func checkSecretRef(t *testing.T, c corev1.Container, name, secret, key string) {
	t.Helper()
	e, ok := envOf(c)[name]
	if !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Name != secret || e.ValueFrom.SecretKeyRef.Key != key || e.Value != "" {
		t.Errorf("%s: %s = %+v, want key %s of Secret %s", c.Name, name, e, key, secret)
	}
}

// checkConfigMount: WEBHOOK_RECEIVER_CONFIG names the file that the
// Secret's key is mounted as, read-only.
func checkConfigMount(t *testing.T, spec corev1.PodSpec, c corev1.Container, secret, key string) {
	t.Helper()
	mount := mountOf(t, c, "config")
	if got, want := envOf(c)["WEBHOOK_RECEIVER_CONFIG"].Value, mount.MountPath+"/config.yaml"; got != want || !mount.ReadOnly {
		t.Errorf("%s: WEBHOOK_RECEIVER_CONFIG %q, want %q, mounted read-only (%+v)", c.Name, got, want, mount)
	}
	v := volume(t, spec, "config")
	if v.Secret == nil || v.Secret.SecretName != secret || len(v.Secret.Items) != 1 ||
		v.Secret.Items[0].Key != key || v.Secret.Items[0].Path != "config.yaml" {
		t.Errorf("%s: config volume %+v, want key %s of Secret %s as config.yaml", c.Name, v, key, secret)
	}
}

func checkMigrationJob(t *testing.T, m *manifests) *batchv1.Job {
	t.Helper()
	job := only(t, m.jobs, "shop-webhook-receiver-migrate")
	a := job.Annotations
	if a["helm.sh/hook"] != "pre-install,pre-upgrade" {
		t.Errorf("migration Job hook %q, want pre-install,pre-upgrade", a["helm.sh/hook"])
	}
	if p := a["helm.sh/hook-delete-policy"]; !strings.Contains(p, "before-hook-creation") || !strings.Contains(p, "hook-succeeded") {
		t.Errorf("migration Job delete policy %q", p)
	}
	weight(t, job.ObjectMeta)
	spec := job.Spec.Template.Spec
	if len(spec.Containers) != 1 || !slices.Equal(spec.Containers[0].Args, []string{"migrate"}) {
		t.Fatalf("migration Job containers %+v, want one running migrate", spec.Containers)
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever || job.Spec.BackoffLimit == nil || job.Spec.ActiveDeadlineSeconds == nil {
		t.Errorf("migration Job: restart %s, backoff %v, deadline %v", spec.RestartPolicy, job.Spec.BackoffLimit, job.Spec.ActiveDeadlineSeconds)
	}
	c := spec.Containers[0]
	checkSecurity(t, job.Name, spec.SecurityContext, c.SecurityContext)
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: the service account token is mounted", job.Name)
	}
	if v := volume(t, spec, "data"); mountOf(t, c, "data").MountPath != dataDir || v.EmptyDir == nil {
		t.Errorf("%s: no writable %s on the read-only root", job.Name, dataDir)
	}
	checkScratch(t, job.Name, spec, c)
	checkEnvRefs(t, m, job.Name, c)
	return job
}

func weight(t *testing.T, meta metav1.ObjectMeta) int {
	t.Helper()
	var w int
	if _, err := fmt.Sscan(meta.Annotations["helm.sh/hook-weight"], &w); err != nil {
		t.Errorf("%s: hook weight %q: %v", meta.Name, meta.Annotations["helm.sh/hook-weight"], err)
	}
	return w
}

func selects(svc *corev1.Service, d *appsv1.Deployment) bool {
	return len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels))
}

func checkSelects(t *testing.T, svc *corev1.Service, d *appsv1.Deployment) {
	t.Helper()
	if !selects(svc, d) {
		t.Errorf("Service %s selector %v does not select the pods of %s (%v)", svc.Name, svc.Spec.Selector, d.Name, d.Spec.Template.Labels)
	}
	for _, p := range svc.Spec.Ports {
		if !slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.TargetPort.String() }) {
			t.Errorf("Service %s port %s targets %s, which the pods of %s do not name", svc.Name, p.Name, p.TargetPort.String(), d.Name)
		}
	}
}

func checkIngress(t *testing.T, m *manifests, svc *corev1.Service, paths ...string) {
	t.Helper()
	ing := only(t, m.ingresses, "shop-webhook-receiver")
	var got []string
	for _, r := range ing.Spec.Rules {
		if r.Host != "webhooks.example.com" || r.HTTP == nil {
			t.Errorf("ingress rule %+v", r)
			continue
		}
		for _, p := range r.HTTP.Paths {
			got = append(got, p.Path)
			b := p.Backend.Service
			if b == nil || b.Name != svc.Name || !hasPort(svc, b.Port.Name) || p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
				t.Errorf("ingress path %s: backend %+v, want port http of Service %s, Prefix", p.Path, p.Backend, svc.Name)
			}
		}
	}
	if !slices.Equal(got, paths) {
		t.Errorf("ingress paths %v, want %v: /metrics must not be routed", got, paths)
	}
}

func checkServiceMonitor(t *testing.T, m *manifests, port string, svcs ...*corev1.Service) *monitoringv1.ServiceMonitor {
	t.Helper()
	sm := only(t, m.serviceMonitors, "shop-webhook-receiver")
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	var selected []string
	for _, svc := range m.services {
		if sel.Matches(labels.Set(svc.Labels)) {
			selected = append(selected, svc.Name)
		}
	}
	slices.Sort(selected)
	var want []string
	for _, svc := range svcs {
		want = append(want, svc.Name)
		if !hasPort(svc, port) {
			t.Errorf("Service %s has no port %s to scrape", svc.Name, port)
		}
	}
	slices.Sort(want)
	if !slices.Equal(selected, want) {
		t.Errorf("ServiceMonitor selects Services %v, want %v", selected, want)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != port || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v, want /metrics on port %s", sm.Spec.Endpoints, port)
	}
	return sm
}

func hasPort(svc *corev1.Service, name string) bool {
	return slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == name })
}

func only[T any](t *testing.T, objs map[string]*T, name string) *T {
	t.Helper()
	o, ok := objs[name]
	if !ok {
		t.Fatalf("no %T named %s among %v", o, name, keys(objs))
	}
	return o
}

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	return env
}

func mountOf(t *testing.T, c corev1.Container, name string) corev1.VolumeMount {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.Name == name {
			return m
		}
	}
	t.Errorf("%s: no volume mount %s", c.Name, name)
	return corev1.VolumeMount{}
}

func volume(t *testing.T, spec corev1.PodSpec, name string) corev1.Volume {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Errorf("no volume %s", name)
	return corev1.Volume{}
}

func keys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for name := range m {
		k = append(k, name)
	}
	slices.Sort(k)
	return k
}

func isTrue(b *bool) bool { return b != nil && *b }

func val(i *int64) int64 {
	if i == nil {
		return -1
	}
	return *i
}
