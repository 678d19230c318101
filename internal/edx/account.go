package edx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// accountsPath is the user accounts API of the LMS.
const accountsPath = "/api/user/v1/accounts"

// AccountByEmail returns the username of the LMS account with this email;
// found is false when there is none yet (the LMS answers 404, or an empty
// list). Errors are as for BulkEnroll: *APIError for other answers, with
// RetryAfter on a 429; other errors are transient.
func (c *Client) AccountByEmail(ctx context.Context, email string) (username string, found bool, err error) {
	const op = "account lookup"
	target := c.base + accountsPath + "?" + url.Values{"email": {email}}.Encode()
	a, err := c.authorized(ctx, op, EndpointAccountLookup, http.MethodGet, target, nil, 1<<20)
	switch {
	case err != nil:
		return "", false, err
	case a.status == http.StatusNotFound:
		return "", false, nil
	case a.status != http.StatusOK:
		return "", false, c.apiError(op, a)
	}
	// Releases answer a list of accounts, or older ones the account itself.
	type account struct {
		Username string `json:"username"`
		Email    string `json:"email"`
	}
	var accounts []account
	if data := bytes.TrimSpace(a.body); bytes.HasPrefix(data, []byte("[")) {
		err = json.Unmarshal(data, &accounts)
	} else {
		var one account
		err = json.Unmarshal(data, &one)
		accounts = append(accounts, one)
	}
	if err != nil {
		return "", false, fmt.Errorf("%s: read answer: %w", op, err)
	}
	for _, acc := range accounts {
		// An answer that names another email is not this learner's.
		if acc.Username != "" && (acc.Email == "" || strings.EqualFold(acc.Email, email)) {
			return acc.Username, true, nil
		}
	}
	return "", false, nil
}
