package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// Privacy requests: Shopify's compliance topics and redactions by hand,
// what a redaction erases, and everything stored about an email.

// Topics of privacy requests: Shopify's compliance topics, and a
// redaction an operator made by hand.
const (
	TopicCustomersRedact = "customers/redact"
	TopicShopRedact      = "shop/redact"
	TopicDataRequest     = "customers/data_request"
	TopicRedactByHand    = "redact"
)

// ActionRedact is the action recorded on each order an operator redacted
// by hand; ActionAnswer on a data request marked answered; ActionPurge for
// a purge.
const (
	ActionRedact = "redact"
	ActionAnswer = "answer"
	ActionPurge  = "purge"
)

// Redacted is what a redaction puts in place of free text (an error, an
// attempt's detail, an operator's note) that could hold an address.
const Redacted = "[redacted]"

// redactedEmail is the SQL of an item's email once redacted: no address,
// and distinct per item, as UNIQUE (order_id, sku, email) requires.
const redactedEmail = `'redacted-' || CAST(id AS TEXT)`

// PrivacyRequest is a stored privacy request.
type PrivacyRequest struct {
	ID         int64
	ReceivedAt time.Time
	Platform   enroll.Platform
	Source     string
	Topic      string
	// Email is kept for a data request only, until it is redacted.
	Email      string
	CustomerID int64
	OrderIDs   []int64
	// DeliveryID is the delivery that carried it; 0 for one made by hand.
	DeliveryID int64
	// DoneAt is when a redaction was carried out or a data request
	// answered; zero while a data request waits for its answer.
	DoneAt time.Time
	Note   string
}

// Pending reports whether the request still waits for an operator: a
// data request not answered yet.
func (r PrivacyRequest) Pending() bool { return r.Topic == TopicDataRequest && r.DoneAt.IsZero() }

// RedactCounts tells what a redaction changed.
type RedactCounts struct {
	Orders     int64 `json:"orders"`
	Items      int64 `json:"items"`
	Deliveries int64 `json:"deliveries"`
	Attempts   int64 `json:"attempts"`
	Actions    int64 `json:"actions"`
	Requests   int64 `json:"privacy_requests"`
}

func (c RedactCounts) String() string {
	return fmt.Sprintf("%d order(s), %d item(s), %d deliveries, %d attempt(s), %d action note(s), %d privacy request(s)",
		c.Orders, c.Items, c.Deliveries, c.Attempts, c.Actions, c.Requests)
}

// PrivacyDelivery is an authenticated delivery of a compliance topic.
// Its body holds personal data and is never stored; its digest is.
type PrivacyDelivery struct {
	Delivery Delivery
	Topic    string
	// Keys are the delivery's dedup keys (see dedup.go): a delivery one of
	// whose keys was accepted before is a duplicate and changes nothing.
	Keys []string
	// Exactly one of these is set.
	Redaction   *enroll.Redaction
	DataRequest *enroll.DataRequest
}

// PrivacyResult tells what SavePrivacy did.
type PrivacyResult struct {
	DeliveryID, RequestID int64
	Duplicate             bool
	Redacted              RedactCounts
}

