package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// deployToolMissing skips a test whose deployment tool is missing here,
// and fails it under CI=true, where .ci/run installs the tool.
func deployToolMissing(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: .ci/run must provide it)")
	}
	t.Skip(msg)
}

// nginxDirective is one simple directive of an nginx configuration file,
// with the names of the blocks it is in ("location /webhooks/").
type nginxDirective struct {
	block string
	name  string
	args  []string
}

// parseNginx reads the directives of an nginx configuration file: words
// separated by blanks, ending with ";" or opening a block with "{",
// comments from "#" to the end of the line. Quoted words are not used by
// our files and are refused.
func parseNginx(t *testing.T, path string) []nginxDirective {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out    []nginxDirective
		blocks []string
		words  []string
	)
	for n, line := range strings.Split(string(src), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if strings.ContainsAny(line, `"'\`) {
			t.Fatalf("%s:%d: quoted words are not parsed here: %q", path, n+1, line)
		}
		line = strings.NewReplacer(";", " ; ", "{", " { ", "}", " } ").Replace(line)
		for _, w := range strings.Fields(line) {
			switch w {
			case ";":
				if len(words) == 0 {
					t.Fatalf("%s:%d: empty directive", path, n+1)
				}
				out = append(out, nginxDirective{block: strings.Join(blocks, " / "), name: words[0], args: words[1:]})
				words = nil
			case "{":
				blocks = append(blocks, strings.Join(words, " "))
				words = nil
			case "}":
				if len(words) > 0 || len(blocks) == 0 {
					t.Fatalf("%s:%d: unexpected }", path, n+1)
				}
				blocks = blocks[:len(blocks)-1]
			default:
				words = append(words, w)
			}
		}
	}
	if len(words) > 0 || len(blocks) > 0 {
		t.Fatalf("%s: unterminated directive or block", path)
	}
	return out
}

// nginxSize reads an nginx size ("5m", "256k", "1024").
func nginxSize(t *testing.T, s string) int64 {
	t.Helper()
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1<<10, s[:len(s)-1]
	case strings.HasSuffix(s, "m"), strings.HasSuffix(s, "M"):
		mult, s = 1<<20, s[:len(s)-1]
	case strings.HasSuffix(s, "g"), strings.HasSuffix(s, "G"):
		mult, s = 1<<30, s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("nginx size %q: %v", s, err)
	}
	return n * mult
}

// snippetPath is deploy/nginx/webhooks.conf.
func snippetPath(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "deploy", "nginx", "webhooks.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The snippet, read as nginx reads it: one location /webhooks/ that
// passes requests to the service's default listen address, allows bodies
// as large as the service does, and tells the service who the client was.
func TestNginxSnippetSettings(t *testing.T) {
	ds := parseNginx(t, snippetPath(t))
	got := map[string][]string{}
	for _, d := range ds {
		if d.block != "location /webhooks/" {
			t.Errorf("%s outside location /webhooks/ (in %q)", d.name, d.block)
		}
		if d.name == "proxy_set_header" {
			got[d.name+" "+d.args[0]] = d.args[1:]
			continue
		}
		if _, dup := got[d.name]; dup {
			t.Errorf("%s set twice", d.name)
		}
		got[d.name] = d.args
	}
	want := map[string]string{
		"proxy_pass":                         "http://127.0.0.1:8000",
		"proxy_set_header X-Forwarded-For":   "$proxy_add_x_forwarded_for",
		"proxy_set_header X-Forwarded-Proto": "$scheme",
		"proxy_set_header Host":              "$host",
		"proxy_request_buffering":            "on",
	}
	for name, value := range want {
		if v := strings.Join(got[name], " "); v != value {
			t.Errorf("%s = %q, want %q", name, v, value)
		}
	}
	if v := got["client_max_body_size"]; len(v) != 1 || nginxSize(t, v[0]) != config.Default().MaxBodyBytes {
		t.Errorf("client_max_body_size %v, want WEBHOOK_RECEIVER_MAX_BODY_BYTES's default, %d bytes", v, config.Default().MaxBodyBytes)
	}
	for _, name := range []string{"proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout", "client_body_timeout"} {
		if len(got[name]) != 1 {
			t.Errorf("%s not set", name)
		}
	}
}

// nginxBinary is the nginx of Debian's nginx package, or skips.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil { // not in a non-root PATH
		return "/usr/sbin/nginx"
	}
	deployToolMissing(t, "nginx not found: apt-get install nginx")
	return ""
}

// startNginx runs nginx in the foreground with a configuration of its own
// in a temporary prefix: one server block per upstream, each including the
// snippet with its proxy_pass pointed at that upstream (host:port). It
// returns each server block's base URL, and stops nginx at the end.
func startNginx(t *testing.T, nginx, snippet string, upstreams ...string) []string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(snippet)
	if err != nil {
		t.Fatal(err)
	}
	const pass = "proxy_pass http://127.0.0.1:8000;" // TestNginxSnippetSettings checks it is the only one
	if n := strings.Count(string(src), pass); n != 1 {
		t.Fatalf("%s: %q %d times, want once", snippet, pass, n)
	}
	var servers strings.Builder
	var urls []string
	for i, upstream := range upstreams {
		inc := filepath.Join(dir, fmt.Sprintf("webhooks-%d.conf", i))
		if err := os.WriteFile(inc, []byte(strings.Replace(string(src), pass, "proxy_pass http://"+upstream+";", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		addr := freeAddr(t)
		urls = append(urls, "http://"+addr)
		fmt.Fprintf(&servers, "    server {\n        listen %s;\n        server_name lms.example.test;\n        include %s;\n    }\n", addr, inc)
	}
	for _, d := range []string{"body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	user := ""
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot enter the
		// test's temporary directories.
		user = "user root;"
	}
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
%[2]s
events { worker_connections 64; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[3]s}
`, dir, user, servers.String())
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	errorLog := filepath.Join(dir, "error.log")
	showLog := func() string { b, _ := os.ReadFile(errorLog); return string(b) }
	var out lockedBuffer
	cmd := exec.Command(nginx, "-p", dir, "-c", confPath, "-e", errorLog)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its workers go with it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT) // graceful: workers finish, then the master exits
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, u := range urls {
		for {
			c, err := net.Dial("tcp", strings.TrimPrefix(u, "http://"))
			if err == nil {
				c.Close()
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("nginx exited: %v\n%s\n%s", err, out.String(), showLog())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("nginx not listening on %s:\n%s", u, showLog())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	v, _ := exec.Command(nginx, "-v").CombinedOutput()
	t.Logf("%s in front of %v", strings.TrimSpace(string(v)), upstreams)
	return urls
}

// clientFrom is an HTTP client whose connections come from the local
// address ip: another loopback address than nginx's own 127.0.0.1, so that
// the stored source IP tells the client from nginx.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: time.Minute}
}

// shopifyOrderOfSize is a Shopify order for one learner whose body is
// exactly size bytes (padded with a note), or as small as it can be.
func shopifyOrderOfSize(id int, email string, size int) []byte {
	body := func(note string) []byte {
		return fmt.Appendf(nil, `{"id": %d, "note": %q, "line_items": [{"id": 1, "sku": "course-v1:Org+Bin+1", "properties": [{"name": "email", "value": %q}]}]}`,
			id, note, email)
	}
	pad := max(size-len(body("")), 0)
	return body(strings.Repeat("x", pad))
}

// postSigned sends a signed Shopify order; label goes in X-Test-Case, to
// find the stored delivery; xff, when not empty, is sent as
// X-Forwarded-For. It returns the status.
func postSigned(t *testing.T, c *http.Client, url, label, xff string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/webhooks/shopify/order/create", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Shop-Domain", "bin.myshopify.com")
	req.Header.Set("X-Shopify-Hmac-Sha256", webhook.Sign([]byte("bin-secret"), body))
	req.Header.Set("X-Test-Case", label)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", label, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// storedDelivery is a delivery as `deliveries list --json` prints it.
type storedDelivery struct {
	Path     string              `json:"path"`
	SourceIP string              `json:"source_ip"`
	Headers  map[string][]string `json:"headers"`
	BodySize int64               `json:"body_size"`
	Status   int                 `json:"status"`
}

// storedDeliveries runs `webhook-receiver deliveries list --json` on a
// database, as an operator would, and returns the deliveries by their
// X-Test-Case header (kept for authenticated deliveries only) and the
// status of every delivery.
func storedDeliveries(t *testing.T, bin, databaseURL string) (map[string]storedDelivery, []int) {
	t.Helper()
	cmd := exec.Command(bin, "deliveries", "list", "--json", "--limit", "500", "--database-url", databaseURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("deliveries list: %v\n%s", err, stderr.String())
	}
	ds := map[string]storedDelivery{}
	var statuses []int
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var d storedDelivery
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("deliveries list --json: %v\n%s", err, out)
		}
		if label := d.Headers["X-Test-Case"]; len(label) == 1 {
			ds[label[0]] = d
		}
		statuses = append(statuses, d.Status)
	}
	return ds, statuses
}

