package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// What the receiver learns from the shops' own APIs (migration 0007): each
// reconciliation of a shop or site against its orders, and its webhook
// subscriptions as the health check last saw them, with the outages each
// check opened and closed. The rules that fill them are internal/ops's.

// The ways a reconciliation starts (ReconcileRun.StartedBy).
const (
	ReconcilePeriodic = "periodic" // the periodic job
	ReconcileCommand  = "command"  // webhook-receiver reconcile
	ReconcileConsole  = "console"  // the console's Reconcile now
	ReconcileRepair   = "repair"   // the health check, before it repairs a subscription
)

// ReconcileRun is one reconciliation of one shop or site.
type ReconcileRun struct {
	ID        int64
	Platform  enroll.Platform
	Source    string
	StartedBy string // ReconcilePeriodic, ReconcileCommand, ...
	Actor     string
	// Since is the start of the window read, after any cap.
	Since      time.Time
	StartedAt  time.Time
	FinishedAt time.Time
	DryRun     bool
	// Seen orders were read; Missing of them were not stored at all, Stale
	// were stored with an older snapshot than the shop's and the shop's
	// says something else; Refunds were refunds not stored.
	Seen, Missing, Stale, Refunds int
	Warnings                      []string
	// Error is why the run stopped early, or "".
	Error string
}

const reconcileColumns = `id, platform, source, started_by, actor, since, started_at, finished_at, dry_run,
	seen, missing, stale, refunds, warnings, error`

func (r *ReconcileRun) fields() []any {
	return []any{&r.ID, &r.Platform, &r.Source, &r.StartedBy, &r.Actor, &r.Since, &r.StartedAt, &r.FinishedAt,
		&r.DryRun, &r.Seen, &r.Missing, &r.Stale, &r.Refunds, lines{&r.Warnings}, &r.Error}
}

// lines scans text stored one entry per line.
type lines struct{ s *[]string }

func (l lines) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	*l.s = nil
	if s.String != "" {
		*l.s = strings.Split(s.String, "\n")
	}
	return nil
}

// RecordReconcileRun stores a finished reconciliation and returns its id.
func (db *DB) RecordReconcileRun(ctx context.Context, r ReconcileRun) (int64, error) {
	var id int64
	err := db.sql.QueryRowContext(ctx, `INSERT INTO reconcile_runs (platform, source, started_by, actor, since,
		started_at, finished_at, dry_run, seen, missing, stale, refunds, warnings, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		r.Platform, r.Source, r.StartedBy, r.Actor, r.Since.UTC(), r.StartedAt.UTC(), r.FinishedAt.UTC(), r.DryRun,
		r.Seen, r.Missing, r.Stale, r.Refunds, strings.Join(r.Warnings, "\n"), r.Error).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record reconciliation of %s: %w", r.Source, err)
	}
	return id, nil
}

// ReconcileRuns returns the latest reconciliations, newest first, at most
// limit (pageSize's default and cap); of one shop when source is set.
func (db *DB) ReconcileRuns(ctx context.Context, platform enroll.Platform, source string, limit int) ([]ReconcileRun, error) {
	var p params
	var conds []string
	if platform != "" {
		conds = append(conds, "platform = "+p.add(platform))
	}
	if source != "" {
		conds = append(conds, "source = "+p.add(source))
	}
	rs, err := queryRows(ctx, db.sql, (*ReconcileRun).fields, `SELECT `+reconcileColumns+` FROM reconcile_runs`+
		where(conds)+` ORDER BY started_at DESC, id DESC LIMIT `+p.add(pageSize(limit)), p.args...)
	if err != nil {
		return nil, fmt.Errorf("list reconciliations: %w", err)
	}
	return rs, nil
}

// Reconciled is how many orders reached a shop's store only through
// reconciliation (runs that were not dry runs).
type Reconciled struct {
	Platform       enroll.Platform
	Source         string
	Missing, Stale int
}

// ReconciledSince adds up, per shop, the orders that reached the store only
// through reconciliations started at or after since; shops with none are
// left out.
func (db *DB) ReconciledSince(ctx context.Context, since time.Time) ([]Reconciled, error) {
	rs, err := queryRows(ctx, db.sql, func(r *Reconciled) []any { return []any{&r.Platform, &r.Source, &r.Missing, &r.Stale} },
		`SELECT platform, source, SUM(missing), SUM(stale) FROM reconcile_runs
		WHERE started_at >= $1 AND NOT dry_run GROUP BY platform, source
		HAVING SUM(missing) + SUM(stale) > 0 ORDER BY platform, source`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("count reconciled orders: %w", err)
	}
	return rs, nil
}

// ShopCheck is the last health check of a shop or site.
type ShopCheck struct {
	Platform   enroll.Platform
	Source     string
	CheckedAt  time.Time
	APIVersion string
	// Error is why the shop's API could not be read; its webhooks are then
	// as the check before saw them.
	Error    string
	Webhooks []ShopWebhook
}

// ShopWebhook is a subscription a shop needs, as a check saw it.
type ShopWebhook struct {
	Topic   string
	Address string
	State   string // active, paused, disabled, missing, points elsewhere
	Up      bool
	// DownSince is when a check first saw it down, while it is.
	DownSince time.Time
	// Repaired, when recording a check, tells that the check repaired it:
	// the outage it closes is marked repaired.
	Repaired bool
}

// Outage is a time a subscription was seen down.
type Outage struct {
	ID       int64
	Platform enroll.Platform
	Source   string
	Topic    string
	State    string
	DownAt   time.Time
	// UpAt is when a check saw it up again; zero while it is down.
	UpAt     time.Time
	Repaired bool
}

// RecordShopCheck stores what a health check saw of a shop at a time. With
// checkErr set, the API could not be read: only that is recorded. Else the
// subscriptions given replace those stored; one newly down opens an
// outage, one up again closes its outage (marked repaired when it says so),
// and so does one down that is no longer given.
func (db *DB) RecordShopCheck(ctx context.Context, c ShopCheck) error {
	at := c.CheckedAt.UTC()
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO shop_checks (platform, source, checked_at, api_version, error)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform, source) DO UPDATE SET checked_at = excluded.checked_at,
			api_version = excluded.api_version, error = excluded.error`, c.Platform, c.Source, at, c.APIVersion, c.Error); err != nil {
			return fmt.Errorf("record check of %s: %w", c.Source, err)
		}
		if c.Error != "" {
			return nil
		}
		old, err := shopWebhooks(ctx, tx, c.Platform, c.Source)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM shop_webhooks WHERE platform = $1 AND source = $2`, c.Platform, c.Source); err != nil {
			return fmt.Errorf("record check of %s: %w", c.Source, err)
		}
		for _, h := range c.Webhooks {
			if err := recordWebhook(ctx, tx, c, h, old[h.Topic], at); err != nil {
				return err
			}
			delete(old, h.Topic)
		}
		// A topic no longer checked (the shop's settings need it no more)
		// has its outage closed: it would be listed as down for ever.
		for topic, h := range old {
			if h.Up {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE webhook_outages SET up_at = $1
				WHERE platform = $2 AND source = $3 AND topic = $4 AND up_at IS NULL`, at, c.Platform, c.Source, topic); err != nil {
				return fmt.Errorf("close outage of %s %s: %w", c.Source, topic, err)
			}
		}
		return nil
	})
}