// SavePrivacy records a compliance delivery (without its body) and its
// privacy request, and carries out a redaction, all in one transaction:
// once it has returned, the redaction is done, and the shop may be
// answered. A data request is recorded with its email, to be answered.
func (db *DB) SavePrivacy(ctx context.Context, p PrivacyDelivery) (PrivacyResult, error) {
	d := p.Delivery
	d.KeepBody = false
	var scan bodyScan
	if p.Redaction != nil {
		var err error
		if scan, err = db.scanDeliveries(ctx, d.Platform, d.Source, p.Redaction.Email); err != nil {
			return PrivacyResult{}, err
		}
	}
	var res PrivacyResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res = PrivacyResult{}
		var err error
		if res.Duplicate, err = db.redelivered(ctx, tx, d.Platform, d.Source, p.Keys, d.ReceivedAt); err != nil {
			return err
		}
		if res.Duplicate {
			d.Reason = ReasonDuplicate
			res.DeliveryID, err = insertPrivacyDelivery(ctx, tx, d)
			return err
		}
		if res.DeliveryID, err = insertPrivacyDelivery(ctx, tx, d); err != nil {
			return err
		}
		req := PrivacyRequest{ReceivedAt: d.ReceivedAt, Platform: d.Platform, Source: d.Source, Topic: p.Topic, DeliveryID: res.DeliveryID}
		switch {
		case p.Redaction != nil:
			req.CustomerID, req.OrderIDs = p.Redaction.CustomerID, p.Redaction.OrderIDs
			if res.Redacted, _, err = db.redactTx(ctx, tx, d.Platform, d.Source, *p.Redaction, scan); err != nil {
				return err
			}
			req.DoneAt, req.Note = db.now(), "redacted "+res.Redacted.String()
		case p.DataRequest != nil:
			r := p.DataRequest
			req.Email, req.CustomerID, req.OrderIDs = r.Email, r.CustomerID, r.OrderIDs
			if r.RequestID != 0 {
				req.Note = "shop's data request " + strconv.FormatInt(r.RequestID, 10)
			}
		default:
			return fmt.Errorf("privacy delivery of %s: no redaction or data request", p.Topic)
		}
		res.RequestID, err = insertPrivacyRequest(ctx, tx, req)
		return err
	})
	if err != nil {
		return PrivacyResult{}, fmt.Errorf("save %s of %s: %w", p.Topic, d.Source, err)
	}
	return res, nil
}

// Redact erases the personal data of the orders a redaction names, of the
// shop of platform p named source ("" for every shop; platform "" for
// every platform): the listed shop order ids, every order whose buyer or
// a learner has the redaction's email (any case), or, for WholeShop,
// every order of the shop. It keeps the rows, their statuses and counts:
// see redactTx for what it erases.
func (db *DB) Redact(ctx context.Context, p enroll.Platform, source string, r enroll.Redaction) (RedactCounts, error) {
	c, _, err := db.redact(ctx, p, source, r, nil)
	return c, err
}

// RedactByHand is Redact for an operator: the privacy request and one
// action per order redacted are recorded with it, in its transaction.
func (db *DB) RedactByHand(ctx context.Context, actor string, p enroll.Platform, source string, r enroll.Redaction) (RedactCounts, error) {
	c, _, err := db.redact(ctx, p, source, r, func(tx *sql.Tx, c RedactCounts, orders []int64) error {
		now := db.now()
		req := PrivacyRequest{ReceivedAt: now, Platform: p, Source: source, Topic: TopicRedactByHand,
			CustomerID: r.CustomerID, OrderIDs: r.OrderIDs, DoneAt: now, Note: "by " + actor + ": redacted " + c.String()}
		if _, err := insertPrivacyRequest(ctx, tx, req); err != nil {
			return err
		}
		for _, id := range orders {
			if err := recordAction(ctx, tx, ActionRecord{At: now, Actor: actor, Action: ActionRedact, OrderID: id,
				Note: "personal data erased by hand"}); err != nil {
				return err
			}
		}
		return nil
	})
	return c, err
}

func (db *DB) redact(ctx context.Context, p enroll.Platform, source string, r enroll.Redaction,
	record func(tx *sql.Tx, c RedactCounts, orders []int64) error) (RedactCounts, []int64, error) {
	scan, err := db.scanDeliveries(ctx, p, source, r.Email)
	if err != nil {
		return RedactCounts{}, nil, err
	}
	var c RedactCounts
	var orders []int64
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if c, orders, err = db.redactTx(ctx, tx, p, source, r, scan); err != nil {
			return err
		}
		if record != nil {
			return record(tx, c, orders)
		}
		return nil
	})
	if err != nil {
		return RedactCounts{}, nil, fmt.Errorf("redact: %w", err)
	}
	return c, orders, nil
}

// redactChunk bounds the ids one statement of a redaction names.
const redactChunk = 500

