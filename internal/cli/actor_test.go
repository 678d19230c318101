package cli

import (
	"errors"
	"testing"
)

func TestActor(t *testing.T) {
	unknown := func() (string, error) { return "", errors.New("user: unknown userid 4242") }
	deploy := func() (string, error) { return "deploy", nil }
	for _, tt := range []struct {
		user   string
		osUser func() (string, error)
		want   string
	}{
		{"alice", unknown, "cli:alice"},
		{"alice", deploy, "cli:alice"},
		{"", deploy, "cli:deploy"},
		{"  ", deploy, "cli:deploy"},
		{"", unknown, "cli"},
		{"", func() (string, error) { return "", nil }, "cli"},
	} {
		env := &environment{getenv: func(k string) string {
			if k == "USER" {
				return tt.user
			}
			return ""
		}, osUser: tt.osUser}
		if got := actor(env); got != tt.want {
			t.Errorf("actor with USER %q = %q; want %q", tt.user, got, tt.want)
		}
	}
}
