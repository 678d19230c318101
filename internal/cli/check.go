package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// checkTimeout bounds each check that talks to another service.
const checkTimeout = 15 * time.Second

func check(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	fs := newFlagSet(env, "check", "Validate the configuration, open the database, obtain an OAuth2 token\nand probe the LMS bulk enrollment view; for each shop and site with API access, call its API,\ncheck its webhook subscriptions and count the orders reconciliation found in the last 7 days.\nExits non-zero if any check fails.")
	flags.register(fs)
	rawURL := fs.String("url", "", "the receiver's public https:// address the shops' webhooks must deliver to (default $WEBHOOK_RECEIVER_PUBLIC_URL; without either, our endpoint's path on any host counts)")
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
	if cfg.HasAPI() {
		base, err := receiverURL(cfg, *rawURL)
		if err != nil {
			report("shops", err, "")
		} else {
			checkShops(ctx, env, cfg, base, report)
		}
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

// reconciledWindow is how far back check counts the orders that reached
// the store only through reconciliation.
const reconciledWindow = 7 * 24 * time.Hour

// checkShops reports, for each shop and site with API access, whether its
// API answers and in which version, the state of each subscription it
// needs (FAIL when down), and the orders that reached the store only
// through reconciliation in the last week (WARN when there are any). It
// changes nothing.
func checkShops(ctx context.Context, env *environment, cfg config.Config, base *url.URL,
	report func(name string, err error, ok string)) {
	tctx, cancel := context.WithTimeout(ctx, checkTimeout)
	reports, err := ops.ShopsStatus(tctx, cfg, ops.ShopsOptions{Base: base, HTTPClient: env.httpClient})
	cancel()
	if err != nil {
		report("shops", err, "")
		return
	}
	reconciled, readErr := reconciledSince(ctx, cfg, time.Now().Add(-reconciledWindow))
	for _, r := range reports {
		if r.Skipped != "" {
			continue
		}
		target := r.API
		if r.Platform == enroll.WooCommerce {
			target += "/webhooks"
		}
		if r.Err != nil {
			report("shop api", fmt.Errorf("%s: %w", r.Shop, probedVia(apiMethod(r.Platform), target, r.Err)), "")
			continue
		}
		report("shop api", nil, fmt.Sprintf("%s: API %s answered at %s", r.Shop, r.APIVersion, r.API))
		for _, w := range ops.NeededStates(cfg, r, base) {
			at := w.Address
			if at == "" {
				at = "-"
			}
			line := fmt.Sprintf("%s %s %s (%s)", r.Shop, w.Topic, w.State, at)
			if !w.Up {
				report("shop webhook", errors.New(line), "")
			} else {
				report("shop webhook", nil, line)
			}
		}
		switch n, found := reconciledOf(reconciled, r); {
		case readErr != nil:
			// The database line says why it could not be read.
		case found && n.Missing+n.Stale > 0:
			fmt.Fprintf(env.stdout, "warn %-12s %s: %d order(s) reached the store only through reconciliation in the last 7 days "+
				"(%d missing, %d stale): its webhooks lost them\n", "reconciled", r.Shop, n.Missing+n.Stale, n.Missing, n.Stale)
		default:
			report("reconciled", nil, r.Shop+": no order reached the store only through reconciliation in the last 7 days")
		}
	}
}

// apiMethod is how a shop's API is called for its subscriptions.
func apiMethod(p enroll.Platform) string {
	if p == enroll.Shopify {
		return http.MethodPost // GraphQL
	}
	return http.MethodGet
}

// reconciledSince reads the orders found by reconciliation since a time,
// from the database if it exists (check creates none).
func reconciledSince(ctx context.Context, cfg config.Config, since time.Time) ([]store.Reconciled, error) {
	if d, _ := store.DialectOf(cfg.DatabaseURL); d == store.SQLite {
		if exists, err := store.ProbeSQLite(cfg.DatabaseURL, false); err != nil || !exists {
			return nil, errors.New("no database")
		}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: cfg.DatabaseMaxConns, Existing: true})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.ReconciledSince(ctx, since)
}

func reconciledOf(all []store.Reconciled, r ops.ShopReport) (store.Reconciled, bool) {
	for _, n := range all {
		if n.Platform == r.Platform && enroll.SameSource(r.Platform, n.Source, r.Shop) {
			return n, true
		}
	}
	return store.Reconciled{}, false
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
func probed(target string, err error) error { return probedVia(http.MethodPost, target, err) }

// probedVia is probed for a call with another method.
func probedVia(method, target string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = strings.Replace(msg, fmt.Sprintf("%s %q: ", ue.Op, ue.URL), "", 1)
	}
	return fmt.Errorf("%s %s: %s", method, target, msg)
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
