package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// What a shop lock is for (TryLockShop): one reconciliation, and one
// health check, of a shop at a time.
const (
	LockReconcile = "reconcile"
	LockCheck     = "check"
)

// shopLock is the class of the PostgreSQL advisory locks of TryLockShop.
// Its two-key space does not overlap the migration lock's one-key space.
const shopLock = 0x5752_0002

// TryLockShop takes the lock of what (LockReconcile, LockCheck) of a shop
// for as long as the caller runs it, across processes, without waiting:
// ok is false while another holds it. unlock releases it; a process that
// ends releases its locks. On PostgreSQL it is a session advisory lock on
// a connection of its own; on SQLite an flock of a file beside the
// database's, named after the shop.
func (db *DB) TryLockShop(ctx context.Context, what string, p enroll.Platform, source string) (unlock func(), ok bool, err error) {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s", what, p, source)
	key := h.Sum64()
	if db.dialect != Postgres {
		path, err := SQLitePath(db.url)
		if err != nil {
			return nil, false, err
		}
		return flockFile(fmt.Sprintf("%s-lock-%016x", path, key))
	}
	conn, err := pgx.Connect(ctx, db.url)
	if err != nil {
		return nil, false, fmt.Errorf("connect for the %s lock of %s: %w", what, source, err)
	}
	closeConn := func() { conn.Close(context.WithoutCancel(ctx)) }
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(shopLock), int32(key)).Scan(&ok); err != nil {
		closeConn()
		return nil, false, fmt.Errorf("take the %s lock of %s: %w", what, source, err)
	}
	if !ok {
		closeConn()
		return nil, false, nil
	}
	return closeConn, true, nil // the session's end releases it
}

// errLocked is what flockFile's platform code says of a file locked by
// another.
var errLocked = errors.New("locked")

// flockFile takes an exclusive lock of the file at path, creating it,
// without waiting.
func flockFile(path string) (unlock func(), ok bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("open lock file: %w", err)
	}
	release, err := tryFlock(f)
	if err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { release(); f.Close() }, true, nil
}