// recordWebhook stores a subscription's state and opens or closes its outage.
func recordWebhook(ctx context.Context, tx *sql.Tx, c ShopCheck, h ShopWebhook, before *ShopWebhook, at time.Time) error {
	var downSince any
	wasDown := before != nil && !before.Up
	switch {
	case !h.Up && wasDown:
		downSince = before.DownSince.UTC()
	case !h.Up:
		downSince = at
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_outages (platform, source, topic, state, down_at)
			VALUES ($1, $2, $3, $4, $5)`, c.Platform, c.Source, h.Topic, h.State, at); err != nil {
			return fmt.Errorf("record outage of %s %s: %w", c.Source, h.Topic, err)
		}
	case wasDown:
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_outages SET up_at = $1, repaired = $2
			WHERE platform = $3 AND source = $4 AND topic = $5 AND up_at IS NULL`,
			at, h.Repaired, c.Platform, c.Source, h.Topic); err != nil {
			return fmt.Errorf("close outage of %s %s: %w", c.Source, h.Topic, err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO shop_webhooks (platform, source, topic, address, state, up, checked_at, down_since)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.Platform, c.Source, h.Topic, h.Address, h.State, h.Up, at, downSince)
	if err != nil {
		return fmt.Errorf("record webhook %s of %s: %w", h.Topic, c.Source, err)
	}
	return nil
}

func (h *ShopWebhook) fields() []any {
	return []any{&h.Topic, &h.Address, &h.State, &h.Up, nullTime{&h.DownSince}}
}

const webhookColumns = `topic, address, state, up, down_since`

func shopWebhooks(ctx context.Context, q querier, platform enroll.Platform, source string) (map[string]*ShopWebhook, error) {
	hs, err := queryRows(ctx, q, (*ShopWebhook).fields, `SELECT `+webhookColumns+` FROM shop_webhooks
		WHERE platform = $1 AND source = $2`, platform, source)
	if err != nil {
		return nil, fmt.Errorf("read webhooks of %s: %w", source, err)
	}
	out := make(map[string]*ShopWebhook, len(hs))
	for i := range hs {
		out[hs[i].Topic] = &hs[i]
	}
	return out, nil
}

// ShopChecks returns the last check of every shop checked, with its
// subscriptions, by platform and shop.
func (db *DB) ShopChecks(ctx context.Context) ([]ShopCheck, error) {
	var out []ShopCheck
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		cs, err := queryRows(ctx, tx, func(c *ShopCheck) []any {
			return []any{&c.Platform, &c.Source, &c.CheckedAt, &c.APIVersion, &c.Error}
		}, `SELECT platform, source, checked_at, api_version, error FROM shop_checks ORDER BY platform, source`)
		if err != nil {
			return fmt.Errorf("list shop checks: %w", err)
		}
		for i := range cs {
			cs[i].Webhooks, err = queryRows(ctx, tx, (*ShopWebhook).fields, `SELECT `+webhookColumns+` FROM shop_webhooks
				WHERE platform = $1 AND source = $2 ORDER BY topic`, cs[i].Platform, cs[i].Source)
			if err != nil {
				return fmt.Errorf("list webhooks of %s: %w", cs[i].Source, err)
			}
		}
		out = cs
		return nil
	})
	return out, err
}

