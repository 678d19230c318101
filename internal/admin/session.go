package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

const (
	cookieName = "webhook_receiver_session"
	sessionTTL = 12 * time.Hour
)

type userKey struct{}

// user is the signed-in operator of a request that passed auth.
func user(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

// auth lets requests with a valid session through; the others are sent to
// the login page, which brings them back afterwards.
func (c *console) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := c.sessionUser(r)
		if err != nil {
			if !errors.Is(err, enroll.ErrNotFound) {
				c.Logger.Error("admin session lookup", "error", err)
				http.Error(w, "the database is not answering: try again", http.StatusServiceUnavailable)
				return
			}
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = "/admin/"
			}
			http.Redirect(w, r, "/admin/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
	})
}

func (c *console) sessionUser(r *http.Request) (string, error) {
	cookie, err := r.Cookie(cookieName)
	if err != nil || cookie.Value == "" {
		return "", enroll.ErrNotFound
	}
	return c.DB.SessionUser(r.Context(), c.tokenHash(cookie.Value))
}

// tokenHash is what the database keeps of a session token. It covers the
// configured user and password hash too: changing either signs everyone out.
func (c *console) tokenHash(token string) string {
	h := sha256.New()
	for _, part := range []string{c.Admin.User, c.Admin.PasswordHash.Value(), token} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

type loginPage struct {
	Next  string
	User  string
	Error string
}

func (c *console) handleLoginForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusOK, "login", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
	})
}

func (c *console) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		page := loginPage{Next: safeNext(r.PostFormValue("next")), User: r.PostFormValue("username")}
		ip := c.ClientIP(r)
		if !c.limiter.allow(ip) {
			w.Header().Set("Retry-After", "60")
			page.Error = "Too many sign-in attempts. Wait a minute and try again."
			c.render(w, r, http.StatusTooManyRequests, "login", page)
			return
		}
		if !c.checkPassword(page.User, r.PostFormValue("password")) {
			c.Logger.Warn("admin sign-in refused", "source_ip", ip)
			page.Error = "Wrong username or password."
			c.render(w, r, http.StatusUnauthorized, "login", page)
			return
		}
		if err := c.startSession(w, r, page.User); err != nil {
			c.Logger.Error("admin session not stored", "error", err)
			page.Error = "Could not sign you in: the database is not answering. Try again."
			c.render(w, r, http.StatusServiceUnavailable, "login", page)
			return
		}
		c.Logger.Info("admin signed in", "user", page.User, "source_ip", ip)
		http.Redirect(w, r, page.Next, http.StatusSeeOther)
	})
}

// checkPassword compares in constant time, and runs bcrypt even for an
// unknown user so that timing does not tell which part was wrong.
func (c *console) checkPassword(username, password string) bool {
	userOK := subtle.ConstantTimeCompare([]byte(username), []byte(c.Admin.User)) == 1
	passOK := bcrypt.CompareHashAndPassword([]byte(c.Admin.PasswordHash.Value()), []byte(password)) == nil
	return userOK && passOK
}

func (c *console) startSession(w http.ResponseWriter, r *http.Request, username string) error {
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	expires := c.Now().Add(sessionTTL)
	if err := c.DB.CreateSession(r.Context(), c.tokenHash(token), username, expires); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: token, Path: "/admin/", Expires: expires, MaxAge: int(sessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overHTTPS(r),
	})
	return nil
}

func (c *console) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cookie, err := r.Cookie(cookieName); err == nil && cookie.Value != "" {
			if err := c.DB.DeleteSession(r.Context(), c.tokenHash(cookie.Value)); err != nil {
				c.Logger.Error("admin session not deleted", "error", err)
			}
		}
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/admin/", MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: overHTTPS(r)})
		http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
	})
}

// overHTTPS tells whether the browser reached us over TLS, directly or
// through a proxy that terminates it.
func overHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// safeNext keeps redirects after login inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/admin/"
	}
	return next
}

// loginLimiter allows a few sign-in attempts per client address per
// minute. There is no limit for all clients together, which would let
// anyone lock the operators out; bcrypt makes each guess slow anyway.
type loginLimiter struct {
	mu      sync.Mutex
	now     func() time.Time
	clients map[string]*rate.Limiter
}

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, clients: map[string]*rate.Limiter{}}
}

func (l *loginLimiter) allow(client string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.clients) > 10000 {
		clear(l.clients) // forget idle clients rather than grow without bound
	}
	lim, ok := l.clients[client]
	if !ok {
		lim = rate.NewLimiter(rate.Every(12*time.Second), 5)
		l.clients[client] = lim
	}
	return lim.AllowN(l.now(), 1)
}
