package ratelimit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/ratelimit"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// TestEveryRedisKeyStartsWithThePrefix sends traffic through the two users
// of Redis, the rate limiter and the rotator, on one prefix, as a server
// does with --redis-prefix, then lists the keys of the real Redis that
// mention the prefix: each must start with it, so that an ACL or a flush by
// prefix covers every key (redis_rate puts "rate:" before its keys).
func TestEveryRedisKeyStartsWithThePrefix(t *testing.T) {
	t.Parallel()
	srv := rotationtest.Real(t)
	if srv == nil {
		t.Skip("no real Redis")
	}
	ctx := context.Background()
	lim := ratelimit.NewRedis(srv.Client, srv.Prefix, time.Second, nil)
	for _, key := range []string{"key:a", "account:1"} {
		for range 3 {
			_, err := lim.Allow(ctx, key, ratelimit.Limit{Rate: 2, Period: time.Minute})
			require.NoError(t, err)
		}
	}
	rot, err := rotation.NewRedis(srv.Client, nil, rotation.WithKeyPrefix(srv.Prefix))
	require.NoError(t, err)
	r := &leads.Rotation{ID: 7, AccountID: "1", Members: []leads.RotationMember{{User: "a@x.io", Weight: 1}, {User: "b@x.io", Weight: 2}}}
	for range 4 {
		turn, err := rot.Next(ctx, r, time.Now())
		require.NoError(t, err)
		rot.ConfirmTurn(r, turn)
	}

	iter := srv.Client.Scan(ctx, 0, "*"+srv.Prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	require.NoError(t, iter.Err())
	var limits, rotations int
	for _, k := range keys {
		require.True(t, strings.HasPrefix(k, srv.Prefix), "key %q is not under the prefix %q", k, srv.Prefix)
		rest := strings.TrimPrefix(k, srv.Prefix)
		switch {
		case strings.HasPrefix(rest, "ratelimit:"):
			limits++
		case strings.HasPrefix(rest, "rotation:"):
			rotations++
		}
	}
	require.Equal(t, 2, limits, "one key per limited name: %q", keys)
	require.Positive(t, rotations, "the rotation's keys: %q", keys)
}
