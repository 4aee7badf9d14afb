package redistest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/redistest"
)

// TestDeployments starts each deployment and uses it through its client.
func TestDeployments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("standalone", func(t *testing.T) {
		t.Parallel()
		p := redistest.Standalone(t)
		c := p.Client()
		defer c.Close()
		require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		cl := redistest.NewCluster(t)
		c := cl.Client()
		defer c.Close()
		// Keys on every master.
		for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
			require.NoError(t, c.Set(ctx, k, "v", 0).Err())
		}
		var masters atomic.Int32
		require.NoError(t, c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			masters.Add(1)
			return nil
		}))
		require.EqualValues(t, 3, masters.Load())
	})
	t.Run("sentinel", func(t *testing.T) {
		t.Parallel()
		g := redistest.NewSentinel(t)
		c := g.Client()
		defer c.Close()
		require.NoError(t, c.Set(ctx, "k", "v", 0).Err())
		old, err := g.Master(ctx)
		require.NoError(t, err)
		old.Kill()
		next, err := g.AwaitFailover(old, 30*time.Second)
		require.NoError(t, err)
		require.NotEqual(t, old.Addr(), next.Addr())
		require.Eventually(t, func() bool { return c.Set(ctx, "k2", "v", 0).Err() == nil }, 10*time.Second, 20*time.Millisecond)
	})
}
