package shopify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ErrClientCredentials: the shop refused the client id and secret.
var ErrClientCredentials = errors.New("the shop refused the client id and secret: check client_id and client_secret")

// grant is the access token of an app from the Dev Dashboard, obtained by
// the client-credentials grant and kept until shortly before it expires.
type grant struct {
	id, secret string

	mu      sync.Mutex
	token   string
	refresh time.Time // when to ask for a new one
}

// accessToken returns the token to send: the configured one, or a granted
// one, asked for when there is none or it is about to expire.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if c.grant == nil {
		return c.token, nil
	}
	g := c.grant
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.token != "" && c.now().Before(g.refresh) {
		return g.token, nil
	}
	token, lifetime, err := c.requestToken(ctx)
	if err != nil {
		return "", err
	}
	if lifetime <= 0 {
		lifetime = time.Hour // unsaid: ask again within the hour
	}
	// Refresh when a tenth of its life is left, and at least a minute before.
	g.token, g.refresh = token, c.now().Add(lifetime-max(lifetime/10, time.Minute))
	return token, nil
}

// forgetToken drops a granted token the shop refused, so that the next
// request asks for a new one.
func (c *Client) forgetToken() {
	if c.grant == nil {
		return
	}
	c.grant.mu.Lock()
	c.grant.token = ""
	c.grant.mu.Unlock()
}

// requestToken asks the shop for a token: POST /admin/oauth/access_token.
// Neither the secret nor the answer's body is ever put in an error.
func (c *Client) requestToken(ctx context.Context) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.grant.id}, "client_secret": {c.grant.secret}}
	endpoint := (&url.URL{Scheme: "https", Host: c.domain, Path: "/admin/oauth/access_token"}).String()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("shopify %s: access token: %w", c.domain, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("shopify %s: access token: %w", c.domain, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, fmt.Errorf("shopify %s: access token: read answer: %w", c.domain, err)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized:
		return "", 0, fmt.Errorf("shopify %s: access token: answered %s: %w", c.domain, resp.Status, ErrClientCredentials)
	case resp.StatusCode != http.StatusOK:
		return "", 0, fmt.Errorf("shopify %s: access token: answered %s", c.domain, resp.Status)
	}
	var answer struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &answer); err != nil || answer.AccessToken == "" {
		return "", 0, fmt.Errorf("shopify %s: access token: the answer holds no access_token", c.domain)
	}
	return answer.AccessToken, time.Duration(answer.ExpiresIn * float64(time.Second)), nil
}
