package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// OrderRecord is a stored order with its items.
type OrderRecord struct {
	ID         int64
	Platform   enroll.Platform
	Source     string
	ExternalID int64
	Email      string
	Status     enroll.OrderStatus
	CreatedAt  time.Time
	Items      []ItemRecord
}

// ItemRecord is a stored enrollment item.
type ItemRecord struct {
	ID         int64
	LineItemID int64
	SKU        string
	Email      string
	CourseID   string
	Status     enroll.ItemStatus
	Attempts   int
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// FindOrder loads an order by its shop's identity, with its items as they
// were at the same moment.
func (db *DB) FindOrder(ctx context.Context, p enroll.Platform, source string, externalID int64) (OrderRecord, error) {
	var o OrderRecord
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id, platform, source, external_id, email, status, created_at
			FROM orders WHERE platform = $1 AND source = $2 AND external_id = $3`, p, source, externalID).Scan(
			&o.ID, &o.Platform, &o.Source, &o.ExternalID, &o.Email, &o.Status, &o.CreatedAt)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("order %d of %s: %w", externalID, source, enroll.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("load order %d of %s: %w", externalID, source, err)
		}
		o.Items, err = orderItems(ctx, tx, o.ID)
		return err
	})
	return o, err
}

func orderItems(ctx context.Context, tx *sql.Tx, orderID int64) ([]ItemRecord, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+itemColumns+` FROM items WHERE order_id = $1 ORDER BY id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("load items of order %d: %w", orderID, err)
	}
	defer rows.Close()
	var items []ItemRecord
	for rows.Next() {
		var it ItemRecord
		if err := rows.Scan(it.fields()...); err != nil {
			return nil, fmt.Errorf("load items of order %d: %w", orderID, err)
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load items of order %d: %w", orderID, err)
	}
	return items, nil
}

// itemColumns are the columns ItemRecord.fields scans.
const itemColumns = `id, line_item_id, sku, email, course_id, status, attempts, last_error, created_at, updated_at`

func (it *ItemRecord) fields() []any {
	return []any{&it.ID, &it.LineItemID, &it.SKU, &it.Email, &it.CourseID, &it.Status, &it.Attempts, &it.LastError,
		&it.CreatedAt, &it.UpdatedAt}
}

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
}

// Deliveries returns the newest deliveries first, at most limit of them.
func (db *DB) Deliveries(ctx context.Context, limit int) ([]DeliveryRecord, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, received_at, platform, source, path, source_ip, headers,
		body, body_size, body_sha256, status, reason, order_id FROM deliveries ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	defer rows.Close()
	var ds []DeliveryRecord
	for rows.Next() {
		var d DeliveryRecord
		if err := rows.Scan(&d.ID, &d.ReceivedAt, &d.Platform, &d.Source, &d.Path, &d.SourceIP, &d.Headers,
			&d.Body, &d.BodySize, &d.BodySHA256, &d.Status, &d.Reason, &d.OrderID); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		d.HasBody = d.Body != nil
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}

// Attempts returns an item's attempts, oldest first.
func (db *DB) Attempts(ctx context.Context, itemID int64) ([]Attempt, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT item_id, outcome, http_status, detail FROM attempts
		WHERE item_id = $1 ORDER BY id`, itemID)
	if err != nil {
		return nil, fmt.Errorf("list attempts of item %d: %w", itemID, err)
	}
	defer rows.Close()
	var as []Attempt
	for rows.Next() {
		var a Attempt
		if err := rows.Scan(&a.ItemID, &a.Outcome, &a.HTTPStatus, &a.Detail); err != nil {
			return nil, fmt.Errorf("list attempts of item %d: %w", itemID, err)
		}
		as = append(as, a)
	}
	return as, rows.Err()
}