// redactTx erases, in tx, for the orders r names (see Redact): the
// orders' emails (and sets redacted_at); the items' emails, each replaced
// by redacted-<item id>; the bodies, parsed orders and headers of their
// deliveries; errors, attempts' details and operators' notes on them that
// could hold an address; for a whole shop, every delivery of the shop
// (rejected ones too). With an email, also: any other delivery of the
// shop (of any shop, when source is "") whose body, headers, parsed order
// or reason holds it, any error, detail or note that holds it, and the
// email of privacy requests about it. It returns the counts and the
// internal ids of the orders redacted.
func (db *DB) redactTx(ctx context.Context, tx *sql.Tx, p enroll.Platform, source string, r enroll.Redaction, scan bodyScan) (RedactCounts, []int64, error) {
	var c RedactCounts
	email := strings.TrimSpace(r.Email)
	if r.WholeShop && strings.TrimSpace(source) == "" {
		return c, nil, errors.New("a whole shop's redaction needs the shop")
	}
	if !r.WholeShop && email == "" && len(r.OrderIDs) == 0 {
		return c, nil, errors.New("a redaction needs an email, order ids or the whole shop")
	}
	orders, err := db.ordersToRedact(ctx, tx, p, source, r, email)
	if err != nil {
		return c, nil, err
	}
	now := db.now()
	c.Orders = int64(len(orders))
	deliveries := map[int64]bool{}
	for _, id := range scan.ids {
		deliveries[id] = true
	}
	for chunk := range slices.Chunk(orders, redactChunk) {
		stamped := params{args: []any{now}}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET email = '', redacted_at = $1, updated_at = $1
			WHERE id IN (`+stamped.list(chunk)+`)`, stamped.args...); err != nil {
			return c, nil, fmt.Errorf("redact orders: %w", err)
		}
		var p params
		list := p.list(chunk)
		for _, s := range []struct {
			count *int64
			query string
		}{
			{&c.Items, `UPDATE items SET email = ` + redactedEmail + `,
				last_error = CASE WHEN last_error LIKE '%@%' THEN '` + Redacted + `' ELSE last_error END
				WHERE order_id IN (` + list + `) AND email <> ` + redactedEmail},
			{&c.Attempts, `UPDATE attempts SET detail = '` + Redacted + `'
				WHERE item_id IN (SELECT id FROM items WHERE order_id IN (` + list + `)) AND detail LIKE '%@%'`},
			{&c.Actions, `UPDATE actions SET note = '` + Redacted + `'
				WHERE order_id IN (` + list + `) AND note <> '' AND note <> '` + Redacted + `'`},
		} {
			n, err := execCount(ctx, tx, s.query, p.args...)
			if err != nil {
				return c, nil, fmt.Errorf("redact orders: %w", err)
			}
			*s.count += n
		}
		ids, err := scanIDs(tx.QueryContext(ctx, `SELECT id FROM deliveries WHERE order_id IN (`+list+`)
			AND (body IS NOT NULL OR parsed IS NOT NULL OR headers <> '{}')`, p.args...))
		if err != nil {
			return c, nil, fmt.Errorf("find deliveries of redacted orders: %w", err)
		}
		for _, id := range ids {
			deliveries[id] = true
		}
	}
	if r.WholeShop {
		shop, args := shopCondition(p, source, 1)
		ids, err := scanIDs(tx.QueryContext(ctx, `SELECT id FROM deliveries
			WHERE (body IS NOT NULL OR parsed IS NOT NULL OR headers <> '{}')`+shop, args...))
		if err != nil {
			return c, nil, fmt.Errorf("find deliveries of the shop: %w", err)
		}
		for _, id := range ids {
			deliveries[id] = true
		}
	}
	if email != "" {
		// Deliveries stored since the scan, which ran before this transaction.
		later, err := db.deliveriesHolding(ctx, tx, p, source, email, scan.through)
		if err != nil {
			return c, nil, err
		}
		for _, id := range later.ids {
			deliveries[id] = true
		}
		if err := db.redactMentions(ctx, tx, p, source, email, &c); err != nil {
			return c, nil, err
		}
	}
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(deliveries)), redactChunk) {
		var p params
		list := p.list(chunk)
		reason := "reason"
		if email != "" {
			reason = `CASE WHEN ` + db.holds("reason", p.add(email)) + ` THEN ` + p.add(Redacted) + ` ELSE reason END`
		}
		n, err := execCount(ctx, tx, `UPDATE deliveries SET body = NULL, parsed = NULL, headers = '{}', reason = `+reason+`
			WHERE id IN (`+list+`)`, p.args...)
		if err != nil {
			return c, nil, fmt.Errorf("redact deliveries: %w", err)
		}
		c.Deliveries += n
	}
	return c, orders, nil
}

// redactMentions erases an email from the free text of every table that
// has some: items' errors, attempts' details, operators' notes, and the
// privacy requests about it (of the shop, or of any shop when source is "").
func (db *DB) redactMentions(ctx context.Context, tx *sql.Tx, p enroll.Platform, source, email string, c *RedactCounts) error {
	shop, args := shopCondition(p, source, 3)
	steps := []struct {
		count *int64
		query string
	}{
		{&c.Items, `UPDATE items SET last_error = $1 WHERE ` + db.holds("last_error", "$2")},
		{&c.Attempts, `UPDATE attempts SET detail = $1 WHERE ` + db.holds("detail", "$2")},
		{&c.Actions, `UPDATE actions SET note = $1 WHERE ` + db.holds("note", "$2")},
		{&c.Requests, `UPDATE privacy_requests SET email = '',
			note = CASE WHEN ` + db.holds("note", "$2") + ` THEN $1 ELSE note END
			WHERE (lower(email) = lower($2) OR ` + db.holds("note", "$2") + `)` + shop},
	}
	for i, s := range steps {
		a := []any{Redacted, email}
		if i == len(steps)-1 {
			a = append(a, args...)
		}
		n, err := execCount(ctx, tx, s.query, a...)
		if err != nil {
			return fmt.Errorf("redact mentions of the email: %w", err)
		}
		*s.count += n
	}
	return nil
}

// ordersToRedact returns the internal ids of the orders a redaction names,
// in id order.
func (db *DB) ordersToRedact(ctx context.Context, tx *sql.Tx, p enroll.Platform, source string, r enroll.Redaction, email string) ([]int64, error) {
	var params params
	var conds []string
	if p != "" {
		conds = append(conds, "o.platform = "+params.add(p))
	}
	if strings.TrimSpace(source) != "" {
		conds = append(conds, "rtrim(lower(o.source), '/') = rtrim(lower("+params.add(source)+"), '/')")
	}
	if !r.WholeShop {
		var which []string
		if email != "" {
			e := params.add(email)
			which = append(which, "lower(o.email) = lower("+e+")",
				"o.id IN (SELECT order_id FROM items WHERE lower(email) = lower("+e+"))")
		}
		if len(r.OrderIDs) > 0 {
			which = append(which, "o.external_id IN ("+params.list(r.OrderIDs)+")")
		}
		conds = append(conds, "("+strings.Join(which, " OR ")+")")
	}
	type found struct {
		id       int64
		platform enroll.Platform
		source   string
	}
	list, err := queryRows(ctx, tx, func(f *found) []any { return []any{&f.id, &f.platform, &f.source} },
		`SELECT o.id, o.platform, o.source FROM orders o`+where(conds)+` ORDER BY o.id`, params.args...)
	if err != nil {
		return nil, fmt.Errorf("find orders to redact: %w", err)
	}
	var ids []int64
	for _, f := range list {
		if strings.TrimSpace(source) == "" || enroll.SameSource(f.platform, f.source, source) {
			ids = append(ids, f.id)
		}
	}
	return ids, nil
}

// bodyScan is what a search of the stored deliveries found: the ids of
// those holding an email, among the deliveries up to id through.
type bodyScan struct {
	ids     []int64
	through int64
}

// scanDeliveries searches the stored deliveries of the shop for an email,
// in a snapshot of their own, before the redaction's transaction: on
// SQLite, reading every body while holding the write lock would hold up
// every webhook. The transaction then searches only the deliveries stored
// since (deliveriesHolding).
func (db *DB) scanDeliveries(ctx context.Context, p enroll.Platform, source, email string) (bodyScan, error) {
	if strings.TrimSpace(email) == "" {
		return bodyScan{}, nil
	}
	var scan bodyScan
	err := db.inSnapshot(ctx, func(tx *sql.Tx) error {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(id) FROM deliveries`).Scan(&last); err != nil {
			return fmt.Errorf("read the last delivery: %w", err)
		}
		var err error
		scan, err = db.deliveriesHolding(ctx, tx, p, source, strings.TrimSpace(email), 0)
		scan.through = max(scan.through, last.Int64)
		return err
	})
	return scan, err
}

