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
	"time"

	_ "modernc.org/sqlite" // registers "sqlite"
)

// maxFloorBody is the largest body the floor reads, the service's default limit.
const maxFloorBody = 5 << 20

// floor is the naive design the service is measured against: verify the
// HMAC, insert the raw body in its own durable SQLite transaction, answer.
// No parsing, no orders, no queue. It runs in the benchmark's process.
type floor struct {
	db      *sql.DB
	srv     *http.Server
	url     string
	signing signing
	served  chan error
}

// startFloor opens a fresh SQLite database at path with the service's
// durability settings and serves the two order webhooks on 127.0.0.1.
func startFloor(ctx context.Context, path string, s signing) (*floor, error) {
	db, err := openFloorDB(ctx, path)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("floor: listen: %w", err)
	}
	f := &floor{db: db, url: "http://" + ln.Addr().String(), signing: s, served: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+shopifyPath, f.handleShopify)
	mux.HandleFunc("POST "+woocommercePath, f.handleWooCommerce)
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	go func() { f.served <- f.srv.Serve(ln) }()
	return f, nil
}

func openFloorDB(ctx context.Context, path string) (*sql.DB, error) {
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
	return db, nil
}

// close stops serving, then closes the database.
func (f *floor) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	err := f.srv.Shutdown(ctx)
	if serr := <-f.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return errors.Join(err, f.db.Close())
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
	f.store(w, r, r.Header.Get("X-Shopify-Hmac-Sha256"), f.signing.shopifySecret)
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
	f.store(w, r, r.Header.Get("X-WC-Webhook-Signature"), f.signing.wooSecret)
}

// store verifies the signature over the raw body and inserts the body.
func (f *floor) store(w http.ResponseWriter, r *http.Request, signature, secret string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFloorBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	if !signed(body, signature, secret) {
		http.Error(w, "invalid signature", http.StatusForbidden)
		return
	}
	if err := f.insert(r.Context(), body); err != nil {
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

func (f *floor) insert(ctx context.Context, body []byte) error {
	tx, err := f.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("floor: begin: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (received_at, body) VALUES (?, ?)`, now, body); err != nil {
		return fmt.Errorf("floor: insert: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("floor: commit: %w", err)
	}
	return nil
}
