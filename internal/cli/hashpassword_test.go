package cli_test

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	e := env{}
	for _, input := range []string{"correct horse battery\n", "correct horse battery\r\n", "correct horse battery"} {
		out, _, err := runCmd(t, e, input, "hash-password")
		if err != nil {
			t.Fatalf("hash-password: %v", err)
		}
		hash := strings.TrimSpace(out)
		if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse battery")); err != nil {
			t.Errorf("hash %q of %q does not verify: %v", hash, input, err)
		}
		if cost, _ := bcrypt.Cost([]byte(hash)); cost != bcrypt.DefaultCost {
			t.Errorf("cost %d; want %d", cost, bcrypt.DefaultCost)
		}
	}
	for _, input := range []string{"", "\n", strings.Repeat("x", 73) + "\n"} {
		if out, _, err := runCmd(t, e, input, "hash-password"); err == nil {
			t.Errorf("hash-password of %q printed %q; want a refusal", input, out)
		}
	}
	// The hash is what the console's setting wants.
	out, _, _ := runCmd(t, e, "s3cret\n", "hash-password")
	_, _, err := runCmd(t, env{"WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH": strings.TrimSpace(out),
		"WEBHOOK_RECEIVER_DATABASE_URL": "sqlite:" + t.TempDir() + "/x.db"}, "", "migrate")
	if err != nil {
		t.Errorf("the printed hash is refused as WEBHOOK_RECEIVER_ADMIN_PASSWORD_HASH: %v", err)
	}
}
