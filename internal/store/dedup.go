package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
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

// insertDeliveryKeys records the keys of the batch's accepted deliveries,
// with one statement per shop (a batch usually holds one or two) that
// takes the shop's keys as one JSON array, and marks Redelivered each
// delivery one of whose keys was there already, or belongs to an earlier
// delivery of the batch. Keys are inserted in key order, so that writers
// on several processes take their locks in the same order.
func (db *DB) insertDeliveryKeys(ctx context.Context, tx *sql.Tx, batch []*writeRequest, now time.Time) error {
	keys, owner := batchKeys(batch)
	for len(keys) > 0 {
		n := 1 // the keys of the first shop
		for n < len(keys) && keys[n].platform == keys[0].platform && keys[n].source == keys[0].source {
			n++
		}
		shop := keys[:n]
		keys = keys[n:]
		inserted, err := db.insertShopKeys(ctx, tx, shop, now)
		if err != nil {
			return err
		}
		for _, k := range shop {
			if !inserted[k.key] {
				owner[k].res.Redelivered = true
			}
		}
	}
	return nil
}

// batchKeys returns the keys of the batch's accepted deliveries, each
// once, in key order, with the delivery that owns each (the first that
// carries it), and marks Redelivered each delivery carrying a key that an
// earlier delivery of the batch owns.
func batchKeys(batch []*writeRequest) ([]deliveryKey, map[deliveryKey]*writeRequest) {
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
	slices.SortFunc(keys, compareKeys)
	return keys, owner
}

// redelivered records the keys of one delivery of a shop and reports
// whether one of them was accepted before: the rule insertDeliveryKeys
// applies to a batch.
func (db *DB) redelivered(ctx context.Context, tx *sql.Tx, p enroll.Platform, source string, keys []string, at time.Time) (bool, error) {
	var shop []deliveryKey
	for _, k := range slices.Compact(slices.Sorted(slices.Values(keys))) {
		shop = append(shop, deliveryKey{p, source, k})
	}
	if len(shop) == 0 {
		return false, nil
	}
	inserted, err := db.insertShopKeys(ctx, tx, shop, at)
	return len(inserted) < len(shop), err
}

// insertShopKeys inserts the keys of one shop, as given in key order, and
// returns those that were not there yet.
func (db *DB) insertShopKeys(ctx context.Context, tx *sql.Tx, keys []deliveryKey, now time.Time) (map[string]bool, error) {
	list := make([]string, len(keys))
	for i, k := range keys {
		list[i] = k.key
	}
	encoded, err := json.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("encode %d delivery keys: %w", len(keys), err)
	}
	query := `INSERT INTO delivery_keys (platform, source, key, received_at)
		SELECT $1, $2, value, $3 FROM json_each($4) WHERE true
		ON CONFLICT (platform, source, key) DO NOTHING RETURNING key`
	if db.dialect == Postgres {
		query = `INSERT INTO delivery_keys (platform, source, key, received_at)
		SELECT $1::text, $2::text, value, $3::timestamptz FROM json_array_elements_text($4::json) AS value
		ON CONFLICT (platform, source, key) DO NOTHING RETURNING key`
	}
	rows, err := tx.QueryContext(ctx, query, keys[0].platform, keys[0].source, now, string(encoded))
	if err == nil {
		var got []string
		if got, err = scanRows(rows, func(k *string) []any { return []any{k} }); err == nil {
			inserted := make(map[string]bool, len(got))
			for _, k := range got {
				inserted[k] = true
			}
			return inserted, nil
		}
	}
	return nil, fmt.Errorf("insert %d delivery keys: %w", len(keys), err)
}

// findOrderOf sets the OrderID of a redelivery, which changes nothing: its
// order as stored, if any.
func (db *DB) findOrderOf(ctx context.Context, tx *sql.Tx, r *writeRequest) error {
	o := r.accepted.Order
	err := tx.QueryRowContext(ctx, `SELECT id FROM orders WHERE platform = $1 AND source = $2 AND external_id = $3`,
		o.Platform, o.Source, o.ID).Scan(&r.res.OrderID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("find order %d: %w", o.ID, err)
	}
	return nil
}
