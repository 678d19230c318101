package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maskedHeaders never reach the database with their values.
var maskedHeaders = []string{shopifySignatureHeader, wooSignatureHeader, "Authorization", "Cookie"}

func maskHeaders(h http.Header) http.Header {
	out := h.Clone()
	for _, name := range maskedHeaders {
		if _, ok := out[name]; ok {
			out[name] = []string{"[masked]"}
		}
	}
	return out
}

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
