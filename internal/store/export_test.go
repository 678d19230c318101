package store

import "context"

// BatchRequest is one delivery of a batch written by Writer.WriteBatch:
// an accepted one when Accepted is set, else Delivery.
type BatchRequest struct {
	Accepted *Accepted
	Delivery Delivery
}

// WriteBatch writes requests as one group-commit batch, as the writer
// goroutine does, and returns each one's answer in their order: tests
// choose what a batch holds, which concurrent callers cannot.
func (w *Writer) WriteBatch(reqs []BatchRequest) ([]SaveResult, []error) {
	batch := make([]*writeRequest, len(reqs))
	for i, r := range reqs {
		batch[i] = &writeRequest{ctx: context.Background(), accepted: r.Accepted, delivery: r.Delivery, done: make(chan struct{})}
	}
	w.write(append([]*writeRequest(nil), batch...)) // write sorts its batch
	res, errs := make([]SaveResult, len(batch)), make([]error, len(batch))
	for i, r := range batch {
		res[i], errs[i] = r.res, r.err
	}
	return res, errs
}
