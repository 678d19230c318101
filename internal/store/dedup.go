package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Shops deliver at least once: Shopify retries a delivery it saw no 200
// for, and sends one event to every subscription of its topic. A delivery
// names itself by keys (Accepted.Keys); once one of them was accepted for
// a shop, another delivery carrying it is a duplicate.

// deliveryKey is a delivery key of one shop.
type deliveryKey struct {
	platform enroll.Platform
	source   string
	key      string
}

func compareKeys(a, b deliveryKey) int {
	return cmp.Or(cmp.Compare(a.platform, b.platform), cmp.Compare(a.source, b.source), cmp.Compare(a.key, b.key))
}

// insertDeliveryKeys records the keys of the batch's accepted deliveries
// with one multi-row statement (cut in chunks as insertRows does), and
// marks Redelivered each delivery one of whose keys was there already, or
// belongs to an earlier delivery of the batch. Keys are inserted in key
// order, so that writers on several processes take their locks in the same
// order.
func (db *DB) insertDeliveryKeys(ctx context.Context, tx *sql.Tx, batch []*writeRequest, now time.Time) error {
	owner := map[deliveryKey]*writeRequest{}
	var keys []deliveryKey
	for _, r := range batch {
		if r.accepted == nil {
			continue
		}
		o := r.accepted.Order
		for _, k := range r.accepted.Keys {
			dk := deliveryKey{o.Platform, o.Source, k}
			if first, ok := owner[dk]; ok {
				r.res.Redelivered = r.res.Redelivered || first != r
				continue
			}
			owner[dk] = r
			keys = append(keys, dk)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.SortFunc(keys, compareKeys)
	rows := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = []any{k.platform, k.source, k.key, now}
	}
	inserted := make(map[deliveryKey]bool, len(keys))
	err := db.insertRows(ctx, tx, `INSERT INTO delivery_keys (platform, source, key, received_at)`,
		`ON CONFLICT (platform, source, key) DO NOTHING RETURNING platform, source, key`, rows, func(rs *sql.Rows) error {
			var k deliveryKey
			if err := rs.Scan(&k.platform, &k.source, &k.key); err != nil {
				return err
			}
			inserted[k] = true
			return nil
		})
	if err != nil {
		return fmt.Errorf("insert %d delivery keys: %w", len(keys), err)
	}
	for _, k := range keys {
		if !inserted[k] {
			owner[k].res.Redelivered = true
		}
	}
	return nil
}

// findOrderOf sets the OrderID of a redelivery, which changes nothing: its
// order as stored, if any.
func (db *DB) findOrderOf(ctx context.Context, tx *sql.Tx, r *writeRequest) error {
	o := r.accepted.Order
	err := db.txQueryRow(ctx, tx, `SELECT id FROM orders WHERE platform = $1 AND source = $2 AND external_id = $3`,
		o.Platform, o.Source, o.ID).Scan(&r.res.OrderID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("find order %d: %w", o.ID, err)
	}
	return nil
}
