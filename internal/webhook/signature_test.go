package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestSign(t *testing.T) {
	// Known answers computed independently of this code, so Sign cannot
	// agree with Verify while both are wrong.
	tests := []struct {
		secret, body, want string
	}{
		{"hello", "world", "8ayXAutfryPKKRpNxG3t3u4qeMza8KQSvtdxTP/7HMQ="},
		{"bye", "bye", "HHfaL+C4HxPTexmlKO9pwEHuAXkErAz85APGPOgvBVU="},
		{"foo", "bar", "+TILrwJJFp5zhQzWFW3tAQbiu2rYyrAbe7vr5tEGUxc="},
	}
	for _, tt := range tests {
		t.Run(tt.secret+"/"+tt.body, func(t *testing.T) {
			if got := Sign([]byte(tt.secret), []byte(tt.body)); got != tt.want {
				t.Errorf("Sign(%q, %q) = %q, want %q", tt.secret, tt.body, got, tt.want)
			}
			if !Verify([]byte(tt.body), tt.want, []string{tt.secret}) {
				t.Errorf("Verify(%q, %q, [%q]) = false, want true", tt.body, tt.want, tt.secret)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":5834765623456}`)
	sig := Sign([]byte("new-secret"), body)
	tests := []struct {
		name      string
		body      []byte
		signature string
		secrets   []string
		want      bool
	}{
		{"one secret", body, sig, []string{"new-secret"}, true},
		{"rotated: second secret", body, sig, []string{"old-secret", "new-secret"}, true},
		{"rotated: first secret", body, Sign([]byte("old-secret"), body), []string{"old-secret", "new-secret"}, true},
		{"surrounding whitespace", body, " " + sig + "\n", []string{"new-secret"}, true},
		{"wrong secret", body, sig, []string{"old-secret"}, false},
		{"no secrets", body, sig, nil, false},
		{"tampered body", []byte(`{"id":5834765623457}`), sig, []string{"new-secret"}, false},
		{"empty signature", body, "", []string{"new-secret"}, false},
		{"garbage signature", body, "not base64!", []string{"new-secret"}, false},
		{"hex signature", body, "f9320baf0249169e73850cd6156ded0106e2bb6ad8cab01b7bbbebe6d1065317", []string{"foo"}, false},
		{"truncated signature", body, sig[:len(sig)-4], []string{"new-secret"}, false},
		{"unpadded signature", body, sig[:len(sig)-1], []string{"new-secret"}, false},
		{"empty secret never matches", body, Sign(nil, body), []string{""}, false},
		{"empty secret is skipped", body, sig, []string{"", "new-secret"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verify(tt.body, tt.signature, tt.secrets); got != tt.want {
				t.Errorf("Verify() = %v, want %v", got, tt.want)
			}
		})
	}
}

// FuzzVerify checks Verify against an HMAC computed here, on any body,
// secret and signature; and that a signature made by Sign verifies, while
// the same signature with one bit flipped, or the body with one bit
// flipped, does not.
func FuzzVerify(f *testing.F) {
	f.Add([]byte("world"), "hello", "8ayXAutfryPKKRpNxG3t3u4qeMza8KQSvtdxTP/7HMQ=")
	f.Add([]byte("world"), "hello", " 8ayXAutfryPKKRpNxG3t3u4qeMza8KQSvtdxTP/7HMQ=\n")
	f.Add([]byte("world"), "hello", "8ayXAutfryPKKRpNxG3t3u4qeMza8KQSvtdxTP/7HMR=")
	f.Add([]byte(""), "", "")
	f.Add([]byte(`{"id":1}`), "secret", "not base64!")
	f.Fuzz(func(t *testing.T, body []byte, secret, signature string) {
		want := false
		if secret != "" {
			decoded, err := base64.StdEncoding.DecodeString(strings.TrimSpace(signature))
			h := hmac.New(sha256.New, []byte(secret))
			h.Write(body)
			want = err == nil && bytes.Equal(decoded, h.Sum(nil))
		}
		if got := Verify(body, signature, []string{secret}); got != want {
			t.Fatalf("Verify(%q, %q, [%q]) = %v; want %v", body, signature, secret, got, want)
		}
		if secret == "" {
			return
		}
		sig := Sign([]byte(secret), body)
		if !Verify(body, sig, []string{"other", secret}) {
			t.Fatalf("Verify rejects its own signature for secret %q", secret)
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil || len(raw) != sha256.Size {
			t.Fatalf("Sign = %q: not the base64 of a SHA-256 HMAC", sig)
		}
		bit := byte(1) << (len(secret) % 8)
		raw[len(body)%len(raw)] ^= bit
		if flipped := base64.StdEncoding.EncodeToString(raw); Verify(body, flipped, []string{secret}) {
			t.Fatalf("Verify accepts the signature %q with a bit flipped (%q)", sig, flipped)
		}
		if len(body) > 0 {
			changed := bytes.Clone(body)
			changed[len(secret)%len(changed)] ^= bit
			if Verify(changed, sig, []string{secret}) {
				t.Fatalf("Verify accepts the signature of %q for %q", body, changed)
			}
		}
	})
}
