package shopifytest

import "time"

// bucket is Shopify's leaky bucket of query cost points: a query runs only
// when the points it requests are available, takes the points it actually
// cost, and points come back at restore a second up to max.
type bucket struct {
	max       float64
	restore   float64
	available float64
	last      time.Time
}

func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.available = min(b.max, b.available+now.Sub(b.last).Seconds()*b.restore)
		b.last = now
	}
}

// SetThrottle sets the bucket's size and its restore rate in points a
// second, and fills it.
func (s *Shop) SetThrottle(maximum, restorePerSecond float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket = bucket{max: maximum, restore: restorePerSecond, available: maximum, last: s.now()}
}

// Drain empties the bucket: the next query is throttled unless the clock
// moves on (Advance, or real time) enough to restore its cost.
func (s *Shop) Drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket.refill(s.now())
	s.bucket.available = 0
}

// Available is the points in the bucket now.
func (s *Shop) Available() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bucket.refill(s.now())
	return s.bucket.available
}

// The costs the fake charges: a query of orders requests two points per
// order it may return and two for the connection, and costs two per order
// it did return; a subscription list costs one point per subscription it
// may return (at least one); a mutation costs 10, as Shopify's do.
func ordersCost(n int) int        { return 2 + 2*n }
func subscriptionsCost(n int) int { return max(1, n) }

const mutationCost = 10
