package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
)

// The Django app's database: the orders and items of the "Open edX Webhook
// Receiver" the receiver replaces, read (never written) for import-django.
// It lives on SQLite, PostgreSQL, or MySQL/MariaDB (Tutor's).

// DjangoStatus is the Django app's status of an order or item.
type DjangoStatus int

// The Django app's statuses.
const (
	DjangoError      DjangoStatus = -1
	DjangoNew        DjangoStatus = 0
	DjangoProcessing DjangoStatus = 1
	DjangoProcessed  DjangoStatus = 2
)

func (s DjangoStatus) String() string {
	switch s {
	case DjangoError:
		return "ERROR"
	case DjangoNew:
		return "NEW"
	case DjangoProcessing:
		return "PROCESSING"
	case DjangoProcessed:
		return "PROCESSED"
	}
	return "status " + strconv.Itoa(int(s))
}

// DjangoOrder is an order of the Django app, with its items. It names no
// shop: the Django app served one shop and one site.
type DjangoOrder struct {
	// ID is the shop's order id.
	ID       int64
	Email    string
	Received time.Time
	Status   DjangoStatus
	Items    []DjangoItem
}

// DjangoItem is an item of a Django app's order: one learner, one SKU.
type DjangoItem struct {
	ID     int64
	SKU    string
	Email  string
	Status DjangoStatus
}

// djangoTables are the Django app's tables of each platform: orders, items.
var djangoTables = map[enroll.Platform][2]string{
	enroll.Shopify:     {"webhook_receiver_shopify_shopifyorder", "webhook_receiver_shopify_shopifyorderitem"},
	enroll.WooCommerce: {"webhook_receiver_woocommerce_woocommerceorder", "webhook_receiver_woocommerce_woocommerceorderitem"},
}

// DjangoTables names the tables of the Django app's orders and items of p.
func DjangoTables(p enroll.Platform) (orders, items string) {
	t := djangoTables[p]
	return t[0], t[1]
}

// DjangoDB is the Django app's database, opened to be read.
type DjangoDB struct {
	sql     *sql.DB
	dialect string // sqlite, postgres or mysql
	// where names the database without its password.
	where string
}

// OpenDjango opens the Django app's database, read only where the backend
// allows: sqlite:<path> (the forms Open takes), postgres://user:pass@host/db
// (and postgresql:, pgsql:), or mysql://user:pass@host:port/db (also
// mariadb:; parameters tls=true|false|skip-verify|preferred and
// socket=<path>). Errors never hold the password.
func OpenDjango(ctx context.Context, rawURL string) (*DjangoDB, error) {
	where := config.RedactURL(rawURL)
	scheme, _, _ := strings.Cut(rawURL, ":")
	var db *sql.DB
	dialect := strings.ToLower(scheme)
	switch dialect {
	case "sqlite", "sqlite3":
		dialect = "sqlite"
		path, err := SQLitePath(rawURL)
		if err != nil {
			return nil, err
		}
		// SQLite's own read-only mode: nothing is written, not even a WAL.
		db, err = sql.Open("sqlite", sqliteURI(path)+"?mode=ro&_pragma=busy_timeout(5000)")
		if err != nil {
			return nil, fmt.Errorf("open the Django app's database %s: %w", where, err)
		}
	case "postgres", "postgresql", "pgsql":
		cfg, err := pgx.ParseConfig(postgresURL(rawURL))
		if err != nil {
			return nil, fmt.Errorf("the Django app's database URL %s: not a valid PostgreSQL URL", where)
		}
		db, dialect = stdlib.OpenDB(*cfg), "postgres"
	case "mysql", "mariadb":
		cfg, err := mysqlConfig(rawURL)
		if err != nil {
			return nil, fmt.Errorf("the Django app's database URL %s: %w", where, err)
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, fmt.Errorf("the Django app's database URL %s: %w", where, err)
		}
		db, dialect = sql.OpenDB(conn), "mysql"
	default:
		return nil, fmt.Errorf("the Django app's database URL: unsupported scheme %q: use sqlite:<path>, postgres://user:pass@host/db or mysql://user:pass@host:port/db", scheme)
	}
	db.SetMaxOpenConns(1)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to the Django app's database %s: %w", where, err)
	}
	return &DjangoDB{sql: db, dialect: dialect, where: where}, nil
}

// mysqlConfig reads mysql://user:pass@host:port/db into the driver's
// configuration: times read as UTC, as Django writes them.
func mysqlConfig(rawURL string) (*mysql.Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("not a valid URL: want mysql://user:pass@host:port/db")
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	if cfg.DBName == "" || strings.Contains(cfg.DBName, "/") {
		return nil, errors.New("name the database: mysql://user:pass@host:port/db")
	}
	cfg.ParseTime, cfg.Loc = true, time.UTC
	cfg.Timeout = 10 * time.Second
	host := u.Hostname()
	if host == "" {
		host = "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = "3306"
	}
	cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, port)
	for key, values := range u.Query() {
		v := values[len(values)-1]
		switch key {
		case "socket":
			cfg.Net, cfg.Addr = "unix", v
		case "tls":
			switch v {
			case "true", "false", "skip-verify", "preferred":
				cfg.TLSConfig = v
			default:
				return nil, fmt.Errorf("tls=%q: use true, false, skip-verify or preferred", v)
			}
		default:
			return nil, fmt.Errorf("unknown parameter %q: use tls= or socket=", key)
		}
	}
	return cfg, nil
}

