package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Sign returns the signature Shopify and WooCommerce put on a webhook body:
// base64 of HMAC-SHA256 over the raw bytes. Tests use it to sign their bodies.
func Sign(secret, body []byte) string {
	return base64.StdEncoding.EncodeToString(mac(secret, body))
}

// Verify reports whether signature signs body with any of secrets. Several
// secrets let an operator rotate one without dropping webhooks signed with
// the old one. Empty secrets never match, so a blank setting cannot open the door.
func Verify(body []byte, signature string, secrets []string) bool {
	// Compare the decoded bytes in constant time, not the strings, so a
	// caller cannot learn the signature one byte at a time.
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
	if err != nil || len(got) != sha256.Size {
		return false
	}
	for _, secret := range secrets {
		if secret != "" && hmac.Equal(got, mac([]byte(secret), body)) {
			return true
		}
	}
	return false
}

func mac(secret, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write(body)
	return h.Sum(nil)
}
