// Package admin is the operator console at /admin/: a dashboard, orders
// and their enrollments, rejected deliveries, the shops' webhooks and
// reconciliations, and the actions that fix them (retry, replay, mark
// resolved, reconcile now). Pages are server-rendered with
// html/template; templates and the stylesheet are embedded.
package admin

import (
	"embed"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

//go:embed templates/*.html static/*
var files embed.FS

// Deps are what the console needs.
type Deps struct {
	Logger *slog.Logger
	DB     *store.DB
	Ops    *ops.Ops
	Admin  config.Admin
	// ClientIP names the client of a request (for the login rate limit),
	// honouring trusted proxies.
	ClientIP func(*http.Request) string
	Now      func() time.Time
}

// New returns the console's handler, to be mounted at /admin/.
func New(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.ClientIP == nil {
		d.ClientIP = func(r *http.Request) string {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				return r.RemoteAddr
			}
			return host
		}
	}
	c := &console{Deps: d, pages: parsePages(), limiter: newLoginLimiter(d.Now)}
	mux := http.NewServeMux()
	c.addRoutes(mux)
	// Every POST, the login form included, must come from the console's
	// own pages: cross-site form posts are refused with 403.
	return http.NewCrossOriginProtection().Handler(securityHeaders(mux))
}

// console holds what the handlers share.
type console struct {
	Deps
	pages   map[string]*template.Template
	limiter *loginLimiter
}

// addRoutes lists every page and action of the console.
func (c *console) addRoutes(mux *http.ServeMux) {
	mux.Handle("GET /admin/static/{file}", handleStatic())
	mux.Handle("GET /admin/login", c.handleLoginForm())
	mux.Handle("POST /admin/login", c.handleLogin())
	mux.Handle("POST /admin/logout", c.handleLogout())
	mux.Handle("GET /admin/{$}", c.auth(c.handleDashboard()))
	mux.Handle("GET /admin/orders", c.auth(c.handleOrders()))
	mux.Handle("GET /admin/orders/{id}", c.auth(c.handleOrder()))
	mux.Handle("GET /admin/deliveries", c.auth(c.handleDeliveries()))
	mux.Handle("GET /admin/shops", c.auth(c.handleShops()))
	mux.Handle("GET /admin/privacy", c.auth(c.handlePrivacy()))
	mux.Handle("GET /admin/privacy/{id}", c.auth(c.handlePrivacyRequest()))
	mux.Handle("GET /admin/privacy/{id}/export", c.auth(c.handlePrivacyExport()))
	mux.Handle("POST /admin/actions/answer", c.auth(c.handleAnswer()))
	mux.Handle("POST /admin/actions/retry", c.auth(c.handleRetry()))
	mux.Handle("POST /admin/actions/retry-failed", c.auth(c.handleRetryFailed()))
	mux.Handle("POST /admin/actions/resolve", c.auth(c.handleResolve()))
	mux.Handle("POST /admin/actions/replay", c.auth(c.handleReplay()))
	mux.Handle("POST /admin/actions/reconcile", c.auth(c.handleReconcile()))
	mux.Handle("/admin/", c.auth(http.NotFoundHandler()))
}

// handleStatic serves the files of the static folder, and nothing else:
// no directory listing, no way out of the folder (a name with a slash or
// "..", encoded or not, is not found). They need no session.
func handleStatic() http.Handler {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the folder is embedded: this cannot happen
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		if !fs.ValidPath(name) || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		f, err := static.Open(name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		info, err := f.Stat()
		content, seekable := f.(io.ReadSeeker)
		if err != nil || !info.Mode().IsRegular() || !seekable {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, name, info.ModTime(), content)
	})
}

// securityHeaders keeps the console out of frames and off other origins'
// scripts and styles.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}
