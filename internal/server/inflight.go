package server

import "sync"

// smallBody is the size up to which a body counts as small: orders are.
const smallBody = 64 << 10

// inflight bounds the bytes of webhook bodies held in memory at once
// (WEBHOOK_RECEIVER_MAX_INFLIGHT_BYTES). A request reserves its body's
// bytes before reading them: all at once when it declares a Content-Length,
// else as it reads. Bodies larger than smallBody together leave part of the
// budget free, so that a crowd of large bodies cannot keep small orders out.
type inflight struct {
	mu   sync.Mutex
	used int64
	max  int64
	// largeMax is what the budget may hold while a large body reserves.
	largeMax int64
}

// newInflight keeps a quarter of max for small bodies, or less when that
// would leave too little for one body of maxBody bytes.
func newInflight(limit, maxBody int64) *inflight {
	keep := max(0, min(limit/4, limit-maxBody))
	return &inflight{max: limit, largeMax: limit - keep}
}

// reserve adds n bytes for a request that holds held bytes already, and
// reports whether the budget had room for them.
func (b *inflight) reserve(held, n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	limit := b.max
	if held+n > smallBody {
		limit = b.largeMax
	}
	if b.used+n > limit {
		return false
	}
	b.used += n
	return true
}

func (b *inflight) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}
