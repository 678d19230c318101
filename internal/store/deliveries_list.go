package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Reading stored deliveries (deliveries.go writes them).

// DeliveryRecord is a stored webhook delivery.
type DeliveryRecord struct {
	ID         int64
	ReceivedAt time.Time
	Platform   enroll.Platform
	Source     string
	Path       string
	SourceIP   string
	Headers    string
	Body       []byte
	BodySize   int64
	BodySHA256 string
	Status     int
	Reason     string
	OrderID    sql.NullInt64
	// HasBody tells that the body was stored (authenticated deliveries);
	// ListDeliveries sets it but leaves Body empty.
	HasBody bool
	// Folded, when not 0, makes this row stand for that many rejected
	// requests like it, counted rather than stored one by one.
	Folded int64
}

// MoreLikeIt says what a row of folded rejections stands for, as the
// console and the CLI show it ("and 19,950 more like it"); "" for a row
// that is one request.
func (d DeliveryRecord) MoreLikeIt() string {
	if d.Folded <= 0 {
		return ""
	}
	digits := strconv.FormatInt(d.Folded, 10)
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return "and " + b.String() + " more like it"
}

// DeliveryFilter selects deliveries.
type DeliveryFilter struct {
	// Rejected keeps deliveries answered other than 200.
	Rejected bool
	// Before is the keyset cursor, as in OrderFilter.
	Before int64
	// Limit is the page size: default 50, at most 500.
	Limit int
}

// ListDeliveries returns a page of deliveries, newest first, without their
// bodies (HasBody tells whether one is stored), and the next page's cursor
// or 0.
func (db *DB) ListDeliveries(ctx context.Context, f DeliveryFilter) ([]DeliveryRecord, int64, error) {
	limit := pageSize(f.Limit)
	query, args := listDeliveriesQuery(f, limit+1)
	var ds []DeliveryRecord
	var next int64
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		ds, err = queryDeliveries(ctx, tx, false, query, args...)
		return err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list deliveries: %w", err)
	}
	if len(ds) > limit {
		ds, next = ds[:limit], ds[limit-1].ID
	}
	return ds, next, nil
}

// listDeliveriesQuery builds ListDeliveries' query after FROM deliveries.
func listDeliveriesQuery(f DeliveryFilter, limit int) (string, []any) {
	var p params
	var conds []string
	if f.Rejected {
		// A literal, so that the partial index deliveries_rejected applies.
		conds = append(conds, "status <> 200")
	}
	if f.Before > 0 {
		conds = append(conds, "id < "+p.add(f.Before))
	}
	return where(conds) + ` ORDER BY id DESC LIMIT ` + p.add(limit), p.args
}

// Deliveries returns the newest deliveries first, with their bodies, at
// most limit of them.
func (db *DB) Deliveries(ctx context.Context, limit int) ([]DeliveryRecord, error) {
	ds, err := queryDeliveries(ctx, db.sql, true, `ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}

// Delivery loads one delivery with its body.
func (db *DB) Delivery(ctx context.Context, id int64) (DeliveryRecord, error) {
	var ds []DeliveryRecord
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var err error
		ds, err = queryDeliveries(ctx, tx, true, `WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return DeliveryRecord{}, fmt.Errorf("load delivery %d: %w", id, err)
	}
	if len(ds) == 0 {
		return DeliveryRecord{}, fmt.Errorf("delivery %d: %w", id, enroll.ErrNotFound)
	}
	return ds[0], nil
}

// deliveryColumns are the columns DeliveryRecord.fields scans, but for
// the body, which withBody leaves out (NULL).
func deliveryColumns(withBody bool) string {
	body := "NULL"
	if withBody {
		body = "body"
	}
	return `id, received_at, platform, source, path, source_ip, headers, ` + body + `,
		body IS NOT NULL, body_size, body_sha256, status, reason, order_id, folded`
}

func (d *DeliveryRecord) fields() []any {
	return []any{&d.ID, &d.ReceivedAt, &d.Platform, &d.Source, &d.Path, &d.SourceIP, &d.Headers, &d.Body,
		&d.HasBody, &d.BodySize, &d.BodySHA256, &d.Status, &d.Reason, &d.OrderID, &d.Folded}
}

// deliveriesQuery selects deliveries; rest is the query after FROM.
func deliveriesQuery(withBody bool, rest string) string {
	return `SELECT ` + deliveryColumns(withBody) + ` FROM deliveries ` + rest
}

// queryDeliveries runs deliveriesQuery.
func queryDeliveries(ctx context.Context, tx querier, withBody bool, rest string, args ...any) ([]DeliveryRecord, error) {
	rows, err := tx.QueryContext(ctx, deliveriesQuery(withBody, rest), args...)
	if err != nil {
		return nil, err
	}
	return scanRows(rows, (*DeliveryRecord).fields)
}
