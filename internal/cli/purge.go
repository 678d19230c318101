package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
)

func purge(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var olderThan string
	var dryRun bool
	fs := newFlagSet(env, "purge", "Drop the raw bodies, parsed orders and headers of the deliveries of finished orders (every\n"+
		"item done) and of rejected deliveries received before an age, and the delivery keys as old. Orders, items,\n"+
		"statuses and attempts stay; a body dropped cannot be replayed. WEBHOOK_RECEIVER_RETENTION does it daily.")
	flags.registerDatabase(fs)
	fs.StringVar(&olderThan, "older-than", "", "age: days (90d) or a Go duration (2160h), at least 1d (required)")
	fs.BoolVar(&dryRun, "dry-run", false, "change nothing: print what would be dropped")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(olderThan) == "" {
		return usageError(fs, "--older-than is required (for example 90d)")
	}
	age, err := config.ParseRetention(olderThan)
	if err != nil {
		return usageError(fs, "--older-than: %v", err)
	}
	if age < config.MinRetention {
		return usageError(fs, "--older-than: must be at least 1d (24h), got %s", olderThan)
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	res, cut, err := o.Purge(ctx, actor(env), age, dryRun)
	if err != nil {
		return err
	}
	verb := "dropped"
	if dryRun {
		verb = "would drop (dry run)"
	}
	fmt.Fprintf(plain(env.stdout), "%s the bodies of %d deliveries received before %s: %d bytes; %d delivery keys; "+
		"%d reconciliation runs; %d webhook outages\n",
		verb, res.Deliveries, cut.UTC().Format(time.DateTime), res.Bytes, res.Keys, res.ReconcileRuns, res.Outages)
	return nil
}
