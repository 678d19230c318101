package edx

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// authorized makes one call to an enrollment API (bulk enroll, accounts,
// enrollment) with the client's token, within the rate limit, and not at
// all while the LMS asked to pause. A refused token is replaced and the
// call made once more. op names the call in errors ("bulk enroll"). The
// answer may be any status; a call that got none returns an error.
func (c *Client) authorized(ctx context.Context, op, endpoint, method, target string, b *body, limit int64) (answer, error) {
	for attempt := 1; ; attempt++ {
		if err := c.wait(ctx, op); err != nil {
			return answer{}, err
		}
		tok, err := c.Token(ctx)
		if err != nil {
			return answer{}, fmt.Errorf("%s: %w", op, err)
		}
		header := http.Header{"Authorization": {"JWT " + tok}}
		a, err := c.send(ctx, endpoint, c.post, method, target, b, header, limit)
		if err != nil {
			return answer{}, fmt.Errorf("%s: %w", op, err)
		}
		if a.status == http.StatusUnauthorized && attempt == 1 {
			// The token expired early or the LMS rotated its signing keys.
			c.dropToken(tok)
			continue
		}
		return a, nil
	}
}

// apiError describes an answer other than success from an enrollment API;
// a 429 with Retry-After pauses every call of the client for that long.
func (c *Client) apiError(op string, a answer) *APIError {
	e := &APIError{Op: op, Status: a.status, Detail: summary(a.body)}
	switch {
	case a.status == http.StatusTooManyRequests:
		e.RetryAfter = retryAfter(a.header.Get("Retry-After"), c.now())
		if e.RetryAfter > 0 {
			c.pause(e.RetryAfter)
		}
	case a.status == http.StatusUnauthorized:
		e.Detail = "the LMS refused a freshly issued token: " + e.Detail
	case a.status == http.StatusForbidden:
		e.Detail = "the OAuth2 application's user must be global staff: " + e.Detail
	case isRedirect(a.status):
		e.Detail = redirectDetail(a)
	}
	return e
}

// wait holds a call back for the rate limit, and refuses it while the LMS
// asked to pause, so that callers reschedule instead of hammering it.
func (c *Client) wait(ctx context.Context, op string) error {
	if err := c.paused(op); err != nil {
		return err
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("%s: wait for rate limit: %w", op, err)
		}
		// The pause may have begun while this call waited.
		return c.paused(op)
	}
	return nil
}

func (c *Client) paused(op string) error {
	c.pauseMu.Lock()
	left := c.pausedUntil.Sub(c.now())
	c.pauseMu.Unlock()
	if left <= 0 {
		return nil
	}
	return &APIError{Op: op, Status: http.StatusTooManyRequests, RetryAfter: left,
		Detail: "not sent: the LMS throttled an earlier call"}
}

func (c *Client) pause(d time.Duration) {
	c.pauseMu.Lock()
	defer c.pauseMu.Unlock()
	if until := c.now().Add(d); until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
}
