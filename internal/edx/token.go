package edx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenPath is Django OAuth Toolkit's token endpoint, as the LMS routes it.
const tokenPath = "/oauth2/access_token"

// tokenCall is one token fetch that concurrent callers wait for.
type tokenCall struct {
	done   chan struct{}
	token  string
	err    error
	gaveUp bool // the fetching caller's context ended; its error is not the others'
}

// Token returns an access token for the LMS, from the cache while it is
// fresh. Concurrent callers share one fetch, because the LMS rate-limits
// its token endpoint per IP.
func (c *Client) Token(ctx context.Context) (string, error) {
	for {
		c.tokenMu.Lock()
		if c.token != "" && c.now().Before(c.tokenExpiry) {
			tok := c.token
			c.tokenMu.Unlock()
			return tok, nil
		}
		if call := c.tokenCall; call != nil {
			c.tokenMu.Unlock()
			select {
			case <-call.done:
				if call.gaveUp && ctx.Err() == nil {
					continue // fetch it ourselves
				}
				return call.token, call.err
			case <-ctx.Done():
				return "", fmt.Errorf("token: %w", ctx.Err())
			}
		}
		call := &tokenCall{done: make(chan struct{})}
		c.tokenCall = call
		c.tokenMu.Unlock()

		tok, lifetime, err := c.fetchToken(ctx)

		c.tokenMu.Lock()
		c.tokenCall = nil
		if err == nil && lifetime > 0 {
			c.token, c.tokenExpiry = tok, c.now().Add(lifetime)
		}
		c.tokenMu.Unlock()
		if err == nil && c.observer != nil {
			c.observer.TokenRefreshed()
		}
		call.token, call.err, call.gaveUp = tok, err, ctx.Err() != nil
		close(call.done)
		return tok, err
	}
}

// dropToken forgets tok after the LMS refused it, unless another caller has
// already replaced it.
func (c *Client) dropToken(tok string) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

// TokenURL is where the client asks for OAuth2 tokens.
func (c *Client) TokenURL() string { return c.base + tokenPath }

// fetchToken asks the LMS for a JWT and returns how long to cache it.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.clientID},
		"client_secret": {c.clientSecret},
		"token_type":    {"jwt"},
	}
	a, err := c.send(ctx, EndpointToken, c.post, http.MethodPost, c.TokenURL(), formBody(form), nil, 1<<20)
	if err != nil {
		return "", 0, fmt.Errorf("token: %w", err)
	}
	if a.status != http.StatusOK {
		return "", 0, c.tokenError(a)
	}
	var body struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(a.body, &body); err != nil {
		return "", 0, fmt.Errorf("token: read answer: %w", err)
	}
	if body.AccessToken == "" {
		return "", 0, errors.New("token: answer has no access_token")
	}
	return body.AccessToken, tokenLifetime(time.Duration(body.ExpiresIn) * time.Second), nil
}

// tokenLifetime is how long to cache a token that expires in expiresIn:
// refresh 10 % or a minute early, whichever is earlier, so that a token is
// never sent just as it expires. Zero means use it once.
func tokenLifetime(expiresIn time.Duration) time.Duration {
	margin := max(expiresIn/10, time.Minute)
	return max(expiresIn-margin, 0)
}

func (c *Client) tokenError(a answer) *APIError {
	e := &APIError{Op: "token", Status: a.status}
	switch {
	case a.status == http.StatusBadRequest || a.status == http.StatusUnauthorized:
		// Django OAuth Toolkit answers {"error": "invalid_client"} and the
		// like; the code is safe to show, the request's secret never is.
		var body struct {
			Error string `json:"error"`
		}
		e.Detail = fmt.Sprintf("bad client credentials: the LMS rejected client id %q or its secret", c.clientID)
		if json.Unmarshal(a.body, &body) == nil && body.Error != "" {
			e.Detail += " (" + body.Error + ")"
		}
	case isRedirect(a.status):
		e.Detail = redirectDetail(a)
	default:
		e.Detail = summary(a.body)
	}
	if c.clientSecret != "" {
		e.Detail = strings.ReplaceAll(e.Detail, c.clientSecret, "[redacted]")
	}
	return e
}

func isRedirect(status int) bool { return status >= 300 && status < 400 }

// redirectDetail explains a redirect where the LMS API should answer directly.
func redirectDetail(a answer) string {
	return fmt.Sprintf("redirected to %s: check the LMS base URL", a.header.Get("Location"))
}
