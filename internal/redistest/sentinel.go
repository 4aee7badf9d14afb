package redistest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// MasterName is the name under which the sentinels of StartSentinel
// monitor their master.
const MasterName = "leadrotor"

// SentinelGroup is a master, its replica and three sentinels that fail the
// master over to the replica one second after it stops answering.
type SentinelGroup struct {
	// Servers are the master and the replica, in their first roles.
	Servers   []*Process
	Sentinels []*Process
}

// SentinelAddrs are the sentinels' addresses.
func (g *SentinelGroup) SentinelAddrs() []string {
	out := make([]string, len(g.Sentinels))
	for i, s := range g.Sentinels {
		out[i] = s.Addr()
	}
	return out
}

// URL is the group's redis+sentinel:// URL (internal/redisurl).
func (g *SentinelGroup) URL() string {
	return "redis+sentinel://" + strings.Join(g.SentinelAddrs(), ",") + "/" + MasterName
}

// Client returns a new failover client of the group.
func (g *SentinelGroup) Client() *redis.Client {
	return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: MasterName, SentinelAddrs: g.SentinelAddrs(),
		MaxRetries: -1, DialTimeout: time.Second})
}

// Master returns the process that the sentinels name master now.
func (g *SentinelGroup) Master(ctx context.Context) (*Process, error) {
	var lastErr error
	for _, s := range g.Sentinels {
		if !s.Alive() {
			continue
		}
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		addr, err := c.GetMasterAddrByName(ctx, MasterName).Result()
		_ = c.Close()
		if err != nil {
			lastErr = err
			continue
		}
		for _, p := range g.Servers {
			if p.Addr() == addr[0]+":"+addr[1] {
				return p, nil
			}
		}
		return nil, fmt.Errorf("sentinel %s names master %v, none of the group", s.Addr(), addr)
	}
	return nil, fmt.Errorf("no sentinel answers: %w", lastErr)
}

// AwaitFailover waits until every live sentinel names a master other than
// old, and that master says it is one.
func (g *SentinelGroup) AwaitFailover(old *Process, within time.Duration) (*Process, error) {
	var master *Process
	err := poll(within, func(ctx context.Context) error {
		for _, s := range g.Sentinels {
			c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
			addr, err := c.GetMasterAddrByName(ctx, MasterName).Result()
			_ = c.Close()
			if err != nil {
				return err
			}
			if addr[0]+":"+addr[1] == old.Addr() {
				return fmt.Errorf("sentinel %s still names %s", s.Addr(), old.Addr())
			}
		}
		m, err := g.Master(ctx)
		if err != nil {
			return err
		}
		c := m.Client()
		defer func() { _ = c.Close() }()
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "role:master") {
			return fmt.Errorf("%s is not master yet", m.Addr())
		}
		master = m
		return nil
	})
	return master, err
}

// Stop stops every process of the group.
func (g *SentinelGroup) Stop() {
	for _, p := range append(g.Sentinels, g.Servers...) {
		p.stop()
	}
}

// StartSentinel starts the group and waits until the replica is in sync
// and every sentinel knows the replica and the two other sentinels, so
// that a failover can happen from then on.
func StartSentinel() (*SentinelGroup, error) {
	g := &SentinelGroup{}
	master, err := start(nil)
	if err != nil {
		return nil, err
	}
	g.Servers = append(g.Servers, master)
	replica, err := start([]string{"replicaof 127.0.0.1 " + strconv.Itoa(master.Port)})
	if err != nil {
		g.Stop()
		return nil, err
	}
	g.Servers = append(g.Servers, replica)
	for range 3 {
		s, err := start([]string{
			"sentinel monitor " + MasterName + " 127.0.0.1 " + strconv.Itoa(master.Port) + " 2",
			"sentinel down-after-milliseconds " + MasterName + " 1000",
			"sentinel failover-timeout " + MasterName + " 5000",
			"sentinel parallel-syncs " + MasterName + " 1",
		}, "--sentinel")
		if err != nil {
			g.Stop()
			return nil, err
		}
		g.Sentinels = append(g.Sentinels, s)
	}
	if err := g.awaitReady(30 * time.Second); err != nil {
		g.Stop()
		return nil, err
	}
	return g, nil
}

func (g *SentinelGroup) awaitReady(within time.Duration) error {
	rc := g.Servers[1].Client()
	defer func() { _ = rc.Close() }()
	err := poll(within, func(ctx context.Context) error {
		info, err := rc.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "master_link_status:up") {
			return fmt.Errorf("replica not in sync:\n%s", info)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, s := range g.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
		err := poll(within, func(ctx context.Context) error {
			replicas, err := c.Replicas(ctx, MasterName).Result()
			if err != nil {
				return err
			}
			sentinels, err := c.Sentinels(ctx, MasterName).Result()
			if err != nil {
				return err
			}
			if len(replicas) < 1 || len(sentinels) < len(g.Sentinels)-1 {
				return fmt.Errorf("sentinel %s knows %d replicas and %d other sentinels", s.Addr(), len(replicas), len(sentinels))
			}
			return nil
		})
		_ = c.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// NewSentinel starts a group for t, stopped when t ends; it skips t
// without redis-server unless LEADROTOR_TEST_REQUIRE has redis-sentinel.
func NewSentinel(t testing.TB) *SentinelGroup {
	t.Helper()
	Require(t, "redis-sentinel")
	g, err := StartSentinel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Stop)
	return g
}
