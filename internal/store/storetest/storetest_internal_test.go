package storetest

import "testing"

func TestPostgresServer(t *testing.T) {
	const server = "postgres://postgres@127.0.0.1:5432/test"
	tests := []struct {
		name     string
		env      map[string]string
		wantURL  string
		whenGone onMissing
	}{
		{"server named", map[string]string{"TEST_DATABASE_URL": server}, server, runTest},
		{"server named in CI", map[string]string{"TEST_DATABASE_URL": server, "CI": "true"}, server, runTest},
		{"no server: skipped", nil, "", skipMissing},
		{"no server, CI not true: skipped", map[string]string{"CI": "false"}, "", skipMissing},
		{"no server in CI: failed", map[string]string{"CI": "true"}, "", failMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, missing := postgresServer(func(k string) string { return tt.env[k] })
			if url != tt.wantURL || missing != tt.whenGone {
				t.Errorf("postgresServer = %q, %d; want %q, %d", url, missing, tt.wantURL, tt.whenGone)
			}
		})
	}
}
