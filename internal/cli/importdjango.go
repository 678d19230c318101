package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

const importDjangoSummary = `Copy the orders and items of the Django app being replaced into this database,
with what became of them there: PROCESSED items are enrolled, ERROR ones failed
(retry them from the console), NEW and PROCESSING ones are recorded as resolved
with the note "` + ops.NotSentNote + `" unless --enqueue-pending
enrolls them now. Orders here already are left alone: running it again changes
nothing. The old app's orders name no shop: they are given the one Shopify shop
and WooCommerce site configured, or those --shop and --site name.

--from is the old app's database URL: sqlite:<path>, postgres://user:pass@host/db
or mysql://user:pass@host:port/db (MariaDB too; tls=true and socket=<path>
parameters). It is only read.`

func importDjango(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var opt ops.ImportOptions
	var from string
	fs := newFlagSet(env, "import-django", importDjangoSummary)
	flags.registerDatabase(fs)
	fs.StringVar(&from, "from", "", "the Django app's database URL (required)")
	fs.StringVar(&opt.Shop, "shop", "", "the Shopify shop the old app served (default: the one configured)")
	fs.StringVar(&opt.Site, "site", "", "the WooCommerce site the old app served (default: the one configured)")
	fs.BoolVar(&opt.EnqueuePending, "enqueue-pending", false, "enroll the items the old app never enrolled (NEW or PROCESSING there)")
	fs.BoolVar(&opt.DryRun, "dry-run", false, "print what would be imported and change nothing")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(from) == "" {
		return usageError(fs, "--from is required: the Django app's database URL")
	}
	opt.From = config.RedactURL(from)
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	old, err := store.OpenDjango(ctx, from)
	if err != nil {
		return err
	}
	defer old.Close()
	report, err := o.ImportDjango(ctx, actor(env), old, opt)
	if err != nil {
		return fmt.Errorf("import from %s: %w", opt.From, err)
	}
	printImport(plain(env.stdout), opt.From, report)
	return nil
}

var platformNames = map[enroll.Platform]string{enroll.Shopify: "Shopify", enroll.WooCommerce: "WooCommerce"}

func printImport(w io.Writer, from string, r ops.ImportReport) {
	verb := "imported"
	if r.DryRun {
		verb = "to import"
		fmt.Fprintf(w, "Dry run: nothing is changed.\n")
	}
	fmt.Fprintf(w, "The old app's database: %s\n", from)
	for _, c := range r.Platforms {
		if c.Read == 0 && c.Source == "" {
			fmt.Fprintf(w, "%s orders: none\n", platformNames[c.Platform])
			continue
		}
		fmt.Fprintf(w, "%s orders (%s): %d read, %d %s, %d here already (left alone)\n",
			platformNames[c.Platform], c.Source, c.Read, c.Imported, verb, c.Existing)
		var parts []string
		for _, s := range enroll.ItemStatuses() {
			if n := c.Items[s]; n > 0 {
				part := fmt.Sprintf("%d %s", n, s)
				switch s {
				case enroll.ItemResolved:
					part += " (" + ops.NotSentNote + ")"
				case enroll.ItemPending:
					part += " (enqueued)"
				}
				parts = append(parts, part)
			}
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "  items: %s\n", strings.Join(parts, ", "))
		}
	}
}
