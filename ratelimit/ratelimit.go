// Package ratelimit decides whether a request may go on under a rate limit:
// shared by every process through Redis (go-redis/redis_rate, GCRA), or in
// this process (golang.org/x/time/rate token buckets) when there is no Redis
// or Redis does not answer.
package ratelimit

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// Limit allows Rate requests per Period, in bursts of up to Rate.
type Limit struct {
	Rate   int
	Period time.Duration
}

// IsZero reports whether l limits nothing.
func (l Limit) IsZero() bool { return l.Rate <= 0 || l.Period <= 0 }

// String writes l as ParseLimit reads it: "100/s", "6000/m", "off".
func (l Limit) String() string {
	if l.IsZero() {
		return "off"
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[l.Period]
	if unit == "" {
		unit = l.Period.String()
	}
	return strconv.Itoa(l.Rate) + "/" + unit
}

// ParseLimit reads "N/s", "N/m" or "N/h" (N requests per second, minute or
// hour); "", "0" and "off" mean no limit.
func ParseLimit(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" || s == "off" {
		return Limit{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	periods := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}
	rate, err := strconv.Atoi(n)
	period, known := periods[unit]
	if !ok || err != nil || rate < 1 || !known {
		return Limit{}, fmt.Errorf("rate limit %q: want N/s, N/m or N/h with N >= 1, or off", s)
	}
	return Limit{Rate: rate, Period: period}, nil
}

// Result is the outcome of one Allow.
type Result struct {
	// Allowed is false when the request must wait RetryAfter.
	Allowed bool
	Limit   Limit
	// Remaining is how many more requests would be allowed right now.
	Remaining int
	// RetryAfter is when the request would be allowed; 0 when it is.
	RetryAfter time.Duration
	// ResetAfter is when the limit will be untouched again.
	ResetAfter time.Duration
}

// Limiter takes one request from key's allowance under l.
type Limiter interface {
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}

// Memory is a Limiter of this process: one token bucket per key, for at
// most a bounded number of keys. Keys left alone for a while are forgotten,
// and past the bound the least recently used key is, so that many keys (say,
// a flood of made-up API keys) cost bounded memory: a bucket with its key
// and bookkeeping is about 0.7 KB, so DefaultMaxKeys costs about 45 MB at
// most. A forgotten key starts again with a full allowance.
type Memory struct {
	now     func() time.Time
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // of *bucket, most recently used first
	calls   int
}

type bucket struct {
	key   string
	lim   *rate.Limiter
	limit Limit
	used  time.Time
}

// DefaultMaxKeys is how many keys a Memory remembers unless told.
const DefaultMaxKeys = 1 << 16

// sweepEvery is how many calls pass between sweeps of idle buckets.
const sweepEvery = 4096

// MemoryOption configures a Memory.
type MemoryOption func(*Memory)

// WithMaxKeys bounds how many keys a Memory remembers (at least 1).
func WithMaxKeys(n int) MemoryOption {
	return func(m *Memory) { m.maxKeys = max(1, n) }
}

// NewMemory returns an in-process Limiter that remembers at most
// DefaultMaxKeys keys.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{now: time.Now, maxKeys: DefaultMaxKeys, buckets: make(map[string]*list.Element)}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Len returns how many keys m remembers.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.buckets)
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if l.IsZero() {
		return Result{Allowed: true, Limit: l}, nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.calls%sweepEvery == 0 {
		m.sweep(now)
	}
	b := m.bucket(key, l)
	b.used = now
	res := Result{Limit: l}
	if r := b.lim.ReserveN(now, 1); r.OK() && r.DelayFrom(now) == 0 {
		res.Allowed = true
	} else {
		res.RetryAfter = r.DelayFrom(now)
		r.CancelAt(now)
	}
	fill(&res, b.lim.TokensAt(now))
	return res, nil
}

// Peek returns what Allow would for key under l, without charging it or
// remembering a key it does not know (whose allowance is full).
func (m *Memory) Peek(key string, l Limit) Result {
	if l.IsZero() {
		return Result{Allowed: true, Limit: l}
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	tokens := float64(l.Rate)
	if e := m.buckets[key]; e != nil && e.Value.(*bucket).limit == l {
		tokens = e.Value.(*bucket).lim.TokensAt(now)
	}
	res := Result{Limit: l, Allowed: tokens >= 1}
	if !res.Allowed {
		res.RetryAfter = time.Duration((1 - tokens) * float64(l.Period) / float64(l.Rate))
	}
	fill(&res, tokens)
	return res
}

// fill sets what res says of an allowance that holds tokens.
func fill(res *Result, tokens float64) {
	l := res.Limit
	res.Remaining = max(0, int(tokens))
	res.ResetAfter = time.Duration((float64(l.Rate) - tokens) * float64(l.Period) / float64(l.Rate))
}

// bucket returns key's bucket under l, made the most recently used; a new
// one when key is unknown or its limit changed, forgetting the least
// recently used key when m is full. m.mu is held.
func (m *Memory) bucket(key string, l Limit) *bucket {
	if e := m.buckets[key]; e != nil {
		b := e.Value.(*bucket)
		if b.limit == l {
			m.lru.MoveToFront(e)
			return b
		}
		m.forget(e)
	}
	for len(m.buckets) >= m.maxKeys {
		m.forget(m.lru.Back())
	}
	b := &bucket{key: key, lim: rate.NewLimiter(rate.Every(l.Period/time.Duration(l.Rate)), l.Rate), limit: l}
	m.buckets[key] = m.lru.PushFront(b)
	return b
}

func (m *Memory) forget(e *list.Element) {
	delete(m.buckets, e.Value.(*bucket).key)
	m.lru.Remove(e)
}

// sweep forgets the buckets that have filled up again since their last use:
// a new bucket would be the same.
func (m *Memory) sweep(now time.Time) {
	for _, e := range m.buckets {
		if b := e.Value.(*bucket); now.Sub(b.used) > b.limit.Period {
			m.forget(e)
		}
	}
}

// Redis is a Limiter shared by every process using the same Redis and
// prefix. When Redis cannot be reached it decides with its fallback, so
// that an outage neither stops traffic nor lifts every limit; after a
// failure it does not ask Redis again for a second, so that a hung Redis
// costs one timeout, not one per request.
type Redis struct {
	limiter  *redis_rate.Limiter
	prefix   string
	timeout  time.Duration
	fallback Limiter
	now      func() time.Time
	// downUntil is when to ask Redis again (Unix nanoseconds; 0: now).
	downUntil atomic.Int64
}

// redisBackoff is how long a failed Redis is left alone.
const redisBackoff = time.Second

// NewRedis returns a Limiter over client, keys under prefix, each call
// bounded by timeout, deciding with fallback while Redis fails. Every key
// it writes starts with prefix (then "ratelimit:"), so that an ACL or a
// flush by prefix covers them.
func NewRedis(client redis.UniversalClient, prefix string, timeout time.Duration, fallback Limiter) *Redis {
	return &Redis{limiter: redis_rate.NewLimiter(unprefixed{client}), prefix: prefix + "ratelimit:", timeout: timeout, fallback: fallback, now: time.Now}
}

// rateKeyPrefix is what redis_rate puts before every key it is given (its
// unexported redisPrefix, v10), with no option to change it.
const rateKeyPrefix = "rate:"

// unprefixed is the client redis_rate talks to: it takes rateKeyPrefix off
// the keys of redis_rate's commands, so that the keys in Redis are the ones
// Redis.Allow names, under the caller's prefix.
type unprefixed struct{ redis.UniversalClient }

// Eval implements redis_rate's client.
func (c unprefixed) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return c.UniversalClient.Eval(ctx, script, trimRateKeys(keys), args...)
}

// EvalSha implements redis_rate's client.
func (c unprefixed) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return c.UniversalClient.EvalSha(ctx, sha1, trimRateKeys(keys), args...)
}

