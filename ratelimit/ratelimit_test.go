package ratelimit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

func TestParseLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Limit
		err  bool
	}{
		{in: "100/s", want: Limit{100, time.Second}},
		{in: " 6000/m ", want: Limit{6000, time.Minute}},
		{in: "5/h", want: Limit{5, time.Hour}},
		{in: "off"}, {in: ""}, {in: "0"},
		{in: "0/s", err: true}, {in: "-1/s", err: true}, {in: "10", err: true}, {in: "10/d", err: true}, {in: "x/s", err: true},
	} {
		got, err := ParseLimit(tc.in)
		if tc.err {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
		if !got.IsZero() {
			again, err := ParseLimit(got.String())
			require.NoError(t, err)
			require.Equal(t, got, again, "String reads back")
		}
	}
}

func TestMemory(t *testing.T) {
	t.Parallel()
	m := NewMemory()
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	l := Limit{Rate: 4, Period: time.Second}
	for i := range 4 {
		res, err := m.Allow(ctx, "k", l)
		require.NoError(t, err)
		require.True(t, res.Allowed, "request %d of the burst", i)
		require.Equal(t, 3-i, res.Remaining)
	}
	res, err := m.Allow(ctx, "k", l)
	require.NoError(t, err)
	require.False(t, res.Allowed)
	require.Equal(t, 250*time.Millisecond, res.RetryAfter, "one request per 250ms comes back")
	require.Equal(t, time.Second, res.ResetAfter)

	other, err := m.Allow(ctx, "other", l)
	require.NoError(t, err)
	require.True(t, other.Allowed, "keys have their own allowance")

	now = now.Add(250 * time.Millisecond)
	res, err = m.Allow(ctx, "k", l)
	require.NoError(t, err)
	require.True(t, res.Allowed, "refilled")

	off, err := m.Allow(ctx, "k", Limit{})
	require.NoError(t, err)
	require.True(t, off.Allowed, "no limit")

	now = now.Add(time.Hour)
	m.sweep(now)
	require.Empty(t, m.buckets, "idle buckets are forgotten")
}

// TestRedisIsShared checks that two limiters on one Redis, as two
// processes have, share one allowance, and that a Redis that cannot be
// reached leaves the decision to the fallback.
func TestRedisIsShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := Limit{Rate: 10, Period: time.Minute}
	for _, srv := range rotationtest.All(t) {
		t.Run(srv.Name, func(t *testing.T) {
			a := NewRedis(srv.Client, srv.Prefix, time.Second, nil)
			b := NewRedis(srv.Client, srv.Prefix, time.Second, nil)
			allowed := 0
			for i := range 15 {
				lim := a
				if i%2 == 1 {
					lim = b
				}
				res, err := lim.Allow(ctx, "key", l)
				require.NoError(t, err)
				if res.Allowed {
					allowed++
				} else {
					require.Positive(t, res.RetryAfter)
				}
			}
			require.Equal(t, 10, allowed)
		})
	}

	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	fallback := &countingLimiter{Limiter: NewMemory()}
	r := NewRedis(down, "test:", 200*time.Millisecond, fallback)
	for range 10 {
		res, err := r.Allow(ctx, "key", l)
		require.NoError(t, err)
		require.True(t, res.Allowed)
	}
	res, err := r.Allow(ctx, "key", l)
	require.NoError(t, err)
	require.False(t, res.Allowed, "the fallback keeps the limit")
	require.Equal(t, 11, fallback.calls)

	// After a failure Redis is left alone for a while, then asked again.
	now := time.Now()
	r.now = func() time.Time { return now }
	r.downUntil.Store(now.Add(time.Second).UnixNano())
	r.limiter = nil // would panic if asked
	_, err = r.Allow(ctx, "key", l)
	require.NoError(t, err)
	_, err = NewRedis(down, "test:", 200*time.Millisecond, nil).Allow(ctx, "key", l)
	require.Error(t, err, "no fallback: the error")
}

type countingLimiter struct {
	Limiter
	calls int
}

func (c *countingLimiter) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	c.calls++
	return c.Limiter.Allow(ctx, key, l)
}

// TestIssue10_18_MemoryIsBounded checks that a flood of keys costs at most
// the configured number of buckets, that the least recently used ones are
// the ones forgotten, and that Peek neither charges nor remembers a key.
func TestIssue10_18_MemoryIsBounded(t *testing.T) {
	t.Parallel()
	const maxKeys = 64
	m := NewMemory(WithMaxKeys(maxKeys))
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	m.now = func() time.Time { return now }
	ctx := context.Background()
	l := Limit{Rate: 3, Period: time.Hour}
	for range 3 {
		res, err := m.Allow(ctx, "hot", l)
		require.NoError(t, err)
		require.True(t, res.Allowed)
	}
	for i := range 10 * maxKeys {
		_, err := m.Allow(ctx, fmt.Sprintf("made-up-%d", i), l)
		require.NoError(t, err)
		require.LessOrEqual(t, m.Len(), maxKeys, "after %d keys", i+1)
		if i%8 == 0 {
			res := m.Peek("hot", l) // a peek is not a use
			require.False(t, res.Allowed)
			_, err := m.Allow(ctx, "hot", Limit{}) // nor is a call without a limit
			require.NoError(t, err)
		}
		if i%16 == 0 {
			// Used now and then, "hot" is never the least recently used:
			// its allowance is kept, not reset by the flood.
			res, err := m.Allow(ctx, "hot", l)
			require.NoError(t, err)
			require.False(t, res.Allowed, "the allowance is spent")
		}
	}
	require.Equal(t, maxKeys, m.Len())

	res := m.Peek("never-seen", l)
	require.True(t, res.Allowed)
	require.Equal(t, 3, res.Remaining)
	require.Equal(t, maxKeys, m.Len(), "a peek remembers nothing")
	for range 3 {
		_, err := m.Allow(ctx, "spent", l)
		require.NoError(t, err)
	}
	res = m.Peek("spent", l)
	require.False(t, res.Allowed)
	require.Equal(t, 20*time.Minute, res.RetryAfter)
	require.False(t, m.Peek("spent", l).Allowed, "a peek does not charge")
	now = now.Add(20 * time.Minute)
	require.True(t, m.Peek("spent", l).Allowed)

	require.Equal(t, DefaultMaxKeys, NewMemory().maxKeys, "bounded by default")
}
