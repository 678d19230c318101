package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

const privacyUsage = `Usage: webhook-receiver privacy <subcommand> [flags]

Subcommands:
  export --email X              print, as JSON, everything stored about an email (any case): orders, items,
                                attempts, deliveries with their bodies, operators' actions, privacy requests
  redact --email X [--shop S]   erase an email's personal data by hand (a WooCommerce shop's GDPR request):
                                every order whose buyer or a learner has it, in one shop or in all; prints counts
  requests [--pending]          list privacy requests: Shopify's compliance webhooks and redactions by hand
  answer ID [--note N]          mark a data request answered

A redaction never unenrolls anyone. Run 'webhook-receiver privacy <subcommand> -h' for its flags.
`

func privacy(ctx context.Context, env *environment, args []string) error {
	return subcommand(ctx, env, args, "privacy", privacyUsage, map[string]command{
		"export": privacyExport, "redact": privacyRedact, "requests": privacyRequests, "answer": privacyAnswer,
	})
}

func privacyExport(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var email string
	fs := newFlagSet(env, "privacy export", "Print, as JSON, everything stored about an email, in any case: the orders whose buyer or a learner\n"+
		"has it, with their items, attempts, refunds, deliveries (with their bodies) and operators' actions; other\n"+
		"deliveries whose body holds it; and the privacy requests about it. Ids are strings. Read it before you send\n"+
		"it on: an order's body also names the other learners of the order.")
	flags.registerDatabase(fs)
	fs.StringVar(&email, "email", "", "the email address (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(email) == "" {
		return usageError(fs, "--email is required")
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	x, err := o.Export(ctx, email)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(env.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

func privacyRedact(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var email, shop string
	fs := newFlagSet(env, "privacy redact", "Erase an email's personal data by hand: every order whose buyer or a learner has the email\n"+
		"(any case) loses its emails (each item's becomes redacted-<item id>), the bodies, parsed orders and\n"+
		"headers of its deliveries, and errors and notes that could hold an address; other deliveries, errors\n"+
		"and notes holding the email are cleared too. Orders, items, statuses and attempts stay; nobody is\n"+
		"unenrolled. Recorded as a privacy request and, on each order, an action.")
	flags.registerDatabase(fs)
	fs.StringVar(&email, "email", "", "the email address (required)")
	fs.StringVar(&shop, "shop", "", "only this shop: a Shopify domain or a WooCommerce site URL (default: every shop)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if strings.TrimSpace(email) == "" {
		return usageError(fs, "--email is required")
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	c, err := o.Redact(ctx, actor(env), shop, email)
	if err != nil {
		return err
	}
	where := "every shop"
	if strings.TrimSpace(shop) != "" {
		where = strings.TrimSpace(shop)
	}
	fmt.Fprintf(plain(env.stdout), "redacted in %s: %s\n", where, c)
	return nil
}

func privacyRequests(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var pending bool
	var page pageFlags
	fs := newFlagSet(env, "privacy requests", "List privacy requests, newest first: Shopify's customers/redact, shop/redact and\n"+
		"customers/data_request webhooks, and redactions made by hand. A data request waits until it is answered\n"+
		"('privacy export --email' gives the answer, 'privacy answer ID' records it).")
	flags.registerDatabase(fs)
	fs.BoolVar(&pending, "pending", false, "only data requests not answered yet")
	page.register(fs, "requests", "print one JSON object per request and line")
	if err := parse(fs, args); err != nil {
		return err
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	rs, next, err := o.DB.ListPrivacyRequests(ctx, store.PrivacyFilter{Pending: pending, Before: page.before, Limit: page.limit})
	if err != nil {
		return err
	}
	return printPage(env, "requests", rs, next, page.asJSON, store.ExportRequestOf, printPrivacyRequests)
}

// printPrivacyRequests prints privacy requests as a table.
func printPrivacyRequests(w io.Writer, rs []store.PrivacyRequest) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRECEIVED\tSHOP\tTOPIC\tEMAIL\tCUSTOMER\tORDERS\tDONE\tNOTE")
	for _, r := range rs {
		done := "-"
		switch {
		case !r.DoneAt.IsZero():
			done = r.DoneAt.UTC().Format(time.DateTime)
		case r.Pending():
			done = "waiting"
		}
		customer := "-"
		if r.CustomerID != 0 {
			customer = strconv.FormatInt(r.CustomerID, 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.ReceivedAt.UTC().Format(time.DateTime), dash(r.Source),
			r.Topic, dash(r.Email), customer, dash(oneLine(joinInts(r.OrderIDs), 40)), done, dash(oneLine(r.Note, 60)))
	}
	tw.Flush()
}

func privacyAnswer(ctx context.Context, env *environment, args []string) error {
	var flags configFlags
	var note string
	fs := newFlagSet(env, "privacy answer ID", "Mark a data request answered, once its export has been sent to the shop.")
	flags.registerDatabase(fs)
	fs.StringVar(&note, "note", "", "how it was answered")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError(fs, "want one privacy request id")
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return usageError(fs, "privacy request id %q: want a number", pos[0])
	}
	o, closeDB, err := openOps(ctx, env, &flags)
	if err != nil {
		return err
	}
	defer closeDB()
	if err := o.AnswerDataRequest(ctx, actor(env), id, note); err != nil {
		return err
	}
	fmt.Fprintf(plain(env.stdout), "privacy request %d marked answered\n", id)
	return nil
}

func joinInts(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}