// deliveriesHolding finds the deliveries after id after, of the shop (or
// any), whose body, headers, parsed order or reason holds the email, case
// aside (ASCII letters).
func (db *DB) deliveriesHolding(ctx context.Context, q querier, p enroll.Platform, source, email string, after int64) (bodyScan, error) {
	shop, args := shopCondition(p, source, 3)
	body := "CAST(body AS TEXT)"
	if db.dialect == Postgres {
		body = "encode(body, 'escape')" // bytes that are not ASCII are escaped, as are they in the email's
	}
	ids, err := scanIDs(q.QueryContext(ctx, `SELECT id FROM deliveries WHERE id > $1 AND (`+
		db.holds(body, "$2")+` OR `+db.holds("headers", "$2")+` OR `+db.holds("parsed", "$2")+` OR `+db.holds("reason", "$2")+
		`)`+shop+` ORDER BY id`, append([]any{after, db.escapedEmail(email)}, args...)...))
	if err != nil {
		return bodyScan{}, fmt.Errorf("search deliveries for the email: %w", err)
	}
	s := bodyScan{ids: ids, through: after}
	if len(ids) > 0 {
		s.through = ids[len(ids)-1]
	}
	return s, nil
}

// escapedEmail is the email as deliveriesHolding searches for it: on
// PostgreSQL, with the escaping encode(..., 'escape') gives a body.
func (db *DB) escapedEmail(email string) string {
	if db.dialect != Postgres {
		return email
	}
	var b strings.Builder
	for _, c := range []byte(email) {
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\%03o`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// holds is the SQL condition that the text column col holds the value of
// placeholder x, ignoring the case of ASCII letters.
func (db *DB) holds(col, x string) string {
	if db.dialect == Postgres {
		return "strpos(lower(" + col + "), lower(" + x + ")) > 0"
	}
	return "instr(lower(" + col + "), lower(" + x + ")) > 0"
}

// shopCondition is " AND <platform and source of the shop>" on a table's
// platform and source columns, with placeholders from $first, and its
// arguments; "" for every shop.
func shopCondition(p enroll.Platform, source string, first int) (string, []any) {
	var conds []string
	var args []any
	if p != "" {
		args = append(args, p)
		conds = append(conds, "platform = $"+strconv.Itoa(first+len(args)-1))
	}
	if strings.TrimSpace(source) != "" {
		args = append(args, source)
		conds = append(conds, "rtrim(lower(source), '/') = rtrim(lower($"+strconv.Itoa(first+len(args)-1)+"), '/')")
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " AND " + strings.Join(conds, " AND "), args
}

func execCount(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// insertPrivacyDelivery records one delivery and returns its id.
func insertPrivacyDelivery(ctx context.Context, tx *sql.Tx, d Delivery) (int64, error) {
	row, err := deliveryRow(d, nil, 0)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, deliveryInsert+` VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		row...).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("insert delivery: %w", err)
	}
	return id, nil
}

// insertPrivacyRequest records a privacy request and returns its id.
func insertPrivacyRequest(ctx context.Context, tx *sql.Tx, r PrivacyRequest) (int64, error) {
	var delivery, done any
	if r.DeliveryID != 0 {
		delivery = r.DeliveryID
	}
	if !r.DoneAt.IsZero() {
		done = r.DoneAt.UTC()
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO privacy_requests (received_at, platform, source, topic, email, customer_id,
		order_ids, delivery_id, done_at, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		r.ReceivedAt.UTC(), r.Platform, r.Source, r.Topic, r.Email, r.CustomerID, joinIDs(r.OrderIDs), delivery, done, r.Note).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record privacy request: %w", err)
	}
	return id, nil
}

// joinIDs and splitIDs store a list of ids as text: "1,2,3".
func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

func splitIDs(s string) []int64 {
	var ids []int64
	for f := range strings.SplitSeq(s, ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}
