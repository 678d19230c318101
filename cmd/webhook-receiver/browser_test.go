//go:build unix

package main_test

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// chromiumPath is Debian's chromium package; .ci/run installs it.
const chromiumPath = "/usr/bin/chromium"

// browserPrerequisites skips the test when Node.js, Chromium or
// playwright-core is missing, and fails it under CI, which must have them.
func browserPrerequisites(t *testing.T, e2e string) {
	t.Helper()
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing = append(missing, chromiumPath+" (apt-get install chromium)")
	}
	if _, err := os.Stat(filepath.Join(e2e, "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "e2e/node_modules/playwright-core (npm ci --prefix e2e)")
	}
	if len(missing) == 0 {
		return
	}
	msg := "browser test needs " + strings.Join(missing, ", ") + "; .ci/run installs them"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// The operator console in real headless Chromium (e2e/admin.mjs): redirect
// to the login page, sign in, find a failed order by learner email, retry
// it once the LMS is fixed and see it enrolled, a cross-site POST refused,
// and a phone-width layout. WEBHOOK_RECEIVER_SCREENSHOTS=docs keeps the
// screenshots in docs/ (relative to the repository root).
func TestBrowserAdmin(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	e2e := filepath.Join(root, "e2e")
	browserPrerequisites(t, e2e)

	screenshots := os.Getenv("WEBHOOK_RECEIVER_SCREENSHOTS")
	switch {
	case screenshots == "":
		screenshots = t.TempDir()
	case !filepath.IsAbs(screenshots):
		screenshots = filepath.Join(root, screenshots)
	}

	const (
		password = "correct horse battery staple"
		email    = "ada@example.com"
		orderID  = 4711
		sku      = "BROWSER-101"
		course   = "course-v1:Org+Browser+1"
	)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	bin := build(t)
	lms := edxtest.New(t)
	databaseURL := "sqlite:" + filepath.Join(t.TempDir(), "data.db")
	p := start(t, bin, append(serviceEnv(t, lms, databaseURL),
		"WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH="+string(hash), "WEBHOOK_RECEIVER_ADMIN_USER=admin"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("service logs:\n%s", p.logs)
		}
	})

	// An order whose SKU the LMS does not know: its item fails for good.
	body := fmt.Sprintf(`{"id": %d, "email": %q, "line_items": [{"id": 1, "sku": %q, "title": "Browser testing 101"}]}`,
		orderID, email, sku)
	if status := postShopify(t, p.url, body, webhook.Sign([]byte("bin-secret"), []byte(body))); status != 200 {
		t.Fatalf("order: %d", status)
	}
	item := waitItem(t, databaseURL, orderID, enroll.ItemFailed)
	// A fixed LMS: a retry now enrolls the learner.
	lms.AddSKU(sku, course)
	// A delivery with a bad signature, for the rejected deliveries page.
	if status := postShopify(t, p.url, body, webhook.Sign([]byte("wrong-secret"), []byte(body))); status != 403 {
		t.Fatalf("bad signature: %d, want 403", status)
	}

	// Another site (localhost is not the same site as 127.0.0.1) whose form
	// posts to the console, as a cross-site request forgery would.
	evilPage := template.Must(template.New("evil").Parse(`<!doctype html>
<title>You won</title>
<form method="post" action="{{.Action}}">
<input type="hidden" name="item_id" value="{{.Item}}">
<input type="hidden" name="back" value="/admin/">
<button type="submit">Claim your prize</button>
</form>`))
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		evilPage.Execute(w, map[string]any{"Action": p.url + "/admin/actions/retry", "Item": item.ID})
	}))
	defer evil.Close()
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1) + "/"

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "admin.mjs")
	cmd.Dir = e2e
	cmd.Env = append(os.Environ(),
		"BASE_URL="+p.url,
		"ADMIN_PASSWORD="+password,
		"LEARNER_EMAIL="+email,
		fmt.Sprintf("ORDER_ID=%d", orderID),
		"EVIL_URL="+evilURL,
		"SCREENSHOT_DIR="+screenshots,
		"CHROMIUM="+chromiumPath,
	)
	cmd.Stdout = t.Output()
	cmd.Stderr = cmd.Stdout
	// Node and the Chromium it starts form one process group, killed as a
	// whole on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	began := time.Now()
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node e2e/admin.mjs: timed out after %s", time.Since(began).Round(time.Second))
	}
	if err != nil {
		t.Fatalf("node e2e/admin.mjs: %v (screenshots in %s)", err, screenshots)
	}
	t.Logf("browser checks took %s; screenshots in %s", time.Since(began).Round(100*time.Millisecond), screenshots)

	// The retry enrolled the learner, once; the forged POST changed nothing.
	if n := lms.EnrollCount(course, email); n != 1 {
		t.Errorf("learner enrolled %d times at the LMS, want 1", n)
	}
	waitItem(t, databaseURL, orderID, enroll.ItemEnrolled)
}

func postShopify(t *testing.T, url, body, signature string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/webhooks/shopify/order/create", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Shopify-Shop-Domain", "bin.myshopify.com")
	req.Header.Set("X-Shopify-Hmac-Sha256", signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitItem waits until the order's only item has the status, and returns it.
func waitItem(t *testing.T, databaseURL string, orderID int64, want enroll.ItemStatus) store.ItemRecord {
	t.Helper()
	db, err := store.Open(t.Context(), databaseURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		o, err := db.FindOrder(t.Context(), enroll.Shopify, "bin.myshopify.com", orderID)
		if err == nil && len(o.Items) == 1 && o.Items[0].Status == want {
			return o.Items[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %d: item not %s within 30 s: %+v, %v", orderID, want, o.Items, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
