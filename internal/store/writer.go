package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrWriterClosed is returned for deliveries handed to a closed Writer.
var ErrWriterClosed = errors.New("the writer is closed")

// writeTimeout bounds one batch's transaction.
const writeTimeout = 30 * time.Second

// busyWindow is how long after its last batch the writer still counts as
// busy: under load, batches follow each other much closer than this.
const busyWindow = 20 * time.Millisecond

// Writer stores deliveries by group commit: a writer goroutine takes the
// deliveries waiting for it (at most maxBatch), stores them in one
// transaction with a few multi-row statements, enqueues their items,
// commits, and only then answers each caller. Should the database refuse
// the batch, each delivery is written alone, so that one bad delivery does
// not fail the others. Under load, batches grow by themselves; alone, a
// delivery is written at once.
//
// Accepted deliveries come first: deliveries that create no order
// (rejections) wait in a queue of their own, and are written, in batches
// of their own, only when no accepted delivery is waiting. So rejected
// requests, however many, neither fill the accepted ones' queue nor join
// their transactions.
type Writer struct {
	db       *DB
	enqueue  EnqueueFunc
	maxBatch int
	reqs     chan *writeRequest // accepted deliveries
	others   chan *writeRequest // deliveries that create no order
	last     atomic.Int64       // when the last batch started or ended, in Unix nanoseconds

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

type writeRequest struct {
	ctx      context.Context
	accepted *Accepted // nil for a delivery that creates no order
	delivery Delivery
	// fields and parsed are made by prepareRow: by the caller, before the
	// request is queued, so that the writer's goroutine has less to do.
	fields *deliveryFields
	parsed []byte
	res    SaveResult
	err    error
	done   chan struct{}
}

// NewWriter starts writers goroutines (one for SQLite, which has a single
// writer anyway) that store at most maxBatch deliveries per transaction,
// until Close.
func (db *DB) NewWriter(enqueue EnqueueFunc, writers, maxBatch int) *Writer {
	if db.dialect == SQLite || writers < 1 {
		writers = 1
	}
	maxBatch = max(maxBatch, 1)
	w := &Writer{db: db, enqueue: enqueue, maxBatch: maxBatch,
		reqs: make(chan *writeRequest, 4*maxBatch), others: make(chan *writeRequest, 4*maxBatch)}
	for range writers {
		w.wg.Go(w.loop)
	}
	return w
}

// SaveAccepted stores an accepted delivery, its order and items and
// enqueues the items, like DB.SaveAccepted, batched with others.
func (w *Writer) SaveAccepted(ctx context.Context, a Accepted) (SaveResult, error) {
	r := &writeRequest{ctx: ctx, accepted: &a, done: make(chan struct{})}
	if err := w.submit(ctx, w.reqs, r); err != nil {
		return SaveResult{}, err
	}
	return r.res, r.err
}

// SaveDelivery records a delivery that creates no order, batched with
// others like it, when no accepted delivery is waiting.
func (w *Writer) SaveDelivery(ctx context.Context, d Delivery) (int64, error) {
	r := &writeRequest{ctx: ctx, delivery: d, done: make(chan struct{})}
	if err := w.submit(ctx, w.others, r); err != nil {
		return 0, err
	}
	return r.res.DeliveryID, r.err
}

// submit makes r's row values (prepareRow), hands r to a writer goroutine
// and waits for its answer, or until ctx ends. A delivery whose ctx has ended when a transaction that would
// write it begins (its batch's, or its own when the batch failed and each
// delivery is tried alone) is left out of it: its caller has given up, and
// the shop sends it again. Once that transaction has begun, it is written
// even if ctx ends, and a caller that stopped waiting does not learn it.
func (w *Writer) submit(ctx context.Context, queue chan<- *writeRequest, r *writeRequest) error {
	if err := r.prepareRow(); err != nil {
		return err
	}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrWriterClosed
	}
	select {
	case queue <- r:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Busy reports whether webhooks wait for a writer, or a batch began or
// ended within the last busyWindow: the enrollment workers of this process
// hold back while it does (jobs.Options.IngestBusy).
func (w *Writer) Busy() bool {
	return len(w.reqs) > 0 || time.Since(time.Unix(0, w.last.Load())) < busyWindow
}

// Close stops taking deliveries, waits until every delivery taken has its
// answer, and returns once the writer goroutines have ended.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
		close(w.others)
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// loop writes batch after batch until Close. A batch holds accepted
// deliveries, or, when none is waiting, others.
func (w *Writer) loop() {
	reqs, others := w.reqs, w.others // nil once closed and drained
	for reqs != nil || others != nil {
		queue := reqs
		var first *writeRequest
		var ok bool
		select {
		case first, ok = <-reqs:
		default:
			select {
			case first, ok = <-reqs:
			case first, ok = <-others:
				queue = others
			}
		}
		if !ok {
			if queue == reqs {
				reqs = nil
			} else {
				others = nil
			}
			continue
		}
		batch := []*writeRequest{first}
	collect:
		for len(batch) < w.maxBatch {
			select {
			case r, ok := <-queue:
				if !ok {
					break collect
				}
				batch = append(batch, r)
			default:
				break collect
			}
		}
		w.last.Store(time.Now().UnixNano())
		w.write(batch)
		w.last.Store(time.Now().UnixNano())
	}
}

// write stores a batch in one transaction and answers every request in it.
// Orders are written in key order, so that two processes writing the same
// orders take their locks in the same order and cannot deadlock. Should the
// batch's transaction fail as a whole, each request is tried alone.
func (w *Writer) write(batch []*writeRequest) {
	slices.SortStableFunc(batch, byOrder)
	if err := w.writeTx(batch); err != nil && len(batch) > 1 {
		for _, r := range batch {
			r.err, r.res = nil, SaveResult{}
			w.writeTx([]*writeRequest{r})
		}
	}
	for _, r := range batch {
		close(r.done)
	}
}

// byOrder sorts deliveries without an order first, then by the order's key,
// comparing fields rather than formatting keys: this runs on the writer.
func byOrder(a, b *writeRequest) int {
	switch {
	case a.accepted == nil && b.accepted == nil:
		return 0
	case a.accepted == nil:
		return -1
	case b.accepted == nil:
		return 1
	}
	x, y := a.accepted.Order, b.accepted.Order
	return cmp.Or(cmp.Compare(x.Platform, y.Platform), cmp.Compare(x.Source, y.Source), cmp.Compare(x.ID, y.ID))
}

// writeTx stores requests in one transaction and sets each one's answer.
func (w *Writer) writeTx(batch []*writeRequest) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	err := w.db.inTx(ctx, func(tx *sql.Tx) error {
		var live []*writeRequest
		for _, r := range batch {
			if r.err = r.ctx.Err(); r.err == nil { // else the caller gave up before anything was written
				live = append(live, r)
			}
		}
		// Should this fail, the transaction may be unusable (PostgreSQL
		// aborts it): write fails as a whole and tries each request alone.
		if err := w.db.saveBatch(ctx, tx, live); err != nil {
			return err
		}
		var items []int64
		var skus []string
		for _, r := range live {
			items = append(items, r.res.Enqueued...)
			skus = append(skus, r.res.skus...)
		}
		if len(items) == 0 {
			return nil
		}
		if err := w.enqueue(ctx, tx, groupBySKU(items, skus)); err != nil {
			return fmt.Errorf("enqueue %d items: %w", len(items), err)
		}
		return nil
	})
	for _, r := range batch {
		if err != nil && r.err == nil {
			r.err, r.res = err, SaveResult{}
		}
	}
	return err
}