// nginx (Debian's, run by the test) with deploy/nginx/webhooks.conf in
// front of the real binary: the service believes nginx's X-Forwarded-For
// only because nginx's address is in WEBHOOK_RECEIVER_TRUSTED_PROXIES, a
// forged X-Forwarded-For is believed neither through nginx nor straight
// to the service, and orders up to WEBHOOK_RECEIVER_MAX_BODY_BYTES pass
// nginx while larger ones are refused there.
func TestNginxInFrontOfTheService(t *testing.T) {
	nginx := nginxBinary(t)
	bin := build(t)
	lms := edxtest.New(t)
	dir := t.TempDir()
	trustingDB := "sqlite:" + filepath.Join(dir, "trusting.db")
	plainDB := "sqlite:" + filepath.Join(dir, "plain.db")
	// nginx connects from 127.0.0.1; the client from 127.0.0.2.
	trusting := start(t, bin, append(serviceEnv(t, lms, trustingDB), "WEBHOOK_RECEIVER_TRUSTED_PROXIES=127.0.0.1,::1"))
	plain := start(t, bin, serviceEnv(t, lms, plainDB))
	fronts := startNginx(t, nginx, snippetPath(t), strings.TrimPrefix(trusting.url, "http://"), strings.TrimPrefix(plain.url, "http://"))
	viaNginx, viaNginxUntrusted := fronts[0], fronts[1]
	client := clientFrom("127.0.0.2")
	const forged = "198.51.100.7"
	maxBody := int(config.Default().MaxBodyBytes)

	cases := []struct {
		label, url, xff string
		size            int
		status          int
		db              string
		sourceIP        string
	}{
		{"through nginx", viaNginx, "", 0, 200, trustingDB, "127.0.0.2"},
		{"through nginx, forged", viaNginx, forged, 0, 200, trustingDB, "127.0.0.2"},
		{"straight, forged", trusting.url, forged, 0, 200, trustingDB, "127.0.0.2"},
		{"through nginx, not trusted", viaNginxUntrusted, "", 0, 200, plainDB, "127.0.0.1"},
		{"through nginx, 2 MB", viaNginx, "", 2 << 20, 200, trustingDB, "127.0.0.2"},
		{"through nginx, max body", viaNginx, "", maxBody, 200, trustingDB, "127.0.0.2"},
		{"through nginx, max body + 1", viaNginx, "", maxBody + 1, 413, "", ""},
	}
	for i, c := range cases {
		body := shopifyOrderOfSize(1000+i, fmt.Sprintf("nginx%d@example.com", i), c.size)
		if c.size > 0 && len(body) != c.size {
			t.Fatalf("%s: body of %d bytes, want %d", c.label, len(body), c.size)
		}
		if status := postSigned(t, client, c.url, c.label, c.xff, body); status != c.status {
			t.Errorf("%s: status %d, want %d", c.label, status, c.status)
		}
	}

	stored, statuses := storedDeliveries(t, bin, trustingDB)
	plainStored, plainStatuses := storedDeliveries(t, bin, plainDB)
	for k, v := range plainStored {
		stored[k] = v
	}
	// The service records the requests it refuses too: the one nginx
	// refused never reached it. (Every answer through nginx carries
	// nginx's Server header, so that header cannot tell.)
	if n := len(statuses) + len(plainStatuses); n != len(cases)-1 {
		t.Errorf("the services recorded %d deliveries with statuses %v %v, want %d, all 200", n, statuses, plainStatuses, len(cases)-1)
	}
	for i, c := range cases {
		d, ok := stored[c.label]
		if c.db == "" {
			continue
		}
		if !ok {
			t.Errorf("%s: not stored", c.label)
			continue
		}
		if d.SourceIP != c.sourceIP || d.Status != 200 || d.Path != "/webhooks/shopify/order/create" {
			t.Errorf("%s: stored source IP %q, status %d, path %q; want %q, 200, /webhooks/shopify/order/create",
				c.label, d.SourceIP, d.Status, d.Path, c.sourceIP)
		}
		if want := int64(len(shopifyOrderOfSize(1000+i, fmt.Sprintf("nginx%d@example.com", i), c.size))); d.BodySize != want {
			t.Errorf("%s: stored body of %d bytes, want %d", c.label, d.BodySize, want)
		}
		if c.url != trusting.url {
			if p := d.Headers["X-Forwarded-Proto"]; len(p) != 1 || p[0] != "http" {
				t.Errorf("%s: X-Forwarded-Proto %q, want [http]", c.label, p)
			}
		}
		t.Logf("%-28s X-Forwarded-For %-30q -> source IP %s", c.label, d.Headers["X-Forwarded-For"], d.SourceIP)
	}
}
