package shopifytest

import (
	"net/http"
	"strconv"
	"time"
)

// tokenPath is where an app from the Dev Dashboard asks for an access
// token by the client-credentials grant.
const tokenPath = "/admin/oauth/access_token"

// clientCredentials is the app the token endpoint knows, and the tokens
// it issued with their expiry on the fake's clock.
type clientCredentials struct {
	id, secret string
	lifetime   time.Duration
	issued     map[string]time.Time
	count      int
}

// SetClientCredentials turns the token endpoint on: POST
// /admin/oauth/access_token with grant_type=client_credentials and this
// client id and secret answers a new token, accepted by the API for
// lifetime (on the fake's clock), as Shopify does for an app of the Dev
// Dashboard (24 hours there).
func (s *Shop) SetClientCredentials(id, secret string, lifetime time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cc = &clientCredentials{id: id, secret: secret, lifetime: lifetime, issued: map[string]time.Time{}}
}

// TokensIssued counts the tokens the token endpoint gave.
func (s *Shop) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cc == nil {
		return 0
	}
	return s.cc.count
}

// validToken tells whether the API accepts token now; s.mu is held.
func (s *Shop) validToken(token string) bool {
	if token == "" {
		return false
	}
	if token == s.token {
		return true
	}
	if s.cc == nil {
		return false
	}
	expiry, ok := s.cc.issued[token]
	return ok && s.now().Before(expiry)
}

func (s *Shop) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.cc == nil:
		http.NotFound(w, r)
	case r.PostForm.Get("grant_type") != "client_credentials":
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unsupported_grant_type"})
	case r.PostForm.Get("client_id") != s.cc.id || r.PostForm.Get("client_secret") != s.cc.secret:
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_client",
			"error_description": "Client authentication failed"})
	default:
		s.cc.count++
		token := "shpat_cc_" + strconv.Itoa(s.cc.count)
		s.cc.issued[token] = s.now().Add(s.cc.lifetime)
		writeJSON(w, http.StatusOK, map[string]any{"access_token": token, "scope": "read_orders,write_webhooks",
			"expires_in": int(s.cc.lifetime / time.Second)})
	}
}