// Outages returns the outages that were open at or after since, oldest
// first.
func (db *DB) Outages(ctx context.Context, since time.Time) ([]Outage, error) {
	os, err := queryRows(ctx, db.sql, func(o *Outage) []any {
		return []any{&o.ID, &o.Platform, &o.Source, &o.Topic, &o.State, &o.DownAt, nullTime{&o.UpAt}, &o.Repaired}
	}, `SELECT id, platform, source, topic, state, down_at, up_at, repaired FROM webhook_outages
		WHERE up_at IS NULL OR up_at >= $1 ORDER BY down_at, id`, since.UTC())
	if err != nil {
		return nil, fmt.Errorf("list webhook outages: %w", err)
	}
	return os, nil
}

// StoredOrder is what the store holds of a shop's order, for comparing it
// with what the shop's API says of it now.
type StoredOrder struct {
	ID         int64 // the store's id
	ExternalID int64 // the shop's order id
	Status     enroll.OrderStatus
	// Snapshot is the latest snapshot applied (At zero when none had a
	// time, or none was applied: an order first known by a refund).
	Snapshot enroll.Snapshot
	Redacted bool
	Items    []StoredItem
	// Refunds are the shop's ids of the refunds stored.
	Refunds []int64
}

// AwaitingPayment reports whether the order waits for payment: its items
// are created when a snapshot shows it paid.
func (o StoredOrder) AwaitingPayment() bool { return o.Status == enroll.OrderAwaitingPayment }

// StoredItem is one of a stored order's learners.
type StoredItem struct {
	LineItemID int64
	SKU, Email string
}

// StoredOrders returns the stored orders of a shop among the shop's order
// ids given, by the shop's id; ids not stored are left out. It reads one
// moment of the store, with a query for each of orders, items and refunds.
func (db *DB) StoredOrders(ctx context.Context, platform enroll.Platform, source string, ids []int64) (map[int64]StoredOrder, error) {
	out := make(map[int64]StoredOrder, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var p params
		orders, err := queryRows(ctx, tx, func(o *StoredOrder) []any {
			return []any{&o.ID, &o.ExternalID, &o.Status, nullTime{&o.Snapshot.At}, &o.Snapshot.ShopStatus,
				&o.Snapshot.Cancelled, &o.Snapshot.Refunded, &o.Snapshot.PartialRefund, &o.Redacted}
		}, `SELECT id, external_id, status, snapshot_at, shop_status, cancelled, refunded, partial_refund,
			redacted_at IS NOT NULL FROM orders WHERE platform = `+p.add(platform)+` AND source = `+p.add(source)+
			` AND external_id IN (`+p.list(ids)+`)`, p.args...)
		if err != nil || len(orders) == 0 {
			return err
		}
		byID := make(map[int64]*StoredOrder, len(orders))
		internal := make([]int64, len(orders))
		for i := range orders {
			byID[orders[i].ID] = &orders[i]
			internal[i] = orders[i].ID
		}
		type item struct {
			order int64
			StoredItem
		}
		var q params
		items, err := queryRows(ctx, tx, func(it *item) []any {
			return []any{&it.order, &it.LineItemID, &it.SKU, &it.Email}
		}, `SELECT order_id, line_item_id, sku, email FROM items WHERE order_id IN (`+q.list(internal)+`) ORDER BY id`, q.args...)
		if err != nil {
			return err
		}
		for _, it := range items {
			o := byID[it.order]
			o.Items = append(o.Items, it.StoredItem)
		}
		type refund struct{ order, external int64 }
		var r params
		refunds, err := queryRows(ctx, tx, func(rf *refund) []any { return []any{&rf.order, &rf.external} },
			`SELECT DISTINCT order_id, external_id FROM refunds WHERE order_id IN (`+r.list(internal)+`) ORDER BY order_id, external_id`, r.args...)
		if err != nil {
			return err
		}
		for _, rf := range refunds {
			o := byID[rf.order]
			o.Refunds = append(o.Refunds, rf.external)
		}
		for _, o := range orders {
			out[o.ExternalID] = o
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read stored orders of %s: %w", source, err)
	}
	return out, nil
}
