package server

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ingest"
)

// credentialWords mark a header whose value is a credential, by its name
// (case-insensitive): such values never reach the database.
var credentialWords = []string{"auth", "token", "key", "secret", "password", "session", "cookie", "signature", "hmac"}

const masked = "[masked]"

func isCredential(name string) bool {
	name = strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// maskHeaders returns the headers of an authenticated request as stored:
// all of them, with every credential masked.
func maskHeaders(h http.Header) http.Header {
	out := h.Clone()
	for name := range out {
		if isCredential(name) {
			out[name] = []string{masked}
		}
	}
	return out
}

// Limits on what an unauthenticated request leaves in the database.
const (
	maxHeaderName  = 64
	maxHeaderValue = 256
	maxHeadersSize = 2048 // names and values together
)

// operatorHeaders returns the headers of a request that was not
// authenticated as stored: only those that tell an operator which
// platform, shop and client sent it (the platform's own X-Shopify-* and
// X-WC-* headers, User-Agent, Content-Type, Content-Length), the first
// value of each, cut to maxHeaderValue, maxHeadersSize in all, with
// credentials masked. Anyone can send such a request with any headers.
func operatorHeaders(h http.Header) http.Header {
	names := make([]string, 0, len(h))
	for name := range h {
		if operatorHeader(name) && len(name) <= maxHeaderName && len(h[name]) > 0 {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	out, size := http.Header{}, 0
	for _, name := range names {
		v := masked
		if !isCredential(name) {
			v = printable(h[name][0], maxHeaderValue)
		}
		if size+len(name)+len(v) > maxHeadersSize {
			continue
		}
		size += len(name) + len(v)
		out[name] = []string{v}
	}
	return out
}

func operatorHeader(name string) bool {
	name = http.CanonicalHeaderKey(name)
	switch name {
	case "User-Agent", "Content-Type", "Content-Length":
		return true
	}
	return strings.HasPrefix(name, "X-Shopify-") || strings.HasPrefix(name, "X-Wc-")
}

// printable is ingest.Printable : a value sent by anyone, made safe to
// store and show.
func printable(s string, max int) string { return ingest.Printable(s, max) }

// ClientIP is the peer address, or, when the peer is a trusted proxy, the
// nearest address in X-Forwarded-For that is not itself a trusted proxy.
func ClientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	client := host
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = addr.String()
		if !isTrusted(addr, trusted) {
			break
		}
	}
	return client
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	addr = addr.Unmap()
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
