package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// healthcheck asks a running service on this machine whether it is ready
// (/readyz) or alive (/healthz, with --live), for a container image's
// HEALTHCHECK, which has no curl. The address is the configured listen
// address; a wildcard host (empty, 0.0.0.0, ::) is asked on loopback.
func healthcheck(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var live bool
	var timeout time.Duration
	fs := newFlagSet(env, "healthcheck", "Ask the service listening on the configured address (WEBHOOK_RECEIVER_LISTEN, --listen)\n"+
		"whether it is ready (GET /readyz: the database answers) or, with --live, alive (GET /healthz).\n"+
		"It prints one line and exits 0 when the answer is 200, 1 otherwise. A wildcard listen address\n"+
		"(:8000, 0.0.0.0:8000, [::]:8000) is asked on loopback. For a container's HEALTHCHECK.")
	fs.StringVar(&flags.file, "config", "", "YAML configuration file (default $WEBHOOK_RECEIVER_CONFIG)")
	fs.StringVar(&flags.listen, "listen", "", "the service's listen address (default $WEBHOOK_RECEIVER_LISTEN or :8000)")
	fs.BoolVar(&live, "live", false, "ask /healthz (the process answers) instead of /readyz (the database answers too)")
	fs.DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	if timeout <= 0 {
		return usageError(fs, "--timeout must be positive, got %s", timeout)
	}
	cfg, _, err := flags.load(env)
	if err != nil {
		return err
	}
	path := "/readyz"
	if live {
		path = "/healthz"
	}
	u, err := healthURL(cfg.Listen, path)
	if err != nil {
		return fmt.Errorf("listen address %q (%s): %w", cfg.Listen, cfg.ListenSource(), err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("healthcheck %s: %w", u, err)
	}
	req.Header.Set("User-Agent", "webhook-receiver healthcheck")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: GET %s: %w", u, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	answer := strings.Join(strings.Fields(string(body)), " ")
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: GET %s answered %s: %s", u, resp.Status, answer)
	}
	fmt.Fprintf(env.stdout, "healthy: GET %s answered %s: %s\n", u, resp.Status, answer)
	return nil
}

// healthURL is the URL of path on the service listening on listen, asked
// on loopback when the host is a wildcard.
func healthURL(listen, path string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	switch ip := net.ParseIP(host); {
	case host == "" || (ip != nil && ip.Equal(net.IPv4zero)):
		host = "127.0.0.1"
	case ip != nil && ip.Equal(net.IPv6unspecified):
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}

// unwrapURLError drops the "Get URL:" prefix a url.Error adds, as the
// caller names the URL already.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
