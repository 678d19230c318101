package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

const deliveriesUsage = `Usage: webhook-receiver deliveries <subcommand> [flags]

Subcommands:
  list        list webhook deliveries, newest first (--rejected: only those not answered 200)
  replay ID   process a stored delivery again, as if the shop had sent it anew

Run 'webhook-receiver deliveries <subcommand> -h' for its flags.
`

func deliveries(ctx context.Context, env *environment, args []string) error {
	return subcommand(ctx, env, args, "deliveries", deliveriesUsage, map[string]command{
		"list": deliveriesList, "replay": deliveriesReplay,
	})
}

func deliveriesList(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var rejected bool
	var page pageFlags
	fs := newFlagSet(env, "deliveries list", "List webhook deliveries, newest first: time, shop, answer, reason, source IP.\nRejected ones (--rejected) show a mis-configured shop secret or a stranger knocking;\npast the first 10 a minute from one address for one reason, they are counted in one row\n(\"and 19,950 more like it\").")
	flags.registerDatabase(fs)
	fs.BoolVar(&rejected, "rejected", false, "only deliveries not answered 200")
	page.register(fs, "deliveries", "print one JSON object per delivery and line (without bodies)")
	if err := parse(fs, args); err != nil {
		return err
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	ds, next, err := o.DB.ListDeliveries(ctx, store.DeliveryFilter{Rejected: rejected, Before: page.before, Limit: page.limit})
	if err != nil {
		return err
	}
	return printPage(env, "deliveries", ds, next, page.asJSON, deliveryView, printDeliveries)
}

// printDeliveries prints deliveries as a table.
func printDeliveries(w io.Writer, ds []store.DeliveryRecord) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tPLATFORM\tSOURCE\tSTATUS\tREASON\tSOURCE IP\tPATH\tBODY")
	for _, d := range ds {
		body := "-"
		if d.HasBody {
			body = strconv.FormatInt(d.BodySize, 10) + " bytes"
		}
		reason := oneLine(d.Reason, 60)
		if more := d.MoreLikeIt(); more != "" {
			reason += ", " + more
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", d.ID, d.ReceivedAt.UTC().Format(time.DateTime), d.Platform,
			dash(d.Source), d.Status, dash(reason), dash(d.SourceIP), dash(d.Path), body)
	}
	tw.Flush()
}

func deliveriesReplay(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	fs := newFlagSet(env, "deliveries replay ID", "Process a stored delivery again without the shop re-sending it: its order is read\n"+
		"with today's settings, new items are enrolled, failed ones get a fresh attempt budget.\n"+
		"Only authenticated deliveries (those with a stored body) can be replayed.")
	flags.registerDatabase(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fs, "want one delivery id")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usageError(fs, "delivery id %q: want a number", pos[0])
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	res, err := o.Replay(ctx, actor(env), id)
	if err != nil {
		return err
	}
	d, err := o.DB.OrderDetail(ctx, res.OrderID)
	if err != nil {
		return err
	}
	fmt.Fprintf(plain(env.stdout), "replayed delivery %d as delivery %d: order %d of %s (%s), %d item(s) enqueued\n",
		id, res.DeliveryID, d.ExternalID, d.Source, d.Status, len(res.Enqueued))
	return nil
}
