package ops

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Importing the Django app's history (import-django): its orders and
// items are copied here with what became of them there, so that the
// console shows them, a redelivery of one of them is a duplicate, and
// what the Django app gave up on can be retried.
//
// An item's status here (DjangoItemStatus):
//
//   - PROCESSED there: enrolled.
//   - ERROR there: failed, so that an operator can retry it.
//   - NEW or PROCESSING there (never sent, or cut short): pending and
//     enqueued with EnqueuePending; otherwise resolved, with the note
//     NotSentNote, which an operator can retry to send it.
//
// The Django app's orders name no shop (it served one shop and one site):
// they are given the shop and site of ImportOptions, or the one shop or
// site configured (ImportSources).

// NotSentNote is the last error of an imported item the Django app never
// enrolled, imported without --enqueue-pending.
const NotSentNote = "imported, not sent by the old app"

// ImportOptions are the choices of an import.
type ImportOptions struct {
	// Shop and Site name the shop and site the Django app served; empty
	// for the one configured.
	Shop, Site string
	// EnqueuePending enrolls the items the Django app never enrolled
	// (NEW or PROCESSING there).
	EnqueuePending bool
	// DryRun counts what would be imported and changes nothing.
	DryRun bool
	// From names the Django app's database in the import actions, without
	// its password.
	From string
	// BatchSize is the orders imported per transaction (default 500).
	BatchSize int
}

// ImportCounts tells what an import did with one platform's orders.
type ImportCounts struct {
	Platform enroll.Platform
	// Source is the shop or site the orders were given.
	Source string
	// Read counts the Django app's orders; Imported those stored here;
	// Existing those that were here already, left alone.
	Read, Imported, Existing int
	// Items counts the items of the imported orders by their status here.
	Items map[enroll.ItemStatus]int
	// Enqueued counts the pending items enqueued (EnqueuePending).
	Enqueued int
}

// ImportReport is what an import did, per platform with tables in the
// Django app's database.
type ImportReport struct {
	DryRun    bool
	Platforms []ImportCounts
}

// DjangoItemStatus is the status here of an item the Django app left in
// status s, and why, for an item that needs an operator's eye.
func DjangoItemStatus(s store.DjangoStatus, enqueuePending bool) (enroll.ItemStatus, string) {
	switch s {
	case store.DjangoProcessed:
		return enroll.ItemEnrolled, ""
	case store.DjangoError:
		return enroll.ItemFailed, "the old app gave up on it (ERROR there): retry it to try again"
	case store.DjangoNew, store.DjangoProcessing:
		if enqueuePending {
			return enroll.ItemPending, ""
		}
		return enroll.ItemResolved, fmt.Sprintf("%s (%s there): retry it to send it", NotSentNote, s)
	}
	return enroll.ItemFailed, fmt.Sprintf("the old app left it in an unknown state (%s): retry it to try again", s)
}

// djangoOrderStatus is the status here of an imported order: its items'
// (enroll.StatusOf), or for an order without items, the one it had there.
func djangoOrderStatus(o store.DjangoOrder, items []store.ImportedItem) enroll.OrderStatus {
	if len(items) > 0 {
		statuses := make([]enroll.ItemStatus, len(items))
		for i, it := range items {
			statuses[i] = it.Status
		}
		return enroll.StatusOf(statuses)
	}
	switch o.Status {
	case store.DjangoProcessed:
		return enroll.OrderProcessed
	case store.DjangoError:
		return enroll.OrderError
	}
	return enroll.OrderNew
}

// ImportSources finds the shop and site the Django app's orders are given,
// for the platforms that have orders there (counts): the one named in opt,
// which must be configured, or else the only one configured. It refuses
// when none is configured or several are and opt names none.
func (o *Ops) ImportSources(opt ImportOptions, counts map[enroll.Platform]int) (map[enroll.Platform]string, error) {
	sources := map[enroll.Platform]string{}
	shops := make([]string, len(o.Config.Shopify))
	for i, s := range o.Config.Shopify {
		shops[i] = s.Domain
	}
	sites := make([]string, len(o.Config.WooCommerce))
	for i, s := range o.Config.WooCommerce {
		sites[i] = s.StoredSource()
	}
	for _, c := range []struct {
		p                    enroll.Platform
		named, flag, setting string
		configured           []string
		noun, platformName   string
		find                 func(string) (string, bool)
	}{
		{enroll.Shopify, opt.Shop, "--shop", o.Config.Source("shopify[].shop_domain"), shops, "shop", "Shopify",
			func(s string) (string, bool) { shop, ok := o.Config.Shop(s); return shop.Domain, ok }},
		{enroll.WooCommerce, opt.Site, "--site", o.Config.Source("woocommerce[].source"), sites, "site", "WooCommerce",
			func(s string) (string, bool) {
				site, ok := o.Config.Site(s)
				return site.StoredSource(), ok
			}},
	} {
		n := counts[c.p]
		switch {
		case strings.TrimSpace(c.named) != "":
			source, ok := c.find(strings.TrimSpace(c.named))
			switch {
			case !ok && len(c.configured) == 0:
				return nil, refuse("%s %q is not a configured %s %s: none is; configure it (%s) before importing",
					c.flag, c.named, c.platformName, c.noun, c.setting)
			case !ok:
				return nil, refuse("%s %q is not a configured %s %s (configured: %s): name one of them, or configure it (%s) first",
					c.flag, c.named, c.platformName, c.noun, strings.Join(c.configured, ", "), c.setting)
			}
			sources[c.p] = source
		case n == 0:
		case len(c.configured) == 1:
			sources[c.p] = c.configured[0]
		case len(c.configured) == 0:
			return nil, refuse("the old app's database has %d %s order(s), and no %s %s is configured: "+
				"configure the %s the old app served (%s) before importing, or name it with %s",
				n, c.platformName, c.platformName, c.noun, c.noun, c.setting, c.flag)
		default:
			return nil, refuse("the old app's database has %d %s order(s), and %d %ss are configured (%s): "+
				"name the one the old app served with %s",
				n, c.platformName, len(c.configured), c.noun, strings.Join(c.configured, ", "), c.flag)
		}
	}
	return sources, nil
}

