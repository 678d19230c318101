package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// ordersUsage is the orders command's help; which items each action takes
// is printed from the rules themselves (enroll, ops).
var ordersUsage = fmt.Sprintf(`Usage: webhook-receiver orders <subcommand> [flags]

Subcommands:
  list                 list orders, newest first, one line per item
  show ID              an order with its items, attempts, deliveries and operator actions
  retry ID             retry the failed items of an order now, with a fresh attempt budget
  retry --item N[,M]   retry items by id (%s ones)
  retry --all-failed   retry every failed item matching the filter flags (at least one is required)
  resolve ITEM --note  mark an item (%s) resolved by hand, saying why

ID is the shop's order id. Run 'webhook-receiver orders <subcommand> -h' for its flags.

%s`, enroll.Or(enroll.RetryableStatuses()), enroll.Or(enroll.ResolvableStatuses()), itemStatusHelp())

// itemStatusHelp lists the item statuses with what each means, as enroll
// describes them.
func itemStatusHelp() string {
	var b strings.Builder
	b.WriteString("Item statuses:\n")
	width := 0
	for _, s := range enroll.ItemStatuses() {
		width = max(width, len(s))
	}
	for _, s := range enroll.ItemStatuses() {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, s, s.Describe())
	}
	return b.String()
}

func orders(ctx context.Context, env *environment, args []string) error {
	return subcommand(ctx, env, args, "orders", ordersUsage, map[string]command{
		"list": ordersList, "show": ordersShow, "retry": ordersRetry, "resolve": ordersResolve,
	})
}

func ordersList(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var filters filterFlags
	var page pageFlags
	fs := newFlagSet(env, "orders list", "List orders, newest first, one line per item (orders without items: one line).\n"+
		"More pages: pass --before the number printed at the end.\n\n"+strings.TrimSuffix(itemStatusHelp(), "\n"))
	flags.registerDatabase(fs)
	filters.register(fs, true)
	page.register(fs, "orders", "print one JSON object per order and line")
	if err := parse(fs, args); err != nil {
		return err
	}
	f, err := filters.filter(time.Now())
	if err != nil {
		return usageError(fs, "%v", err)
	}
	f.Limit, f.Before = page.limit, page.before
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	list, next, err := o.DB.ListOrders(ctx, f)
	if err != nil {
		return err
	}
	return printPage(env, "orders", list, next, page.asJSON, orderView, printOrders)
}

func printOrders(w io.Writer, list []store.OrderRecord) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER\tSHOP\tCREATED\tORDER STATUS\tITEM\tLEARNER\tCOURSE\tSTATUS\tATTEMPTS\tLAST ERROR")
	for _, o := range list {
		head := fmt.Sprintf("%d\t%s\t%s\t%s", o.ExternalID, dash(o.Source), o.CreatedAt.UTC().Format("2006-01-02 15:04"), o.Status)
		if len(o.Items) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\n", head)
		}
		for _, it := range o.Items {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%s\n", head, it.ID, dash(it.Email), course(it), itemStatus(it), it.Attempts, dash(oneLine(it.LastError, 60)))
		}
	}
	tw.Flush()
}

// findOrder finds the order a shop order id names, asking for --source
// when several shops have one.
func findOrder(ctx context.Context, db *store.DB, arg, source string) (store.OrderRecord, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return store.OrderRecord{}, fmt.Errorf("order id %q: want the shop's order number", arg)
	}
	found, err := db.OrdersByExternalID(ctx, id)
	if err != nil {
		return store.OrderRecord{}, err
	}
	found = ops.OrdersOfShop(found, "", source)
	switch len(found) {
	case 0:
		if source != "" {
			return store.OrderRecord{}, fmt.Errorf("order %d of %s: %w", id, source, enroll.ErrNotFound)
		}
		return store.OrderRecord{}, fmt.Errorf("order %d: %w", id, enroll.ErrNotFound)
	case 1:
		return found[0], nil
	}
	var shops []string
	for _, o := range found {
		shops = append(shops, fmt.Sprintf("%s %s", o.Platform, dash(o.Source)))
	}
	return store.OrderRecord{}, fmt.Errorf("order %d exists in %d shops (%s): choose one with --source", id, len(found), strings.Join(shops, ", "))
}