// String names the database without its password.
func (d *DjangoDB) String() string { return d.where }

// Close closes the database.
func (d *DjangoDB) Close() error { return d.sql.Close() }

var placeholder = regexp.MustCompile(`\$\d+`)

// query runs a query written with $n placeholders, in order: MySQL's
// driver wants ?.
func (d *DjangoDB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if d.dialect == "mysql" {
		query = placeholder.ReplaceAllString(query, "?")
	}
	return d.sql.QueryContext(ctx, query, args...)
}

// HasTables reports whether the database holds the Django app's tables of
// platform p.
func (d *DjangoDB) HasTables(ctx context.Context, p enroll.Platform) (bool, error) {
	orders, items := DjangoTables(p)
	for _, table := range []string{orders, items} {
		var q string
		switch d.dialect {
		case "mysql":
			q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = $1`
		case "postgres":
			q = `SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = $1 AND schemaname = ANY (current_schemas(false))`
		default:
			q = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
		}
		n, err := d.count(ctx, q, table)
		if err != nil {
			return false, fmt.Errorf("look for table %s in %s: %w", table, d.where, err)
		}
		if n == 0 {
			return false, nil
		}
	}
	return true, nil
}

func (d *DjangoDB) count(ctx context.Context, query string, args ...any) (int, error) {
	rows, err := d.query(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	ns, err := scanRows(rows, func(n *int) []any { return []any{n} })
	if err != nil || len(ns) == 0 {
		return 0, err
	}
	return ns[0], nil
}

// CountOrders counts the Django app's orders of platform p, whose tables
// must exist (HasTables).
func (d *DjangoDB) CountOrders(ctx context.Context, p enroll.Platform) (int, error) {
	orders, _ := DjangoTables(p)
	n, err := d.count(ctx, `SELECT count(*) FROM `+orders)
	if err != nil {
		return 0, fmt.Errorf("count %s orders in %s: %w", p, d.where, err)
	}
	return n, nil
}

// Orders reads up to limit of the Django app's orders of platform p with
// ids above after, in id order, with their items.
func (d *DjangoDB) Orders(ctx context.Context, p enroll.Platform, after int64, limit int) ([]DjangoOrder, error) {
	ordersTable, itemsTable := DjangoTables(p)
	rows, err := d.query(ctx, `SELECT id, COALESCE(email, ''), received, status FROM `+ordersTable+`
		WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read %s orders from %s: %w", p, d.where, err)
	}
	orders, err := scanRows(rows, func(o *DjangoOrder) []any {
		return []any{&o.ID, &o.Email, djangoTime{&o.Received}, &o.Status}
	})
	if err != nil {
		return nil, fmt.Errorf("read %s orders from %s: %w", p, d.where, err)
	}
	if len(orders) == 0 {
		return nil, nil
	}
	index := make(map[int64]int, len(orders))
	ids := make([]int64, len(orders))
	for i, o := range orders {
		index[o.ID], ids[i] = i, o.ID
	}
	var ps params
	rows, err = d.query(ctx, `SELECT order_id, id, COALESCE(sku, ''), COALESCE(email, ''), status FROM `+itemsTable+`
		WHERE order_id IN (`+ps.list(ids)+`) ORDER BY order_id, id`, ps.args...)
	if err != nil {
		return nil, fmt.Errorf("read %s items from %s: %w", p, d.where, err)
	}
	type orderItem struct {
		orderID int64
		item    DjangoItem
	}
	items, err := scanRows(rows, func(x *orderItem) []any {
		return []any{&x.orderID, &x.item.ID, &x.item.SKU, &x.item.Email, &x.item.Status}
	})
	if err != nil {
		return nil, fmt.Errorf("read %s items from %s: %w", p, d.where, err)
	}
	for _, x := range items {
		o := &orders[index[x.orderID]]
		o.Items = append(o.Items, x.item)
	}
	return orders, nil
}

// djangoTime scans a Django DateTimeField as each backend gives it: a
// time (PostgreSQL, MySQL with parseTime), or text (SQLite).
type djangoTime struct{ t *time.Time }

func (d djangoTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
		return nil
	case time.Time:
		*d.t = v.UTC()
		return nil
	case []byte:
		return d.parse(string(v))
	case string:
		return d.parse(v)
	}
	return fmt.Errorf("a date and time, got %T", src)
}

func (d djangoTime) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999",
		time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			*d.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("a date and time, got %q", s)
}
