package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
)

// Bounds that keep the benchmark from hanging on a broken service.
const (
	readyTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	readyPoll    = 5 * time.Millisecond
)

// benchWorkers is how many enrollment jobs the service runs at once.
const benchWorkers = "8"

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory; run the benchmark inside the repository")
		}
		dir = parent
	}
}

// buildService compiles ./cmd/webhook-receiver into dir, as a user would.
func buildService(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "webhook-receiver")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/webhook-receiver")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/webhook-receiver: %w\n%s", err, out)
	}
	return bin, nil
}

// serviceEnv configures the service for the fake LMS and the shop and site
// the orders come from, with the tuning the run asks for. Only the Go
// runtime's tuning variables are passed through, so settings of the caller's
// own receiver cannot skew the run.
func serviceEnv(databaseURL string, lms *edxtest.LMS, o options, getenv func(string) string) []string {
	s := o.signing
	env := []string{
		"WEBHOOK_RECEIVER_DATABASE_URL=" + databaseURL,
		"WEBHOOK_RECEIVER_LMS_BASE_URL=" + lms.URL,
		"WEBHOOK_RECEIVER_OAUTH2_KEY=" + lms.ClientID,
		"WEBHOOK_RECEIVER_OAUTH2_SECRET=" + lms.ClientSecret,
		"WEBHOOK_RECEIVER_LMS_RATE_LIMIT=" + strconv.FormatFloat(o.rateLimit, 'g', -1, 64),
		"WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN=" + s.shopDomain,
		"WEBHOOK_RECEIVER_SHOPIFY_SECRET=" + s.shopifySecret,
		"WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE=" + s.wooSource,
		"WEBHOOK_RECEIVER_WOOCOMMERCE_SECRET=" + s.wooSecret,
		"WEBHOOK_RECEIVER_LOG_LEVEL=warn",
		"WEBHOOK_RECEIVER_WORKERS=" + benchWorkers,
	}
	if o.batchSize > 0 {
		env = append(env, "WEBHOOK_RECEIVER_LMS_BATCH_SIZE="+strconv.Itoa(o.batchSize))
	}
	if o.backlog > 0 || len(o.phases) > 0 && o.retryDelaySet {
		env = append(env, "WEBHOOK_RECEIVER_RETRY_DELAY="+o.retryDelay.String())
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOGC", "GOMEMLIMIT", "GOMAXPROCS", "GODEBUG"} {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// service is a running `webhook-receiver serve`.
type service struct {
	cmd  *exec.Cmd
	url  string
	logs *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // how it exited; read after done
}

// startService starts the binary on a free port of 127.0.0.1 and waits
// until /readyz answers 200. It returns how long that took from the start
// of the process.
func startService(ctx context.Context, client *http.Client, bin string, env []string) (*service, time.Duration, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, 0, err
	}
	s := &service{url: "http://" + addr, logs: &tailBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = append(env[:len(env):len(env)], "WEBHOOK_RECEIVER_LISTEN="+addr)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	if err := s.waitReady(ctx, client); err != nil {
		s.stop()
		return nil, 0, err
	}
	return s, time.Since(start), nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls /readyz until it answers 200, the process exits, or
// readyTimeout passes.
func (s *service) waitReady(ctx context.Context, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	for {
		if ready(ctx, client, s.url) {
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("service exited before it was ready: %v\n%s", s.err, s.logs)
		case <-ctx.Done():
			return fmt.Errorf("service not ready after %s: %w\n%s", readyTimeout, ctx.Err(), s.logs)
		case <-tick.C:
		}
	}
}

func ready(ctx context.Context, client *http.Client, baseURL string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/readyz", nil)
	if err != nil {
		return false
	}
	status, err := do(client, req)
	return err == nil && status == http.StatusOK
}

func (s *service) pid() int { return s.cmd.Process.Pid }

// exited reports whether the process has ended.
func (s *service) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop asks the service to shut down as an operator would (SIGTERM), kills
// it if it does not within stopTimeout, and reports an unclean exit. It may
// be called more than once.
func (s *service) stop() error {
	if s.exited() {
		return nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.cmd.Process.Kill()
	}
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("service did not stop within %s of SIGTERM; killed\n%s", stopTimeout, s.logs)
	}
	if s.err != nil {
		return fmt.Errorf("service exited with %v\n%s", s.err, s.logs)
	}
	return nil
}

// tailBuffer keeps the last few kilobytes of a process's output, for error
// messages. It is safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailBytes = 16 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - tailBytes; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.TrimSpace(string(b.buf))
}
