package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
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
	createDirs := fs.Bool("create-dirs", false, "check a new SQLite file's location as 'serve --create-dirs' would use it: missing directories pass if they can be created")
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
	cfg, warnings, err := flags.read(env)
	if err == nil {
		report("config", nil, fmt.Sprintf("%d Shopify shop(s), %d WooCommerce site(s)", len(cfg.Shopify), len(cfg.WooCommerce)))
	}
	if names := cfg.LegacyNames(); len(names) > 0 {
		fmt.Fprintf(env.stdout, "info %-12s read the Django app's setting names: %s\n", "config", strings.Join(names, ", "))
	}
	for _, w := range warnings { // before a failure, which they may explain
		fmt.Fprintf(env.stdout, "warn %-12s %s\n", "config", w)
	}
	if err != nil {
		report("config", err, "")
		return fmt.Errorf("%d check(s) failed", failed)
	}
	msg, warn, err := checkDatabase(ctx, env, cfg, *createDirs)
	report("database", err, msg)
	if warn != "" {
		fmt.Fprintf(env.stdout, "warn %-12s %s\n", "database", warn)
	}
	if lms := newLMSClient(cfg, nil); lms == nil {
		report("lms", fmt.Errorf("WEBHOOK_RECEIVER_LMS_BASE_URL is not set"), "")
	} else {
		tokenURL, bulkURL := config.RedactURL(lms.TokenURL()), config.RedactURL(lms.BulkEnrollURL())
		tctx, cancel := context.WithTimeout(ctx, checkTimeout)
		_, err := lms.Token(tctx)
		cancel()
		report("lms token", probed(tokenURL, err), "obtained an OAuth2 token from "+config.RedactURL(cfg.LMS.BaseURL))
		tctx, cancel = context.WithTimeout(ctx, checkTimeout)
		status, err := lms.ProbeBulkEnroll(tctx)
		cancel()
		msg, err := probeResult(status, err)
		report("bulk enroll", probed(bulkURL, err), msg)
	}
	if failed > 0 {
		return fmt.Errorf("%d check(s) failed", failed)
	}
	return nil
}

// checkDatabase reports whether serve could open (or create) the database,
// its version and whether its schema is current, and a warning when it
// names no database of ours yet. It changes nothing: it neither leaves a
// SQLite file behind nor migrates.
func checkDatabase(ctx context.Context, env *environment, cfg config.Config, createDirs bool) (msg, warn string, err error) {
	if d, _ := store.DialectOf(cfg.DatabaseURL); d == store.SQLite {
		exists, err := store.ProbeSQLite(cfg.DatabaseURL, createDirs)
		if err != nil {
			return "", "", probedDatabase(cfg, err)
		}
		if !exists {
			return strings.TrimPrefix(missingFile(cfg), ": ") + " yet: serve or migrate creates it (the location is writable)",
				noDatabase(env, cfg, missingFile(cfg)), nil
		}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: cfg.DatabaseMaxConns, Existing: true})
	if err != nil {
		return "", "", probedDatabase(cfg, err)
	}
	defer db.Close()
	has, err := db.HasSchema(ctx)
	if err != nil {
		return "", "", probedDatabase(cfg, err)
	}
	// A write transaction on an empty SQLite file would write its header:
	// the probe above has shown that file to be writable.
	if has || db.Dialect() != store.SQLite {
		if err := db.Ping(ctx); err != nil {
			return "", "", probedDatabase(cfg, err)
		}
	}
	pending, err := db.PendingMigrations(ctx)
	if err != nil {
		return "", "", probedDatabase(cfg, err)
	}
	queuePending, err := jobs.PendingMigrations(ctx, db)
	if err != nil {
		return "", "", probedDatabase(cfg, err)
	}
	pending += queuePending
	version, err := db.Version(ctx)
	if err != nil {
		return "", "", probedDatabase(cfg, err)
	}
	if !has {
		warn = noDatabase(env, cfg, noTables)
	}
	msg = fmt.Sprintf("%s at %s, schema current", version, config.RedactURL(cfg.DatabaseURL))
	if pending > 0 {
		msg = fmt.Sprintf("%s at %s, %d migration(s) pending: serve or migrate applies them", version, config.RedactURL(cfg.DatabaseURL), pending)
	}
	return msg, warn, nil
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

// probed names the URL a failed check posted to (without credentials),
// once: an error of the HTTP client names it already, which is cut.
func probed(target string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.Replace(msg, fmt.Sprintf("%s %q: ", ue.Op, ue.URL), "", 1)
	}
	return fmt.Errorf("POST %s: %s", target, msg)
}

// probedDatabase names the database URL a failed check opened (without its
// password), and the setting that gave it.
func probedDatabase(cfg config.Config, err error) error {
	hint := ""
	if errors.Is(err, store.ErrNoDirectory) {
		hint = ": create it, or use --create-dirs"
	}
	return fmt.Errorf("%s (%s): %w%s", config.RedactURL(cfg.DatabaseURL), cfg.DatabaseURLSource(), err, hint)
}
