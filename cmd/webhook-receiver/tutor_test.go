package main_test

import (
	"bufio"
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"go.yaml.in/yaml/v3"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// The Tutor plugin (deploy/tutor) is tested with the real Tutor: the test
// installs the plugin package, enables it on a Tutor project holding the
// old plugin's settings, and reads what Tutor renders. Docker is not
// available here: a stand-in "docker" on PATH records what Tutor would run.

// tutorEnv is what every Tutor command of a test runs with.
type tutorEnv struct {
	tutor, root, site, dockerLog string
	path                         string // PATH, with the stand-in docker first
}

// needTutor finds Tutor (WEBHOOK_RECEIVER_TUTOR, the tutor script of
// ../shared/tutor; .ci/run sets it) and installs the plugin package from
// deploy/tutor where Tutor's Python finds it. It skips when something is
// missing, and fails instead under CI=true.
func needTutor(t *testing.T) tutorEnv {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (skipped; this fails under CI=true)")
	}
	tutor := os.Getenv("WEBHOOK_RECEIVER_TUTOR")
	if tutor == "" {
		missing("WEBHOOK_RECEIVER_TUTOR is not set: point it at the tutor script of a Tutor 21 source tree (../shared/tutor/tutor)")
	}
	if _, err := os.Stat(tutor); err != nil {
		missing("WEBHOOK_RECEIVER_TUTOR: %v", err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := tutorEnv{tutor: tutor, site: filepath.Join(dir, "site"), dockerLog: filepath.Join(dir, "docker.log"),
		path: filepath.Join(dir, "bin") + string(os.PathListSeparator) + os.Getenv("PATH")}

	// pip builds in the source folder: build from a copy.
	src := filepath.Join(dir, "src")
	if out, err := exec.Command("cp", "-r", filepath.Join(repo, "deploy", "tutor"), src).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	// Tutor's script runs Debian's Python; install with the same one.
	pip := exec.Command("/usr/bin/python3", "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
		"--no-index", "--disable-pip-version-check", "--target", e.site, src)
	if out, err := pip.CombinedOutput(); err != nil {
		if bytes.Contains(out, []byte("No module named pip")) || bytes.Contains(out, []byte("No module named setuptools")) {
			missing("installing the plugin needs Debian's python3-pip, python3-setuptools and python3-wheel: %s", out)
		}
		t.Fatalf("pip install deploy/tutor: %v\n%s", err, out)
	}

	// The stand-in docker: records its arguments, one JSON list a line.
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	fake := "#!/usr/bin/python3\nimport json, os, sys\n" +
		"with open(os.environ['FAKE_DOCKER_LOG'], 'a') as f:\n    f.write(json.dumps(sys.argv[1:]) + '\\n')\n" +
		"if 'ls' in sys.argv:\n    print('[]')\n"
	if err := os.WriteFile(filepath.Join(dir, "bin", "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	e.root = filepath.Join(dir, "root")
	if err := os.Mkdir(e.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := e.run("plugins", "list"); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 3 { // the script's "missing Python modules"
			missing("Tutor cannot run: %s", out)
		}
		t.Fatalf("tutor plugins list: %v\n%s", err, out)
	} else if !regexp.MustCompile(`(?m)^webhookreceiver\s`).MatchString(out) {
		t.Fatalf("tutor does not list the installed plugin:\n%s", out)
	}
	return e
}

// run runs one Tutor command and returns its output.
func (e tutorEnv) run(args ...string) (string, error) {
	cmd := exec.Command(e.tutor, args...)
	cmd.Env = append(os.Environ(), "TUTOR_ROOT="+e.root, "TUTOR_PLUGINS_ROOT="+filepath.Join(e.root, "plugins"),
		"PYTHONPATH="+e.site, "PATH="+e.path, "FAKE_DOCKER_LOG="+e.dockerLog)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (e tutorEnv) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := e.run(args...)
	if err != nil {
		t.Fatalf("tutor %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// value prints one setting (the last line: Tutor warns on the first when
// run as root).
func (e tutorEnv) value(t *testing.T, key string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(e.must(t, "config", "printvalue", key)), "\n")
	return lines[len(lines)-1]
}

// docker returns the docker commands Tutor ran since the last call.
func (e tutorEnv) docker(t *testing.T) [][]string {
	t.Helper()
	data, err := os.ReadFile(e.dockerLog)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	os.Remove(e.dockerLog)
	var cmds [][]string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var args []string
		if err := json.Unmarshal(sc.Bytes(), &args); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, args)
	}
	return cmds
}

// file parses one rendered YAML file of the Tutor project (several
// documents for the Kubernetes files).
func (e tutorEnv) file(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(e.root, "env", path))
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s is not YAML: %v", path, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// object returns the Kubernetes object of this kind and name.
func object(t *testing.T, docs []map[string]any, kind, name string) map[string]any {
	t.Helper()
	for _, d := range docs {
		if d["kind"] == kind && get(d, "metadata", "name") == name {
			return d
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// get walks maps and lists: get(doc, "spec", "containers", 0, "image").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	for k, x := range v.(map[string]any) {
		out[k] = fmt.Sprint(x)
	}
	return out
}

// oldConfigFormat is a config.yml of a Tutor project that ran the Django app with
// tutor-contrib-webhook-receiver: its settings as `tutor config save --set`
// and the generated secrets store them. The OAuth2 client is the fake LMS's;
// the old app's database is a MariaDB database of the test (%[1]s, user
// %[2]s).
const oldConfigFormat = `LMS_HOST: lms.example.com
MYSQL_HOST: 127.0.0.1
MYSQL_PORT: 3306
CMS_HOST: studio.lms.example.com
ENABLE_HTTPS: true
PLUGINS:
- webhookreceiver
WEBHOOKRECEIVER_DB_PASSWORD: p@ss/w:rd
WEBHOOKRECEIVER_DJANGO_SECRET_KEY: oldDjangoSecretKey
WEBHOOKRECEIVER_EDX_OAUTH2_KEY: test-client
WEBHOOKRECEIVER_EDX_OAUTH2_SECRET: test-secret
WEBHOOKRECEIVER_HOST: hooks.example.com
WEBHOOKRECEIVER_LMS_ROOT_URL: https://lms.example.com
WEBHOOKRECEIVER_SHOPIFY_SHOP_DOMAIN: bin.myshopify.com
WEBHOOKRECEIVER_SHOPIFY_API_KEY: bin$secret
WEBHOOKRECEIVER_WOOCOMMERCE_SOURCE: https://shop.example.com/
WEBHOOKRECEIVER_WOOCOMMERCE_SECRET: "w$o'o \"secret"
WEBHOOKRECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT: true
WEBHOOKRECEIVER_DJANGO_LOG_LEVEL: WARNING
WEBHOOKRECEIVER_DOCKER_IMAGE: registry.example.com/webhook-receiver:1
WEBHOOKRECEIVER_DB_NAME: %[1]s
WEBHOOKRECEIVER_DB_USER: %[2]s
WEBHOOKRECEIVER_DB_MIGRATION_OPTIONS: {}
WEBHOOKRECEIVER_REPOSITORY: https://github.com/cleura/webhook-receiver.git
WEBHOOKRECEIVER_REVISION: main
WEBHOOKRECEIVER_BASE_IMAGE: docker.io/python:3.11
WEBHOOKRECEIVER_VERSION: 3.4.0
`

// TestTutorPluginReplacesTheOldOne enables the plugin on a project holding
// the old plugin's settings and checks, in every file Tutor renders, that
// they carried over; then runs the init tasks as Tutor starts them and the
// service with the environment its compose service gets, and enrolls.
func TestTutorPluginReplacesTheOldOne(t *testing.T) {
	e := needTutor(t)
	repo, _ := filepath.Abs("../..")
	name, user := oldDjangoDatabase(t, "p@ss/w:rd")
	oldConfig := fmt.Sprintf(oldConfigFormat, name, user)
	if err := os.WriteFile(filepath.Join(e.root, "config.yml"), []byte(oldConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	e.must(t, "plugins", "enable", "webhookreceiver")
	e.must(t, "config", "save",
		"--set", `WEBHOOKRECEIVER_CONFIG={"shopify": [{"shop_domain": "second.myshopify.com", "secrets": ["second-secret"]}]}`,
		"--set", "WEBHOOKRECEIVER_BUILD_CONTEXT="+repo)

	// config.yml keeps every old value, ignored ones included (the import
	// from the old database reads them).
	var saved map[string]any
	data, err := os.ReadFile(filepath.Join(e.root, "config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	var old map[string]any
	if err := yaml.Unmarshal([]byte(oldConfig), &old); err != nil {
		t.Fatal(err)
	}
	for k, v := range old {
		if !reflect.DeepEqual(saved[k], v) {
			t.Errorf("config.yml %s = %#v after config save, was %#v", k, saved[k], v)
		}
	}

	// The environment both the service and its job get, in compose and in
	// Kubernetes: the old settings under our names.
	want := map[string]string{
		"WEBHOOK_RECEIVER_DATABASE_URL":                "sqlite:/var/lib/webhook-receiver/webhook-receiver.db",
		"WEBHOOK_RECEIVER_LMS_BASE_URL":                "https://lms.example.com",
		"WEBHOOK_RECEIVER_OAUTH2_KEY":                  "test-client",
		"WEBHOOK_RECEIVER_OAUTH2_SECRET":               "test-secret",
		"WEBHOOK_RECEIVER_AUTO_ENROLL":                 "true",
		"WEBHOOK_RECEIVER_SEND_ENROLLMENT_EMAIL":       "true",
		"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN":         "bin.myshopify.com",
		"WEBHOOK_RECEIVER_SHOPIFY_SECRET":              "bin$secret",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE":          "https://shop.example.com/",
		"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET":          `w$o'o "secret`,
		"WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT": "true",
		"WEBHOOK_RECEIVER_LOG_LEVEL":                   "warn",
		"WEBHOOK_RECEIVER_TRUSTED_PROXIES":             "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16",
		"WEBHOOK_RECEIVER_CONFIG":                      "/etc/webhook-receiver/config.yml",
		"TMPDIR":                                       "/tmp", // a tmpfs, an emptyDir in Kubernetes
	}
	// docker compose reads "$$" as "$".
	composeEnv := func(service map[string]any) map[string]string {
		env := stringMap(service["environment"])
		for k, v := range env {
			env[k] = strings.ReplaceAll(v, "$$", "$")
		}
		return env
	}
	const image = "registry.example.com/webhook-receiver:1"
	compose := e.file(t, "local/docker-compose.yml")[0]
	service, _ := get(compose, "services", "webhookreceiver").(map[string]any)
	if service == nil {
		t.Fatal("docker-compose.yml has no webhookreceiver service")
	}
	if diff := mapDiff(want, composeEnv(service)); diff != "" {
		t.Errorf("compose service environment:\n%s", diff)
	}
	if service["image"] != image || service["read_only"] != true || fmt.Sprint(service["tmpfs"]) != "[/tmp]" || service["ports"] != nil {
		t.Errorf("compose service: image %v, read_only %v, tmpfs %v, ports %v; want %s, true, [/tmp], none (Caddy routes to it)",
			service["image"], service["read_only"], service["tmpfs"], service["ports"], image)
	}
	volumes := strs(service["volumes"])
	for _, v := range []string{"../../data/webhookreceiver:/var/lib/webhook-receiver:z",
		"../plugins/webhookreceiver/apps/config.yml:/etc/webhook-receiver/config.yml:ro"} {
		if !slices.Contains(volumes, v) {
			t.Errorf("compose service volumes %q lack %q", volumes, v)
		}
	}
	if v := strs(get(compose, "services", "permissions", "volumes")); !slices.Contains(v, "../../data/webhookreceiver:/mounts/webhookreceiver:z") {
		t.Errorf("the permissions service does not own the data folder: %q", v)
	}
	setowners, err := os.ReadFile(filepath.Join(e.root, "env", "apps", "permissions", "setowners.sh"))
	if err != nil || !strings.Contains(string(setowners), "setowner 65532 /mounts/webhookreceiver") {
		t.Errorf("setowners.sh does not give the data folder to the image's user 65532 (%v):\n%s", err, setowners)
	}
	job, _ := get(e.file(t, "local/docker-compose.jobs.yml")[0], "services", "webhookreceiver-job").(map[string]any)
	if job == nil {
		t.Fatal("docker-compose.jobs.yml has no webhookreceiver-job service")
	}
	if diff := mapDiff(want, composeEnv(job)); diff != "" {
		t.Errorf("compose job environment:\n%s", diff)
	}
	if got := strs(job["entrypoint"]); !slices.Equal(got, []string{"/webhook-receiver", "script"}) || job["image"] != image {
		t.Errorf("compose job: entrypoint %q, image %v", got, job["image"])
	}
	if got := fmt.Sprint(job["depends_on"]); got != "[mysql]" { // the old database, imported by the init task
		t.Errorf("compose job: depends_on %s, want [mysql]", got)
	}

	// Kubernetes: the same environment from a Secret; SQLite: one replica,
	// Recreate, a volume claim.
	deployments := e.file(t, "k8s/deployments.yml")
	if diff := mapDiff(want, stringMap(get(object(t, deployments, "Secret", "webhookreceiver-env"), "stringData"))); diff != "" {
		t.Errorf("Secret webhookreceiver-env:\n%s", diff)
	}
	var shops map[string]any
	if err := yaml.Unmarshal([]byte(get(object(t, deployments, "Secret", "webhookreceiver-config"), "stringData", "config.yml").(string)), &shops); err != nil {
		t.Fatal(err)
	}
	if got := get(shops, "shopify", 0, "shop_domain"); got != "second.myshopify.com" {
		t.Errorf("Secret webhookreceiver-config: shopify[0].shop_domain = %v", got)
	}
	d := object(t, deployments, "Deployment", "webhookreceiver")
	c := get(d, "spec", "template", "spec", "containers", 0)
	for _, check := range []struct {
		name      string
		got, want any
	}{
		{"replicas", get(d, "spec", "replicas"), 1},
		{"strategy", get(d, "spec", "strategy", "type"), "Recreate"},
		{"image", get(c, "image"), image},
		{"envFrom", get(c, "envFrom", 0, "secretRef", "name"), "webhookreceiver-env"},
		{"readiness probe", get(c, "readinessProbe", "httpGet", "path"), "/readyz"},
		{"liveness probe", get(c, "livenessProbe", "httpGet", "path"), "/healthz"},
		{"port", get(c, "ports", 0, "containerPort"), 8000},
		{"read-only root", get(c, "securityContext", "readOnlyRootFilesystem"), true},
		{"data volume", get(d, "spec", "template", "spec", "volumes", 0, "persistentVolumeClaim", "claimName"), "webhookreceiver"},
		{"data mount", get(c, "volumeMounts", 0, "mountPath"), "/var/lib/webhook-receiver"},
		{"service port", get(object(t, e.file(t, "k8s/services.yml"), "Service", "webhookreceiver"), "spec", "ports", 0, "port"), 8000},
		{"volume claim", get(object(t, e.file(t, "k8s/volumes.yml"), "PersistentVolumeClaim", "webhookreceiver"), "spec", "accessModes", 0), "ReadWriteOnce"},
	} {
		if !reflect.DeepEqual(check.got, check.want) {
			t.Errorf("Deployment webhookreceiver: %s = %#v, want %#v", check.name, check.got, check.want)
		}
	}
	k8sJob := object(t, e.file(t, "k8s/jobs.yml"), "Job", "webhookreceiver-job")
	if got := strs(get(k8sJob, "spec", "template", "spec", "containers", 0, "command")); !slices.Equal(got, []string{"/webhook-receiver", "script"}) {
		t.Errorf("Job webhookreceiver-job: command %q", got)
	}
	if got := get(k8sJob, "spec", "template", "spec", "containers", 0, "envFrom", 0, "secretRef", "name"); got != "webhookreceiver-env" {
		t.Errorf("Job webhookreceiver-job: envFrom %v", got)
	}

	// The LMS's bulk enrollment view is on.
	if got := get(e.file(t, "apps/openedx/config/lms.env.yml")[0], "FEATURES", "ENABLE_BULK_ENROLLMENT_VIEW"); got != true {
		t.Errorf("lms.env.yml FEATURES.ENABLE_BULK_ENROLLMENT_VIEW = %v", got)
	}

	// The images: built from the repository's Dockerfile, pulled and pushed
	// under WEBHOOKRECEIVER_DOCKER_IMAGE.
	e.docker(t)
	e.must(t, "images", "build", "webhookreceiver")
	e.must(t, "images", "pull", "webhookreceiver")
	e.must(t, "images", "push", "webhookreceiver")
	got := e.docker(t)
	wantDocker := [][]string{{"buildx", "build", "--tag=" + image, "--output=type=docker", "--cache-from=type=registry,ref=" + image + "-cache", repo},
		{"pull", image}, {"push", image}}
	if !reflect.DeepEqual(got, wantDocker) {
		t.Errorf("docker commands:\n got %q\nwant %q", got, wantDocker)
	}

	// The init tasks, as Tutor runs them.
	e.must(t, "local", "do", "init", "--limit", "webhookreceiver")
	tasks := map[string]string{}
	for _, cmd := range e.docker(t) {
		// compose ... run --rm [-T] SERVICE sh -e -c TASK
		if i := slices.Index(cmd, "sh"); slices.Contains(cmd, "run") && i > 0 && len(cmd) == i+4 && slices.Equal(cmd[i+1:i+3], []string{"-e", "-c"}) {
			tasks[cmd[i-1]] = cmd[i+3]
		}
	}
	checkLMSTask(t, tasks["lms-job"])
	lms := edxtest.New(t)
	bin := build(t)
	jobEnv := e.containerEnv(t, job, lms)
	task := exec.Command(bin, append(strs(job["entrypoint"])[1:], "sh", "-e", "-c", tasks["webhookreceiver-job"])...)
	task.Env = jobEnv
	out, err := task.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok   bulk enroll") ||
		!strings.Contains(string(out), "Shopify orders (bin.myshopify.com): 2 read, 2 imported, 0 here already") {
		t.Fatalf("the init task in webhookreceiver-job: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "p@ss") || strings.Contains(string(out), "p%40ss") {
		t.Errorf("the init task printed the old database's password:\n%s", out)
	}
	task = exec.Command(task.Args[0], task.Args[1:]...) // init again: the import changes nothing
	task.Env = jobEnv
	if out, err := task.CombinedOutput(); err != nil || !strings.Contains(string(out), "0 imported, 2 here already") {
		t.Fatalf("the init task, again: %v\n%s", err, out)
	}

	// The service, with the compose service's environment: webhooks signed
	// with the old shop's secret and the YAML file's shop enroll; an unpaid
	// WooCommerce order gets 402 (WOOCOMMERCE_REQUIRE_PAYMENT reached it).
	p := start(t, bin, e.containerEnv(t, service, lms))
	caddy := e.caddy(t, p.url)
	for i, shop := range []struct{ host, domain, secret string }{
		{"lms.example.com", "bin.myshopify.com", "bin$secret"},
		{"hooks.example.com", "second.myshopify.com", "second-secret"},
	} {
		email := fmt.Sprintf("learner%d@example.com", i)
		body := fmt.Sprintf(`{"id": %d, "line_items": [{"id": 1, "sku": "course-v1:Org+Bin+1", "properties": [{"name": "email", "value": %q}]}]}`, 100+i, email)
		headers := map[string]string{"X-Shopify-Shop-Domain": shop.domain, "X-Shopify-Hmac-Sha256": webhook.Sign([]byte(shop.secret), []byte(body))}
		url, host := p.url, ""
		if caddy != "" { // through Caddy, as the shop reaches it
			url, host = caddy, shop.host
		}
		if status := post(t, url, host, "/webhooks/shopify/order/create", headers, body); status != 200 {
			t.Fatalf("order from %s via %q: HTTP %d\n%s", shop.domain, host, status, p.logs)
		}
		waitEnrolled(t, lms, []string{email}, 30*time.Second)
	}
	unpaid := `{"id": 71, "date_paid_gmt": null, "line_items": []}`
	if status := post(t, p.url, "", "/webhooks/woocommerce/order/create", map[string]string{
		"X-WC-Webhook-Source": "https://shop.example.com/", "X-WC-Webhook-Signature": webhook.Sign([]byte(`w$o'o "secret`), []byte(unpaid)),
	}, unpaid); status != 402 {
		t.Errorf("unpaid WooCommerce order: HTTP %d, want 402\n%s", status, p.logs)
	}
	if caddy != "" {
		if status := post(t, caddy, "hooks.example.com", "/metrics", nil, ""); status != 404 {
			t.Errorf("GET /metrics on the webhooks host: HTTP %d, want 404", status)
		}
	}
}

// oldDjangoDatabase makes the Django app's database on the local MariaDB
// (as .ci/run starts it), with a user that has the password, holding a
// Shopify order it enrolled and one it gave up on; it returns the names of
// the database and the user. Without MariaDB the test is skipped, or fails
// under CI=true.
func oldDjangoDatabase(t *testing.T, password string) (name, user string) {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.Timeout = "root", "tcp", "127.0.0.1:3306", 5*time.Second
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	if err := admin.Ping(); err != nil {
		msg := fmt.Sprintf("MariaDB (root without a password on 127.0.0.1:3306, as .ci/run starts it) is not reachable: %v", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (skipped; this fails under CI=true)")
	}
	name = fmt.Sprintf("wr_tutor_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	user = name
	t.Cleanup(func() {
		admin.Exec("DROP DATABASE IF EXISTS " + name)
		admin.Exec(fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%', '%s'@'localhost'", user, user))
	})
	stmts := []string{"CREATE DATABASE " + name,
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s', '%s'@'localhost' IDENTIFIED BY '%s'", user, password, user, password),
		fmt.Sprintf("GRANT SELECT ON %s.* TO '%s'@'%%', '%s'@'localhost'", name, user, user),
		"USE " + name,
		`CREATE TABLE webhook_receiver_jsonwebhookdata (id integer AUTO_INCREMENT NOT NULL PRIMARY KEY, status integer NOT NULL,
			source varchar(39) NULL, received datetime(6) NOT NULL, headers text NOT NULL, body longblob NOT NULL, content text NULL)`}
	for _, p := range []string{"shopify", "woocommerce"} {
		stmts = append(stmts,
			fmt.Sprintf(`CREATE TABLE webhook_receiver_%[1]s_%[1]sorder (id bigint NOT NULL PRIMARY KEY,
				email varchar(254) NOT NULL, first_name varchar(254) NOT NULL, last_name varchar(254) NOT NULL,
				received datetime(6) NOT NULL, status integer NOT NULL,
				webhook_id integer NULL REFERENCES webhook_receiver_jsonwebhookdata (id))`, p),
			fmt.Sprintf(`CREATE TABLE webhook_receiver_%[1]s_%[1]sorderitem (id integer AUTO_INCREMENT NOT NULL PRIMARY KEY,
				sku varchar(254) NOT NULL, email varchar(254) NOT NULL, status integer NOT NULL,
				order_id bigint NOT NULL REFERENCES webhook_receiver_%[1]s_%[1]sorder (id),
				CONSTRAINT unique_%[1]s_order_sku_email UNIQUE (order_id, sku, email))`, p))
	}
	// Statuses: PROCESSED 2, ERROR -1.
	stmts = append(stmts,
		`INSERT INTO webhook_receiver_shopify_shopifyorder (id, email, first_name, last_name, received, status)
			VALUES (5001, 'buyer@example.com', 'A', 'B', '2021-03-04 05:06:07', 2), (5002, 'buyer@example.com', 'A', 'B', '2021-03-04 05:06:07', -1)`,
		`INSERT INTO webhook_receiver_shopify_shopifyorderitem (sku, email, status, order_id)
			VALUES ('course-v1:Org+Old+1', 'old@example.com', 2, 5001), ('course-v1:Org+Old+1', 'failed@example.com', -1, 5002)`)
	conn, err := admin.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range stmts {
		if _, err := conn.ExecContext(t.Context(), stmt); err != nil {
			t.Fatalf("make the old app's database: %v\n%s", err, stmt)
		}
	}
	return name, user
}

// checkLMSTask runs the LMS init task with a stand-in manage.py and checks
// the commands it ran: the staff user, then the OAuth2 application with the
// carried-over client id and secret.
func checkLMSTask(t *testing.T, task string) {
	t.Helper()
	if task == "" {
		t.Fatal("tutor local do init ran no task in lms-job")
	}
	dir := t.TempDir()
	manage := "#!/usr/bin/python3\nimport json, sys\nwith open('calls', 'a') as f:\n    f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
	if err := os.WriteFile(filepath.Join(dir, "manage.py"), []byte(manage), 0o755); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-e", "-c", task)
	sh.Dir = dir
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("lms init task: %v\n%s\n%s", err, out, task)
	}
	calls, err := os.ReadFile(filepath.Join(dir, "calls"))
	if err != nil {
		t.Fatal(err)
	}
	want := `["lms", "manage_user", "webhook_receiver_app_user", "webhook_receiver_app_user@openedx", "--staff", "--unusable-password"]
["lms", "create_dot_application", "--grant-type", "client-credentials", "--client-id", "test-client", "--client-secret", "test-secret", "--update", "webhook_receiver", "webhook_receiver_app_user"]
`
	if string(calls) != want {
		t.Errorf("lms init task ran:\n%s\nwant:\n%s", calls, want)
	}
}

// containerEnv is the environment a compose service gives its container,
// with its volumes' container paths turned into the host folders docker
// would mount there, and the LMS replaced by the fake one.
func (e tutorEnv) containerEnv(t *testing.T, service map[string]any, lms *edxtest.LMS) []string {
	t.Helper()
	var env []string
	for k, v := range stringMap(service["environment"]) {
		v = strings.ReplaceAll(v, "$$", "$")
		for _, vol := range strs(service["volumes"]) {
			parts := strings.Split(vol, ":")
			host := filepath.Join(e.root, "env", "local", parts[0])
			if strings.HasPrefix(strings.TrimPrefix(v, "sqlite:"), parts[1]) {
				if parts[1] == "/var/lib/webhook-receiver" { // docker creates a missing folder
					if err := os.MkdirAll(host, 0o755); err != nil {
						t.Fatal(err)
					}
				}
				v = strings.Replace(v, parts[1], host, 1)
			}
		}
		if k == "WEBHOOK_RECEIVER_LMS_BASE_URL" {
			v = lms.URL
		}
		env = append(env, k+"="+v)
	}
	return append(env, "WEBHOOK_RECEIVER_LMS_RATE_LIMIT=0")
}

func post(t *testing.T, base, host, path string, headers map[string]string, body string) int {
	t.Helper()
	method := http.MethodPost
	if body == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
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

// caddy checks the rendered Caddyfile with Caddy (Debian's caddy) and
// serves it in front of the service at upstream, returning its URL: the
// service's name becomes upstream; HTTPS and the admin endpoint are off,
// and the sites listen on a free port as plain HTTP.
// It returns "" when Caddy is missing (a failure under CI=true).
func (e tutorEnv) caddy(t *testing.T, upstream string) string {
	t.Helper()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("caddy is not installed (apt-get install caddy)")
		}
		t.Log("caddy is not installed: the Caddyfile is not checked, webhooks go straight to the service (this fails under CI=true)")
		return ""
	}
	data, err := os.ReadFile(filepath.Join(e.root, "env", "apps", "caddy", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	adapted, err := exec.Command(bin, "adapt", "--config", filepath.Join(e.root, "env", "apps", "caddy", "Caddyfile"), "--adapter", "caddyfile").Output()
	if err != nil {
		t.Fatalf("caddy adapt: %v", err)
	}
	for _, host := range []string{"hooks.example.com", "lms.example.com"} {
		if !strings.Contains(string(adapted), fmt.Sprintf(`"host":[%q]`, host)) {
			t.Errorf("the Caddyfile has no site %s", host)
		}
	}
	addr := freeAddr(t)
	port := strings.Split(addr, ":")[1]
	text := strings.Replace(string(data), "{\n", "{\n    auto_https off\n    admin off\n    http_port "+port+"\n", 1)
	text = strings.ReplaceAll(text, "webhookreceiver:8000", strings.TrimPrefix(upstream, "http://"))
	dir := t.TempDir()
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", file, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "default_site_port=:"+port, "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/healthz", nil)
		req.Host = "hooks.example.com"
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return "http://" + addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy never proxied /healthz:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mapDiff lists the differences between two environments.
func mapDiff(want, got map[string]string) string {
	var b strings.Builder
	for k, v := range want {
		if g, ok := got[k]; !ok {
			fmt.Fprintf(&b, "  %s missing, want %q\n", k, v)
		} else if g != v {
			fmt.Fprintf(&b, "  %s = %q, want %q\n", k, g, v)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "  %s = %q, not wanted\n", k, g)
		}
	}
	return b.String()
}

// TestTutorPluginOnANewProject enables the plugin on a new project: the
// OAuth2 secret is generated once, the defaults name the LMS host; on
// PostgreSQL the Deployment takes WEBHOOKRECEIVER_REPLICAS, and on SQLite
// several replicas are refused.
func TestTutorPluginOnANewProject(t *testing.T) {
	e := needTutor(t)
	e.must(t, "config", "save", "--set", "LMS_HOST=lms.example.org")
	e.must(t, "plugins", "enable", "webhookreceiver")
	const postgres = "postgres://webhooks:pw@db.example.org:5432/webhooks?sslmode=require"
	e.must(t, "config", "save", "--set", "WEBHOOKRECEIVER_DATABASE_URL="+postgres, "--set", "WEBHOOKRECEIVER_REPLICAS=3",
		"--set", "WEBHOOKRECEIVER_ON_LMS_HOST=false")
	secret := e.value(t, "WEBHOOKRECEIVER_EDX_OAUTH2_SECRET")
	if len(secret) != 32 {
		t.Fatalf("generated WEBHOOKRECEIVER_EDX_OAUTH2_SECRET %q, want 32 characters", secret)
	}
	e.must(t, "config", "save")
	if again := e.value(t, "WEBHOOKRECEIVER_EDX_OAUTH2_SECRET"); again != secret {
		t.Errorf("config save changed the generated OAuth2 secret")
	}

	deployments := e.file(t, "k8s/deployments.yml")
	env := stringMap(get(object(t, deployments, "Secret", "webhookreceiver-env"), "stringData"))
	for k, want := range map[string]string{
		"WEBHOOK_RECEIVER_DATABASE_URL":  postgres,
		"WEBHOOK_RECEIVER_LMS_BASE_URL":  "http://lms.example.org",
		"WEBHOOK_RECEIVER_OAUTH2_KEY":    "webhook_receiver",
		"WEBHOOK_RECEIVER_OAUTH2_SECRET": secret,
		"WEBHOOK_RECEIVER_LOG_LEVEL":     "info",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	for _, k := range []string{"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN", "WEBHOOK_RECEIVER_WOOCOMMERCE_REQUIRE_PAYMENT", "WEBHOOK_RECEIVER_CONFIG"} {
		if v, ok := env[k]; ok {
			t.Errorf("%s = %q, want it unset (the service's default)", k, v)
		}
	}
	d := object(t, deployments, "Deployment", "webhookreceiver")
	if got, strategy := get(d, "spec", "replicas"), get(d, "spec", "strategy"); got != 3 || strategy != nil {
		t.Errorf("PostgreSQL: replicas %v, strategy %v; want 3 and the default rolling update", got, strategy)
	}
	if v := get(d, "spec", "template", "spec", "volumes"); strings.Contains(fmt.Sprint(v), "persistentVolumeClaim") {
		t.Errorf("PostgreSQL: the pods mount a volume claim: %v", v)
	}
	for _, doc := range e.file(t, "k8s/volumes.yml") {
		if get(doc, "metadata", "name") == "webhookreceiver" {
			t.Errorf("PostgreSQL: a PersistentVolumeClaim webhookreceiver is rendered")
		}
	}
	caddyfile, err := os.ReadFile(filepath.Join(e.root, "env", "apps", "caddy", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(caddyfile), "webhooks.lms.example.org{$default_site_port} {") || strings.Contains(string(caddyfile), "handle /webhooks/*") {
		t.Errorf("Caddyfile: want the site webhooks.lms.example.org and no /webhooks/ route on the LMS host:\n%s", caddyfile)
	}

	out, err := e.run("config", "save", "--set", "WEBHOOKRECEIVER_DATABASE_URL=sqlite:/var/lib/webhook-receiver/x.db")
	if err == nil || !strings.Contains(out, "WEBHOOKRECEIVER_REPLICAS is 3 but WEBHOOKRECEIVER_DATABASE_URL is SQLite") {
		t.Errorf("config save with SQLite and 3 replicas: %v\n%s", err, out)
	}
}

// TestTutorPluginFindsItsCheckout: installed with "pip install -e" from a
// checkout, the plugin builds the image from that checkout's Dockerfile.
func TestTutorPluginFindsItsCheckout(t *testing.T) {
	e := needTutor(t)
	repo, _ := filepath.Abs("../..")
	tutorSrc := filepath.Join(filepath.Dir(e.tutor), "src")
	cmd := exec.Command("/usr/bin/python3", "-c", "from tutorwebhookreceiver import plugin; print(plugin._checkout())")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+strings.Join([]string{filepath.Join(repo, "deploy", "tutor"), tutorSrc, filepath.Join(filepath.Dir(e.tutor), "shim")}, ":"),
		"PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != repo {
		t.Errorf("the plugin in deploy/tutor finds %q (%v), want %s", out, err, repo)
	}
}
