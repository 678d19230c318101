package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// The operator console's sessions, stored under the hash of their token.

// CreateSession stores a console session under the hash of its token.
func (db *DB) CreateSession(ctx context.Context, tokenHash, username string, expires time.Time) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO admin_sessions (token_hash, username, created_at, expires_at)
		VALUES ($1, $2, $3, $4)`, tokenHash, username, db.now(), expires.UTC())
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionUser returns the user of a session that has not expired, or
// enroll.ErrNotFound.
func (db *DB) SessionUser(ctx context.Context, tokenHash string) (string, error) {
	var user string
	err := db.sql.QueryRowContext(ctx, `SELECT username FROM admin_sessions WHERE token_hash = $1 AND expires_at > $2`,
		tokenHash, db.now()).Scan(&user)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("session: %w", enroll.ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("load session: %w", err)
	}
	return user, nil
}

// DeleteSession deletes a session (logging out), and every expired one.
func (db *DB) DeleteSession(ctx context.Context, tokenHash string) error {
	_, err := db.sql.ExecContext(ctx, `DELETE FROM admin_sessions WHERE token_hash = $1 OR expires_at <= $2`,
		tokenHash, db.now())
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}
