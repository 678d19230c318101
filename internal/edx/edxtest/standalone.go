package edxtest

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
)

// Options configure a fake LMS started by Listen.
type Options struct {
	Addr         string // host:port to listen on; port 0 picks a free one
	ClientID     string // default "test-client"
	ClientSecret string // default "test-secret"
	// Logger, when set, hears of every request: method, path, the form
	// fields that matter (never the client secret) and the status answered.
	Logger *slog.Logger
}

// Listen starts a fake LMS like Start, on an address of the caller's
// choice, for running it on its own (cmd/fakelms); the caller stops it
// with Close.
func Listen(o Options) (*LMS, error) {
	if o.ClientID == "" {
		o.ClientID = "test-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "test-secret"
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("fake LMS: %w", err)
	}
	l, h := newLMS(o.ClientID, o.ClientSecret)
	if o.Logger != nil {
		h = logRequests(o.Logger, h)
	}
	l.srv = httptest.NewUnstartedServer(h)
	l.srv.Listener.Close()
	l.srv.Listener = ln
	l.srv.Start()
	l.URL = l.srv.URL
	return l, nil
}

// logRequests logs each request once it is answered.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Parsed here so that the form can be logged; the handlers find
		// it parsed.
		_ = r.ParseForm()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", rec.status}
		f := r.PostForm
		switch r.URL.Path {
		case "/oauth2/access_token":
			attrs = append(attrs, "grant_type", f.Get("grant_type"), "client_id", f.Get("client_id"), "token_type", f.Get("token_type"))
		case BulkEnrollPath:
			attrs = append(attrs, "authorization", r.Header.Get("Authorization"), "action", f.Get("action"),
				"courses", f.Get("courses"), "identifiers", f.Get("identifiers"),
				"auto_enroll", f.Get("auto_enroll"), "email_students", f.Get("email_students"))
		case AccountsPath:
			attrs = append(attrs, "email", r.URL.Query().Get("email"))
		}
		logger.Info("lms call", attrs...)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