// ImportDjango copies the Django app's orders and items into the
// receiver's database (see the package's comment on import-django), or
// with opt.DryRun counts what it would copy. Orders here already are left
// alone: a second import changes nothing. Each imported order gets an
// import action by actor.
func (o *Ops) ImportDjango(ctx context.Context, actor string, old *store.DjangoDB, opt ImportOptions) (ImportReport, error) {
	report := ImportReport{DryRun: opt.DryRun}
	counts := map[enroll.Platform]int{}
	var platforms []enroll.Platform
	for _, p := range []enroll.Platform{enroll.Shopify, enroll.WooCommerce} {
		has, err := old.HasTables(ctx, p)
		if err != nil {
			return report, err
		}
		if !has {
			continue
		}
		if counts[p], err = old.CountOrders(ctx, p); err != nil {
			return report, err
		}
		platforms = append(platforms, p)
	}
	if len(platforms) == 0 {
		shopOrders, _ := store.DjangoTables(enroll.Shopify)
		wooOrders, _ := store.DjangoTables(enroll.WooCommerce)
		return report, refuse("no table of the old app in %s (looked for %s and %s): is it the old app's database?",
			old, shopOrders, wooOrders)
	}
	sources, err := o.ImportSources(opt, counts)
	if err != nil {
		return report, err
	}
	batch := opt.BatchSize
	if batch <= 0 {
		batch = 500
	}
	actor = strings.TrimSpace(actor)
	for _, p := range platforms {
		c := ImportCounts{Platform: p, Source: sources[p], Items: map[enroll.ItemStatus]int{}}
		if counts[p] > 0 {
			if err := o.importPlatform(ctx, actor, old, opt, batch, &c); err != nil {
				return report, err
			}
		}
		report.Platforms = append(report.Platforms, c)
	}
	return report, nil
}

func (o *Ops) importPlatform(ctx context.Context, actor string, old *store.DjangoDB, opt ImportOptions, batch int, c *ImportCounts) error {
	after := int64(math.MinInt64)
	for {
		page, err := old.Orders(ctx, c.Platform, after, batch)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		after = page[len(page)-1].ID
		c.Read += len(page)
		orders := make([]store.ImportedOrder, len(page))
		for i, d := range page {
			orders[i] = o.importedOrder(c.Platform, c.Source, d, opt)
		}
		if opt.DryRun {
			if err := o.countDryRun(ctx, orders, c); err != nil {
				return err
			}
			continue
		}
		res, err := o.DB.ImportOrders(ctx, orders, actor, o.Enqueue)
		if err != nil {
			return err
		}
		c.Imported += res.Orders
		c.Existing += res.Existing
		c.Enqueued += len(res.Enqueued)
		for s, n := range res.Items {
			c.Items[s] += n
		}
	}
}

// countDryRun counts what ImportOrders would do with orders.
func (o *Ops) countDryRun(ctx context.Context, orders []store.ImportedOrder, c *ImportCounts) error {
	ids := make([]int64, len(orders))
	for i, ord := range orders {
		ids[i] = ord.ExternalID
	}
	here, err := o.DB.ExistingOrders(ctx, c.Platform, c.Source, ids)
	if err != nil {
		return err
	}
	for _, ord := range orders {
		if here[ord.ExternalID] {
			c.Existing++
			continue
		}
		c.Imported++
		seen := map[[2]string]bool{}
		for _, it := range ord.Items {
			if key := [2]string{it.SKU, it.Email}; !seen[key] {
				seen[key] = true
				c.Items[it.Status]++
				if it.Status == enroll.ItemPending {
					c.Enqueued++
				}
			}
		}
	}
	return nil
}

// importedOrder is a Django app's order as it is imported.
func (o *Ops) importedOrder(p enroll.Platform, source string, d store.DjangoOrder, opt ImportOptions) store.ImportedOrder {
	items := make([]store.ImportedItem, len(d.Items))
	for i, it := range d.Items {
		status, note := DjangoItemStatus(it.Status, opt.EnqueuePending)
		items[i] = store.ImportedItem{SKU: it.SKU, Email: it.Email, Status: status, LastError: note}
		if status == enroll.ItemEnrolled && strings.HasPrefix(it.SKU, "course-v1:") {
			items[i].CourseID = it.SKU // as the Django app enrolled it
		}
	}
	from := opt.From
	if from == "" {
		from = "its database"
	}
	return store.ImportedOrder{Platform: p, Source: source, ExternalID: d.ID, Email: d.Email,
		Status: djangoOrderStatus(d, items), CreatedAt: d.Received, Items: items,
		Note: fmt.Sprintf("imported from the old app (%s), where the order was %s", from, d.Status)}
}
