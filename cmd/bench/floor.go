package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// maxFloorBody is the largest body a floor reads, the service's default limit.
const maxFloorBody = 5 << 20

// Kinds of floor, as the table names them after the backend.
const (
	naiveFloor = "floor"       // one transaction per request
	groupFloor = "group-floor" // one writer commits every waiting request in one transaction
)

// floorPool is how many connections the naive PostgreSQL floor uses.
const floorPool = 10

// floor is a design the service is measured against: verify the HMAC,
// insert the raw body durably, answer 200 after the commit. No parsing, no
// orders, no queue. The naive floor commits each request in its own
// transaction; the group floor hands the body to one writer goroutine that
// commits every request waiting at that moment in one transaction, then
// answers each. It runs in the benchmark's process.
type floor struct {
	kind    string // naiveFloor or groupFloor
	db      *floorDB
	srv     *http.Server
	url     string
	signing signing
	served  chan error

	// The group floor's writer.
	writes chan floorWrite
	quit   chan struct{} // closed once the server no longer hands over writes
	done   chan struct{} // closed when the writer has returned
}

// floorWrite is one request's body waiting for the group floor's writer,
// and where the writer answers once the body's transaction ended.
type floorWrite struct {
	body []byte
	err  chan error
}

// floorDB is a floor's database: SQLite with the service's durability
// settings, or PostgreSQL with synchronous_commit on.
type floorDB struct {
	db          *sql.DB
	placeholder func(n int) string // the dialect's n-th parameter, from 1
}

// openSQLiteFloor opens a fresh SQLite database at path with the service's
// durability settings: WAL, synchronous=FULL, one connection.
func openSQLiteFloor(ctx context.Context, path string) (*floorDB, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("floor: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	const schema = `CREATE TABLE IF NOT EXISTS deliveries (id INTEGER PRIMARY KEY, received_at TEXT, body BLOB)`
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("floor: create table in %s: %w", path, err)
	}
	return &floorDB{db: db, placeholder: func(int) string { return "?" }}, nil
}

// openPostgresFloor opens the PostgreSQL database at databaseURL with
// synchronous_commit on and a pool of conns connections.
func openPostgresFloor(ctx context.Context, databaseURL string, conns int) (*floorDB, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil, errors.New("floor: the PostgreSQL URL is not valid")
	}
	q := u.Query()
	q.Set("synchronous_commit", "on") // a run-time parameter of every connection
	u.RawQuery = q.Encode()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		return nil, fmt.Errorf("floor: open PostgreSQL: %w", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	const schema = `CREATE TABLE IF NOT EXISTS deliveries (id bigserial PRIMARY KEY, received_at timestamptz, body bytea)`
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("floor: create table on PostgreSQL: %w", err)
	}
	return &floorDB{db: db, placeholder: func(n int) string { return "$" + strconv.Itoa(n) }}, nil
}

// maxFloorRows bounds the rows of one INSERT, well within both dialects'
// limits on parameters.
const maxFloorRows = 500

// commit inserts bodies in one transaction, with one statement per
// maxFloorRows bodies: a round trip per body would make the group floor on
// PostgreSQL slower than the naive one, not a yardstick.
func (d *floorDB) commit(ctx context.Context, bodies ...[]byte) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("floor: begin: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	for chunk := range slices.Chunk(bodies, maxFloorRows) {
		var q strings.Builder
		q.WriteString("INSERT INTO deliveries (received_at, body) VALUES ")
		args := make([]any, 0, 2*len(chunk))
		for i, body := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "(%s, %s)", d.placeholder(2*i+1), d.placeholder(2*i+2))
			args = append(args, now, body)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("floor: insert: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("floor: commit: %w", err)
	}
	return nil
}

// count returns how many bodies the database holds.
func (d *floorDB) count(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM deliveries`).Scan(&n)
	return n, err
}

// startFloor serves the two order webhooks on 127.0.0.1, storing into db
// the way kind says. The floor owns db from then on: close closes it.
func startFloor(kind string, db *floorDB, s signing) (*floor, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.db.Close()
		return nil, fmt.Errorf("floor: listen: %w", err)
	}
	f := &floor{kind: kind, db: db, url: "http://" + ln.Addr().String(), signing: s, served: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+shopifyPath, f.handleShopify)
	mux.HandleFunc("POST "+woocommercePath, f.handleWooCommerce)
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	if kind == groupFloor {
		f.writes, f.quit, f.done = make(chan floorWrite), make(chan struct{}), make(chan struct{})
		go f.writer()
	}
	go func() { f.served <- f.srv.Serve(ln) }()
	return f, nil
}

// close stops serving, then stops the writer, then closes the database.
func (f *floor) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err := f.srv.Shutdown(ctx)
	if serr := <-f.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if f.quit != nil {
		close(f.quit)
		<-f.done
	}
	return errors.Join(err, f.db.db.Close())
}

// writer is the group floor's one writer: it takes the first waiting body,
// then every other body already waiting, commits them in one transaction
// and answers each with the outcome.
func (f *floor) writer() {
	defer close(f.done)
	for {
		var batch []floorWrite
		select {
		case <-f.quit:
			return
		case w := <-f.writes:
			batch = append(batch, w)
		}
	more:
		for {
			select {
			case w := <-f.writes:
				batch = append(batch, w)
			default:
				break more
			}
		}
		bodies := make([][]byte, len(batch))
		for i, w := range batch {
			bodies[i] = w.body
		}
		err := f.db.commit(context.Background(), bodies...)
		for _, w := range batch {
			w.err <- err
		}
	}
}

// store commits one body the floor's way, returning after the commit.
func (f *floor) store(ctx context.Context, body []byte) error {
	if f.kind != groupFloor {
		return f.db.commit(ctx, body)
	}
	w := floorWrite{body: body, err: make(chan error, 1)}
	select {
	case f.writes <- w:
	case <-f.quit:
		return errors.New("floor: closing")
	}
	return <-w.err // the writer answers every body it took
}

func (f *floor) handleShopify(w http.ResponseWriter, r *http.Request) {
	domain := r.Header.Get("X-Shopify-Shop-Domain")
	if domain == "" {
		http.Error(w, "missing X-Shopify-Shop-Domain", http.StatusBadRequest)
		return
	}
	if domain != f.signing.shopDomain {
		http.Error(w, "unknown shop", http.StatusForbidden)
		return
	}
	f.handle(w, r, r.Header.Get("X-Shopify-Hmac-Sha256"), f.signing.shopifySecret)
}

func (f *floor) handleWooCommerce(w http.ResponseWriter, r *http.Request) {
	source := r.Header.Get("X-WC-Webhook-Source")
	if source == "" {
		http.Error(w, "missing X-WC-Webhook-Source", http.StatusBadRequest)
		return
	}
	if source != f.signing.wooSource {
		http.Error(w, "unknown site", http.StatusForbidden)
		return
	}
	f.handle(w, r, r.Header.Get("X-WC-Webhook-Signature"), f.signing.wooSecret)
}

// handle verifies the signature over the raw body, stores the body and
// answers 200 once it is committed.
func (f *floor) handle(w http.ResponseWriter, r *http.Request, signature, secret string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFloorBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if !signed(body, signature, secret) {
		http.Error(w, "invalid signature", http.StatusForbidden)
		return
	}
	if err := f.store(r.Context(), body); err != nil {
		http.Error(w, "not stored", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// signed reports whether signature is the base64 HMAC-SHA256 of body under
// secret, compared in constant time.
func signed(body []byte, signature, secret string) bool {
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
