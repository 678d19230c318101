package main_test

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/webhook"
)

// build compiles the binary as a user would.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "webhook-receiver")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type process struct {
	cmd  *exec.Cmd
	url  string
	logs *lockedBuffer
}

// freeAddr is a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs `webhook-receiver serve` and waits for /readyz.
func start(t *testing.T, bin string, env []string) *process {
	t.Helper()
	addr := freeAddr(t)
	p := &process{cmd: exec.Command(bin, "serve"), url: "http://" + addr, logs: &lockedBuffer{}}
	p.cmd.Env = append(env[:len(env):len(env)], "WEBHOOK_RECEIVER_LISTEN="+addr)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(p.url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready:\n%s", p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *process) postOrder(t *testing.T, id int, email string) int {
	t.Helper()
	status, err := p.send(id, email)
	if err != nil {
		t.Fatal(err)
	}
	return status
}

// send delivers a signed order for one learner in course-v1:Org+Bin+1.
func (p *process) send(id int, email string) (int, error) {
	return p.sendOrder(id, "course-v1:Org+Bin+1", email)
}

// sendOrder delivers a signed Shopify order with one line item per learner,
// all of one course.
func (p *process) sendOrder(id int, course string, emails ...string) (int, error) {
	var items []string
	for i, email := range emails {
		items = append(items, fmt.Sprintf(`{"id": %d, "sku": %q, "properties": [{"name": "email", "value": %q}]}`,
			i+1, course, email))
	}
	body := fmt.Sprintf(`{"id": %d, "line_items": [%s]}`, id, strings.Join(items, ", "))
	req, err := http.NewRequest(http.MethodPost, p.url+"/webhooks/shopify/order/create", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Shopify-Shop-Domain", "bin.myshopify.com")
	req.Header.Set("X-Shopify-Hmac-Sha256", webhook.Sign([]byte("bin-secret"), []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// serviceEnv configures the binary for the fake LMS and one shop.
func serviceEnv(t *testing.T, lms *edxtest.LMS, databaseURL string) []string {
	return append(os.Environ(),
		"WEBHOOK_RECEIVER_DATABASE_URL="+databaseURL,
		"WEBHOOK_RECEIVER_LMS_BASE_URL="+lms.URL,
		"WEBHOOK_RECEIVER_OAUTH2_KEY="+lms.ClientID,
		"WEBHOOK_RECEIVER_OAUTH2_SECRET="+lms.ClientSecret,
		"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN=bin.myshopify.com",
		"WEBHOOK_RECEIVER_SHOPIFY_SECRET=bin-secret",
		"WEBHOOK_RECEIVER_LMS_RATE_LIMIT=0",
	)
}

// waitEnrolled waits until every learner is enrolled in course-v1:Org+Bin+1.
func waitEnrolled(t *testing.T, lms *edxtest.LMS, emails []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, email := range emails {
		for !lms.Enrolled("course-v1:Org+Bin+1", email) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never enrolled", email)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestBinaryShutsDownGracefullyAndSurvivesKill(t *testing.T) {
	bin := build(t)
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		lms := edxtest.New(t)
		env := serviceEnv(t, lms, storetest.URL(t, d))

		// SIGTERM: in-flight work finishes, the process exits 0.
		p := start(t, bin, env)
		if got := p.postOrder(t, 1, "first@example.com"); got != 200 {
			t.Fatalf("order: %d", got)
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
		}

		// SIGKILL right after acknowledging orders, with no workers running:
		// every acknowledged order is enrolled after the restart.
		p = start(t, bin, append(env, "WEBHOOK_RECEIVER_WORKERS=0"))
		emails := []string{"first@example.com"}
		for i := range 20 {
			emails = append(emails, fmt.Sprintf("k%d@example.com", i))
			if got := p.postOrder(t, 100+i, emails[i+1]); got != 200 {
				t.Fatalf("order %d: %d", i, got)
			}
		}
		p.cmd.Process.Kill()
		p.cmd.Wait()

		start(t, bin, env)
		waitEnrolled(t, lms, emails, time.Minute)
		for _, email := range emails {
			if n := lms.EnrollCount("course-v1:Org+Bin+1", email); n != 1 {
				t.Errorf("%s enrolled %d times", email, n)
			}
		}
	})
}
