package agent

import (
	"sync"
	"time"
)

// bucket is a token bucket: it holds up to burst tokens and refills at rate per second.
type bucket struct {
	tokens float64
	last   time.Time
}

// limiter is a set of token buckets keyed by a string (a source IP, or "" for a global one).
type limiter struct {
	burst float64
	rate  float64 // tokens per second
	now   func() time.Time

	mu      sync.Mutex // guards buckets
	buckets map[string]*bucket
}

// maxBuckets bounds the limiter's memory when many sources fail: past it, buckets that have
// refilled completely (and so carry no state) are dropped.
const maxBuckets = 10000

func newLimiter(burst int, perSecond float64, now func() time.Time) *limiter {
	if now == nil {
		now = time.Now
	}
	return &limiter{burst: float64(burst), rate: perSecond, now: now, buckets: map[string]*bucket{}}
}

// refill brings b up to date; the caller holds l.mu.
func (l *limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(l.burst, b.tokens+el*l.rate)
	}
	b.last = now
}

func (l *limiter) get(key string, now time.Time) *bucket {
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.prune(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	return b
}

func (l *limiter) prune(now time.Time) {
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}

// allow takes one token for key and reports whether there was one.
func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, l.now())
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// refund gives back n tokens to key's bucket, up to its burst: what a probe paid for and did
// not send.
func (l *limiter) refund(key string, n float64) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, l.now())
	b.tokens = min(l.burst, b.tokens+n)
}

// allowN takes n tokens for key and reports whether there were that many; it takes none
// when there were not.
func (l *limiter) allowN(key string, n float64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.get(key, l.now())
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}
