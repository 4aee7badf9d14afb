package rotation

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/faultnet"
	"github.com/leadrotor/leadrotor/leads"
)

// TestLatePickTakesNoTurn holds the pick script in the network, as a hung
// Redis holds it in its input, until the caller has given up: when it
// finally runs, it must take nothing, or the turn it took would reach no
// lead and the rotation would skip a member.
func TestLatePickTakesNoTurn(t *testing.T) {
	t.Parallel()
	m, proxy, r := proxiedRotator(t, WithTimeout(200*time.Millisecond))
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	rot := &leads.Rotation{ID: 7, Members: []leads.RotationMember{{User: "a", Weight: 1}, {User: "b", Weight: 1}}}

	turn, err := r.Next(ctx, rot, now)
	require.NoError(t, err)
	require.Equal(t, "a", turn.Assignee)

	proxy.Hold()
	_, err = r.Next(ctx, rot, now)
	require.Error(t, err)
	require.True(t, leads.IsUnavailable(err), "a hung Redis is unavailable: %v", err)
	before := m.CommandCount()
	proxy.Restore() // the script reaches Redis now, after its deadline
	require.Eventually(t, func() bool { return m.CommandCount() > before }, 5*time.Second, time.Millisecond)

	turn = nextAfterOutage(t, r, rot, now)
	require.Equal(t, "b", turn.Assignee, "the late script took no turn")
	require.EqualValues(t, 2, turn.Seq)
}

// TestPickWithRedisClockAhead checks that a Redis whose clock is far ahead
// (every deadline already past) still takes turns, without deadlines.
func TestPickWithRedisClockAhead(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	m.SetTime(time.Now().Add(time.Hour))
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = client.Close() })
	r, err := NewRedis(client, nil)
	require.NoError(t, err)
	rot := &leads.Rotation{ID: 1, Members: []leads.RotationMember{{User: "a", Weight: 1}, {User: "b", Weight: 1}}}
	for _, want := range []string{"a", "b", "a"} {
		turn, err := r.Next(context.Background(), rot, time.Now())
		require.NoError(t, err)
		require.Equal(t, want, turn.Assignee)
	}
}

// TestLostReplyIsSettled lets the pick script run but holds its reply until
// the caller has given up, as a reply lost on the way back: the turn it took
// reached no lead, and must be given back before the next turn.
func TestLostReplyIsSettled(t *testing.T) {
	t.Parallel()
	_, proxy, r := proxiedRotator(t, WithTimeout(200*time.Millisecond))
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	rot := &leads.Rotation{ID: 7, Members: []leads.RotationMember{{User: "a", Weight: 2}, {User: "b", Weight: 1}, {User: "c", Weight: 1}}}
	st := State{Current: map[string]int64{}, DayCounts: map[string]int64{}}
	want := func() string { return Pick(rot.Members, &st).Assignee }

	turn, err := r.Next(ctx, rot, now)
	require.NoError(t, err)
	require.Equal(t, want(), turn.Assignee)

	proxy.HoldReplies()
	_, err = r.Next(ctx, rot, now) // runs in Redis; the reply never arrives in time
	require.Error(t, err)
	proxy.Restore()

	require.Equal(t, want(), nextAfterOutage(t, r, rot, now).Assignee)
	for range 7 {
		turn, err := r.Next(ctx, rot, now)
		require.NoError(t, err)
		require.Equal(t, want(), turn.Assignee, "the lost turn was given back: the order goes on as if it never was")
	}
}

// nextAfterOutage takes the next turn of rot once Redis answers again: for
// one timeout after a failure the rotator fails requests at once, without
// asking Redis (a failed attempt takes no turn).
func nextAfterOutage(t *testing.T, r *Rotator, rot *leads.Rotation, now time.Time) leads.Turn {
	t.Helper()
	var turn leads.Turn
	require.Eventually(t, func() bool {
		var err error
		turn, err = r.Next(context.Background(), rot, now)
		require.True(t, err == nil || leads.IsUnavailable(err), "%v", err)
		return err == nil
	}, 5*time.Second, 10*time.Millisecond)
	return turn
}

// TestLostReplySettledWithoutNextLead checks that a lost batch is settled
// even when no further lead comes for its rotation.
func TestLostReplySettledWithoutNextLead(t *testing.T) {
	t.Parallel()
	m, proxy, r := proxiedRotator(t, WithTimeout(100*time.Millisecond), WithKeyPrefix("p:"))
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	rot := &leads.Rotation{ID: 3, Members: []leads.RotationMember{{User: "a", Weight: 1}, {User: "b", Weight: 1}}}
	_, err := r.Next(ctx, rot, now)
	require.NoError(t, err)
	proxy.HoldReplies()
	_, err = r.Next(ctx, rot, now) // b's turn, taken in Redis, its reply lost
	require.Error(t, err)
	require.Equal(t, "0", m.HGet(stateKey("p:", 3), "w:b"), "the lost turn was taken")
	proxy.Restore()
	require.Eventually(t, func() bool {
		return m.HGet(stateKey("p:", 3), "w:b") == "1" // given back: as after a's turn alone
	}, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, "-1", m.HGet(stateKey("p:", 3), "w:a"))
}

// proxiedRotator returns a Redis rotator on a miniredis behind a proxy that
// can hold what goes either way.
func proxiedRotator(t *testing.T, opts ...RedisOption) (*miniredis.Miniredis, *faultnet.Proxy, *Rotator) {
	t.Helper()
	m := miniredis.RunT(t)
	proxy := faultnet.Start(t, m.Addr())
	client := redis.NewClient(&redis.Options{Addr: proxy.Addr(), MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	r, err := NewRedis(client, nil, opts...)
	require.NoError(t, err)
	return m, proxy, r
}
