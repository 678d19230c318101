package jobs

import (
	"context"
	"sync"
	"time"
)

// The pacer's steps: the gap after the first throttled call, its growth at
// each throttled call after, its shrinking at each call that passes (to
// find an LMS that allows more again), and its bounds.
const (
	firstGap  = time.Second
	gapGrowth = 1.25
	gapShrink = 0.998
	minGap    = 10 * time.Millisecond
	maxGap    = time.Minute
)

// pacer spaces the bulk enrollment calls once the LMS has throttled one,
// so that they pass its throttle: each 429 stops every call for its
// Retry-After, and calls as fast as the workers make them would spend most
// of the time stopped, with fewer learners enrolled than the LMS allows.
// The gap between calls starts at firstGap, grows by a quarter at each
// throttled call sent at the current gap, and shrinks slowly while calls
// pass; under minGap, calls go at once again.
type pacer struct {
	mu      sync.Mutex
	gap     time.Duration // 0: calls go at once
	next    time.Time     // when the next call may go
	pause   time.Time     // no call goes before: the LMS's last Retry-After
	grownAt time.Time     // when gap last grew
}

// wait holds a call back until its turn, and returns when it went. A call
// whose turn fell in a pause that began while it waited waits for a new
// turn after the pause.
func (p *pacer) wait(ctx context.Context) (time.Time, error) {
	for {
		p.mu.Lock()
		now := time.Now()
		at := now
		if p.next.After(at) {
			at = p.next
		}
		if p.pause.After(at) {
			at = p.pause
		}
		if p.gap > 0 {
			p.next = at.Add(p.gap)
		}
		p.mu.Unlock()
		d := at.Sub(now)
		if d <= 0 {
			p.sent(now)
			return now, nil
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return at, ctx.Err()
		case <-t.C:
		}
		p.mu.Lock()
		now = time.Now()
		paused := now.Before(p.pause)
		p.mu.Unlock()
		if !paused {
			p.sent(now)
			return now, nil
		}
	}
}

// sent notes a call going at now: the next goes a gap after it, however
// late it went for its turn.
func (p *pacer) sent(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if next := now.Add(p.gap); p.gap > 0 && next.After(p.next) {
		p.next = next
	}
}

// throttled notes a call sent at sent that the LMS throttled, asking to
// wait retryAfter: no call goes before that, and the gap grows, once for
// the calls sent at the gap before.
func (p *pacer) throttled(sent time.Time, retryAfter time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if sent.Before(p.grownAt) || sent.Before(p.pause) {
		return
	}
	p.grownAt, p.pause = now, now.Add(retryAfter)
	if p.gap == 0 {
		p.gap = firstGap
		return
	}
	p.gap = min(time.Duration(float64(p.gap)*gapGrowth), maxGap)
}

// passed notes a call the LMS did not throttle.
func (p *pacer) passed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gap == 0 {
		return
	}
	if p.gap = time.Duration(float64(p.gap) * gapShrink); p.gap < minGap {
		p.gap = 0
	}
}