// EvalRO implements redis_rate's client.
func (c unprefixed) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return c.UniversalClient.EvalRO(ctx, script, trimRateKeys(keys), args...)
}

// EvalShaRO implements redis_rate's client.
func (c unprefixed) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return c.UniversalClient.EvalShaRO(ctx, sha1, trimRateKeys(keys), args...)
}

// Del implements redis_rate's client.
func (c unprefixed) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return c.UniversalClient.Del(ctx, trimRateKeys(keys)...)
}

// trimRateKeys returns keys without rateKeyPrefix.
func trimRateKeys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = strings.TrimPrefix(k, rateKeyPrefix)
	}
	return out
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if l.IsZero() {
		return Result{Allowed: true, Limit: l}, nil
	}
	now := r.now()
	if r.fallback != nil && now.UnixNano() < r.downUntil.Load() {
		return r.fallback.Allow(ctx, key, l)
	}
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := r.limiter.Allow(rctx, r.prefix+key, redis_rate.Limit{Rate: l.Rate, Burst: l.Rate, Period: l.Period})
	if err != nil {
		if r.fallback != nil && !errors.Is(ctx.Err(), context.Canceled) {
			r.downUntil.Store(now.Add(redisBackoff).UnixNano())
			return r.fallback.Allow(ctx, key, l)
		}
		return Result{}, fmt.Errorf("rate limit: %w", err)
	}
	out := Result{Allowed: res.Allowed > 0, Limit: l, Remaining: res.Remaining, ResetAfter: max(0, res.ResetAfter)}
	if !out.Allowed {
		out.RetryAfter = max(0, res.RetryAfter)
	}
	return out, nil
}
