package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// checkTimeout bounds each check that talks to another service.
const checkTimeout = 15 * time.Second

func check(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	fs := newFlagSet(env, "check", "Validate the configuration, open the database, obtain an OAuth2 token\nand probe the LMS bulk enrollment view. Exits non-zero if any check fails.")
	flags.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	failed := 0
	report := func(name string, err error, ok string) {
		if err != nil {
			failed++
			fmt.Fprintf(env.stdout, "FAIL %-12s %v\n", name, err)
			return
		}
		fmt.Fprintf(env.stdout, "ok   %-12s %s\n", name, ok)
	}
	cfg, warnings, err := flags.load(env)
	report("config", err, fmt.Sprintf("%d Shopify shop(s), %d WooCommerce site(s)", len(cfg.Shopify), len(cfg.WooCommerce)))
	if err != nil {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	for _, w := range warnings {
		fmt.Fprintf(env.stdout, "warn %-12s %s\n", "config", w)
	}
	msg, err := checkDatabase(ctx, cfg)
	report("database", err, msg)
	if lms := newLMSClient(cfg, nil); lms == nil {
		report("lms", fmt.Errorf("WEBHOOK_RECEIVER_LMS_BASE_URL is not set"), "")
	} else {
		tctx, cancel := context.WithTimeout(ctx, checkTimeout)
		_, err := lms.Token(tctx)
		cancel()
		report("lms token", err, "obtained an OAuth2 token from "+cfg.LMS.BaseURL)
		tctx, cancel = context.WithTimeout(ctx, checkTimeout)
		status, err := lms.ProbeBulkEnroll(tctx)
		cancel()
		msg, err := probeResult(status, err)
		report("bulk enroll", err, msg)
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

// checkDatabase opens the database and reports its version and whether its
// schema is current. It changes nothing: it neither creates a SQLite file
// nor migrates.
func checkDatabase(ctx context.Context, cfg config.Config) (string, error) {
	if path, missing := missingSQLiteFile(cfg.DatabaseURL); missing {
		return fmt.Sprintf("sqlite file %s does not exist yet: serve or migrate creates it", path), nil
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: cfg.DatabaseMaxConns})
	if err != nil {
		return "", fmt.Errorf("%s: %w", cfg.DatabaseURLSource(), err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		return "", err
	}
	pending, err := db.PendingMigrations(ctx)
	if err != nil {
		return "", err
	}
	queuePending, err := jobs.PendingMigrations(ctx, db)
	if err != nil {
		return "", err
	}
	pending += queuePending
	version, err := db.Version(ctx)
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("%s at %s, schema current", version, config.RedactURL(cfg.DatabaseURL))
	if pending > 0 {
		msg = fmt.Sprintf("%s at %s, %d migration(s) pending: serve or migrate applies them", version, config.RedactURL(cfg.DatabaseURL), pending)
	}
	return msg, nil
}

// missingSQLiteFile tells whether the database is a SQLite file that does
// not exist, which opening it would create. Other URLs, and URLs store.Open
// rejects, are not missing.
func missingSQLiteFile(databaseURL string) (string, bool) {
	if d, err := store.DialectOf(databaseURL); err != nil || d != store.SQLite {
		return "", false
	}
	path, err := store.SQLitePath(databaseURL)
	if err != nil {
		return "", false
	}
	_, err = os.Stat(path)
	return path, errors.Is(err, fs.ErrNotExist)
}

// probeResult reads the bulk enrollment view's answer to a call without credentials.
func probeResult(status int, err error) (string, error) {
	switch {
	case err != nil:
		return "", fmt.Errorf("LMS unreachable: %w", err)
	case status == 401 || status == 403:
		return fmt.Sprintf("view enabled (HTTP %d without credentials)", status), nil
	case status == 404:
		return "", fmt.Errorf("view not found (HTTP 404): set FEATURES['ENABLE_BULK_ENROLLMENT_VIEW'] = True in the LMS settings and restart the LMS")
	}
	return "", fmt.Errorf("unexpected HTTP %d from the bulk enrollment view", status)
}
