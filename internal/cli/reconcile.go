package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

func reconcile(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	fs := newFlagSet(env, "reconcile", "Read the orders each shop and site with API access changed since --since from its API, and\n"+
		"store those the store lacks through the webhooks' ingest path, as deliveries from reconcile:\n"+
		"missing (not stored at all) and stale (stored with an older snapshot that the shop's\n"+
		"contradicts), and refunds not stored (WooCommerce's read from /orders/<id>/refunds). Their\n"+
		"learners are enrolled or unenrolled by the running service's workers. Prints a line per shop\n"+
		"and one per order found; exits non-zero when a shop failed. Shopify reads at most 60 days back.")
	flags.registerDatabase(fs)
	since := fs.String("since", "", "how far back: an age (72h, 3d), a date or a time (default $WEBHOOK_RECEIVER_RECONCILE_LOOKBACK, 72h)")
	shop := fs.String("shop", "", "only this Shopify shop domain or WooCommerce site URL")
	dryRun := fs.Bool("dry-run", false, "say what is missing, store nothing (the run is recorded as a dry run)")
	asJSON := fs.Bool("json", false, "print one JSON object per shop")
	if err := parse(fs, args); err != nil {
		return err
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	var start time.Time // zero: the configured lookback (ops.Reconcile's default)
	if *since != "" {
		if start, err = ops.ParseTime(*since, time.Now(), false); err != nil {
			return usageError(fs, "--since: %v", err)
		}
	}
	reports, err := o.Reconcile(ctx, ops.ReconcileOptions{Shop: *shop, Since: start, DryRun: *dryRun,
		StartedBy: store.ReconcileCommand, Actor: actor(env), HTTPClient: env.httpClient})
	if err != nil {
		return err
	}
	if err := printPage(env, "", reports, 0, *asJSON, reconcileView, printReconcile); err != nil {
		return err
	}
	if n := ops.ReconcileFailed(reports); n > 0 {
		return fmt.Errorf("%d shop(s) failed", n)
	}
	return nil
}

// printReconcile prints a line per shop with its counts, and one per order
// found, warning and error.
func printReconcile(w io.Writer, reports []ops.ReconcileReport) {
	if len(reports) == 0 {
		fmt.Fprintln(w, "no Shopify shop or WooCommerce site is configured")
		return
	}
	for _, r := range reports {
		if r.Skipped != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Shop, r.Skipped)
			continue
		}
		run := r.Run
		dry := ""
		if run.DryRun {
			dry = " (dry run: nothing stored)"
		}
		fmt.Fprintf(w, "%s: seen %d, missing %d, stale %d, refunds %d, unpaid %d, since %s%s\n", r.Shop, run.Seen,
			run.Missing, run.Stale, run.Refunds, r.Unpaid, run.Since.UTC().Format(time.RFC3339), dry)
		for _, f := range r.Found {
			what := "order " + strconv.FormatInt(f.OrderID, 10) + " " + f.Reason
			if f.RefundID != 0 {
				what = "order " + strconv.FormatInt(f.OrderID, 10) + " refund " + strconv.FormatInt(f.RefundID, 10)
			}
			stored := "would be stored"
			if f.DeliveryID != 0 {
				stored = fmt.Sprintf("stored as delivery %d, %d job(s) enqueued", f.DeliveryID, f.Enqueued)
			}
			fmt.Fprintf(w, "%s: %s: %s\n", r.Shop, what, stored)
		}
		for _, warning := range run.Warnings {
			fmt.Fprintf(w, "%s: warning: %s\n", r.Shop, warning)
		}
		if r.Err != nil {
			fmt.Fprintf(w, "%s: FAILED: %v\n", r.Shop, r.Err)
		}
	}
}

// reconcileJSON is a shop's reconciliation as --json prints it; ids are
// strings, as the other commands print them.
type reconcileJSON struct {
	Platform string      `json:"platform"`
	Shop     string      `json:"shop"`
	Skipped  string      `json:"skipped,omitempty"`
	Error    string      `json:"error,omitempty"`
	RunID    int64       `json:"run_id,string,omitempty"`
	Since    *time.Time  `json:"since,omitempty"`
	DryRun   bool        `json:"dry_run"`
	Seen     int         `json:"seen"`
	Missing  int         `json:"missing"`
	Stale    int         `json:"stale"`
	Refunds  int         `json:"refunds"`
	Unpaid   int         `json:"unpaid"`
	Warnings []string    `json:"warnings"`
	Found    []foundJSON `json:"found"`
}

type foundJSON struct {
	OrderID    int64  `json:"order_id,string"`
	RefundID   int64  `json:"refund_id,string,omitempty"`
	Reason     string `json:"reason"`
	DeliveryID int64  `json:"delivery_id,string,omitempty"`
	Enqueued   int    `json:"enqueued"`
}

func reconcileView(r ops.ReconcileReport) reconcileJSON {
	v := reconcileJSON{Platform: string(r.Platform), Shop: r.Shop, Skipped: r.Skipped, RunID: r.Run.ID, DryRun: r.Run.DryRun,
		Seen: r.Run.Seen, Missing: r.Run.Missing, Stale: r.Run.Stale, Refunds: r.Run.Refunds, Unpaid: r.Unpaid,
		Warnings: r.Run.Warnings, Found: []foundJSON{}}
	if v.Warnings == nil {
		v.Warnings = []string{}
	}
	if !r.Run.Since.IsZero() {
		since := r.Run.Since.UTC()
		v.Since = &since
	}
	if r.Err != nil {
		v.Error = strings.TrimSpace(r.Err.Error())
	}
	for _, f := range r.Found {
		v.Found = append(v.Found, foundJSON{OrderID: f.OrderID, RefundID: f.RefundID, Reason: f.Reason,
			DeliveryID: f.DeliveryID, Enqueued: f.Enqueued})
	}
	return v
}