func ordersShow(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var source string
	var asJSON bool
	fs := newFlagSet(env, "orders show ID", "Show an order (ID is the shop's order id) with its items, every attempt, the deliveries\nthat carried it (headers with signatures masked, body) and what operators did.")
	flags.registerDatabase(fs)
	fs.StringVar(&source, "source", "", "shop domain or site URL, when several shops have an order with this id")
	fs.BoolVar(&asJSON, "json", false, "print JSON")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fs, "want one order id")
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	ord, err := findOrder(ctx, o.DB, pos[0], source)
	if err != nil {
		return err
	}
	d, err := o.DB.OrderDetail(ctx, ord.ID)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(detailView(d))
	}
	printDetail(plain(env.stdout), d)
	return nil
}

func printDetail(w io.Writer, d store.OrderDetail) {
	fmt.Fprintf(w, "Order %d of %s (%s), internal id %d\n", d.ExternalID, dash(d.Source), d.Platform, d.ID)
	fact := func(label, value string) { fmt.Fprintf(w, "  %-8s %s\n", label, value) }
	fact("status", string(d.Status))
	fact("shop", strings.Join(append([]string{dash(d.Snapshot.ShopStatus)}, d.Snapshot.Notes()...), ", "))
	fact("buyer", dash(d.Email))
	fact("created", d.CreatedAt.UTC().Format(time.RFC3339))
	if d.Snapshot.At.IsZero() {
		fact("snapshot", "none applied yet")
	} else {
		fact("snapshot", d.Snapshot.At.UTC().Format(time.RFC3339)+" (the shop's update applied last)")
	}
	fact("ignored", fmt.Sprintf("%s, %s: changed nothing", count(d.StaleSnapshots(), "stale snapshot", "stale snapshots"),
		count(d.Duplicates(), "duplicate delivery", "duplicate deliveries")))
	if !d.RedactedAt.IsZero() {
		fact("redacted", d.RedactedAt.UTC().Format(time.RFC3339)+" (personal data erased)")
	}
	fmt.Fprintf(w, "\nItems\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ITEM\tLINE\tSKU\tLEARNER\tCOURSE\tMODE\tWANT\tSTATUS\tREFUNDED\tATTEMPTS\tUPDATED\tLAST ERROR")
	for _, it := range d.Items {
		fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", it.ID, it.LineItemID, dash(it.SKU), dash(it.Email),
			dash(it.CourseID), mode(it.Mode), dash(string(it.Want)), it.Status, yes(it.Refunded), it.Attempts,
			it.UpdatedAt.UTC().Format("2006-01-02 15:04:05"), dash(oneLine(it.LastError, 80)))
	}
	tw.Flush()
	if lines := d.Lines(); len(lines) > 0 {
		fmt.Fprintf(w, "\nLines\n")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  LINE\tSKU\tSEATS\tUNASSIGNED\tREFUNDED")
		for _, l := range lines {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%d\t%d\n", l.LineItemID, dash(l.SKU), l.Seats, l.Seats.Unassigned, l.Seats.Refunded)
		}
		tw.Flush()
	}
	if len(d.Refunds) > 0 {
		fmt.Fprintf(w, "\nRefunds\n")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  REFUND\tLINE\tQUANTITY\tTIME")
		for _, r := range d.Refunds {
			fmt.Fprintf(tw, "  %d\t%d\t%d\t%s\n", r.RefundID, r.LineItemID, r.Quantity, r.At.UTC().Format("2006-01-02 15:04:05"))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nAttempts\n")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  ITEM\tTIME\tOUTCOME\tHTTP\tDETAIL")
	n := 0
	for _, it := range d.Items {
		for _, a := range d.Attempts[it.ID] {
			n++
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", a.ItemID, a.At.UTC().Format("2006-01-02 15:04:05"), a.Outcome, httpStatus(a.HTTPStatus), dash(oneLine(a.Detail, 100)))
		}
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(w, "  (none yet)")
	}
	fmt.Fprintf(w, "\nDeliveries\n")
	for _, dl := range d.Deliveries {
		fmt.Fprintf(w, "  #%d  %s  %s %s  HTTP %d", dl.ID, dl.ReceivedAt.UTC().Format(time.RFC3339), dl.Platform, dash(dl.Path), dl.Status)
		if dl.Reason != "" {
			fmt.Fprintf(w, "  %s", dash(dl.Reason))
		}
		fmt.Fprintf(w, "  from %s, %d bytes\n", dash(dl.SourceIP), dl.BodySize)
		var headers map[string][]string
		if json.Unmarshal([]byte(dl.Headers), &headers) == nil {
			for _, k := range slices.Sorted(maps.Keys(headers)) {
				fmt.Fprintf(w, "    %s: %s\n", dash(k), dash(strings.Join(headers[k], ", ")))
			}
		}
		if dl.Body != nil {
			fmt.Fprintf(w, "    body:\n%s\n", indent(prettyBody(dl.Body), "      "))
		}
	}
	if len(d.Actions) > 0 {
		fmt.Fprintf(w, "\nActions\n")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  TIME\tACTOR\tACTION\tITEM\tNOTE")
		for _, a := range d.Actions {
			item := "-"
			if a.ItemID != 0 {
				item = strconv.FormatInt(a.ItemID, 10)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", a.At.UTC().Format("2006-01-02 15:04:05"), dash(a.Actor), dash(a.Action), item, dash(a.Note))
		}
		tw.Flush()
	}
}

func ordersRetry(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var filters filterFlags
	var source, items string
	var allFailed bool
	fs := newFlagSet(env, "orders retry ID | --item N[,M...] | --all-failed [filters]",
		fmt.Sprintf("Retry now, with a fresh attempt budget: the failed items of an order (ID is the shop's order id),\n"+
			"items by id (%s ones; others are left alone), or every failed item matching the\n"+
			"filters (at most %d at a time; at least one filter is required: %s).\n"+
			"A running 'serve' or 'worker' enrolls them.", enroll.Or(enroll.RetryableStatuses()), ops.MaxRetryFailed, filterNames))
	flags.registerDatabase(fs)
	fs.BoolVar(&allFailed, "all-failed", false, "retry every failed item matching the filter flags (at least one)")
	fs.StringVar(&items, "item", "", "item ids to retry, comma-separated")
	filters.register(fs, false)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	source = filters.source
	modes := 0
	for _, on := range []bool{len(pos) > 0, items != "", allFailed} {
		if on {
			modes++
		}
	}
	if modes != 1 || len(pos) > 1 {
		return usageError(fs, "want one order id, or --item, or --all-failed")
	}
	var ids []int64
	if items != "" {
		for s := range strings.SplitSeq(items, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return usageError(fs, "--item %q: want item ids such as 12,13", items)
			}
			ids = append(ids, id)
		}
	}
	f, err := filters.filter(time.Now())
	if err != nil {
		return usageError(fs, "%v", err)
	}
	if allFailed && !ops.HasFilter(f) {
		return usageError(fs, "--all-failed needs at least one filter (%s): it never retries every failed item there is", filterNames)
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	var retried []int64
	switch {
	case allFailed:
		if retried, err = o.RetryFailed(ctx, actor(env), f); err != nil {
			return err
		}
	case items != "":
		if retried, err = o.Retry(ctx, actor(env), ids...); err != nil {
			return err
		}
	default:
		ord, err := findOrder(ctx, o.DB, pos[0], source)
		if err != nil {
			return err
		}
		if len(ops.FailedItems(ord)) == 0 {
			fmt.Fprintf(plain(env.stdout), "order %d of %s has no failed items (status %s)\n", ord.ExternalID, ord.Source, ord.Status)
			return nil
		}
		if retried, err = o.RetryOrder(ctx, actor(env), ord); err != nil {
			return err
		}
	}
	if len(retried) == 0 {
		fmt.Fprintln(env.stdout, "nothing to retry")
		return nil
	}
	fmt.Fprintf(env.stdout, "retried %d item(s): %s\n", len(retried), joinIDs(retried))
	if len(retried) == ops.MaxRetryFailed {
		fmt.Fprintf(env.stdout, "that is the most one run retries: run it again for the rest\n")
	}
	return nil
}

func ordersResolve(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var note string
	fs := newFlagSet(env, "orders resolve ITEM --note TEXT", fmt.Sprintf("Mark an item (by item id, see 'orders show'; a %s one) resolved by hand: it is not\n"+
		"retried and its order no longer counts as an error. The note says why; it is recorded with your name.",
		enroll.Or(enroll.ResolvableStatuses())))
	flags.registerDatabase(fs)
	fs.StringVar(&note, "note", "", "why the item needs nothing more (required)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fs, "want one item id")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usageError(fs, "item id %q: want a number", pos[0])
	}
	if strings.TrimSpace(note) == "" {
		return usageError(fs, "--note is required: say why the item needs nothing more")
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := o.Resolve(ctx, actor(env), id, note); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "item %d resolved\n", id)
	return nil
}
