package redistest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster of three masters, no replicas, slots split
// evenly.
type Cluster struct {
	Nodes []*Process
}

// Addrs are the nodes' addresses, the seeds of a cluster client.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// URL is the cluster's redis+cluster:// URL (internal/redisurl).
func (c *Cluster) URL() string { return "redis+cluster://" + strings.Join(c.Addrs(), ",") }

// Client returns a new cluster client of c.
func (c *Cluster) Client() *redis.ClusterClient {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), MaxRetries: -1, DialTimeout: time.Second})
}

// Stop stops every node and removes their directories.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.stop()
	}
}

// StartCluster starts a three-master cluster and waits until every node
// sees every slot served (cluster_state:ok) by the same three masters. The
// caller stops it (Stop), or use NewCluster in a test.
func StartCluster() (*Cluster, error) {
	c := &Cluster{}
	for range 3 {
		p, err := start([]string{"cluster-enabled yes", "cluster-config-file nodes.conf", "cluster-node-timeout 2000"})
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.Nodes = append(c.Nodes, p)
	}
	if err := c.form(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// form assigns the slots and introduces the nodes to each other, by hand
// (what redis-cli --cluster create does, without its pauses).
func (c *Cluster) form() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const slots = 16384
	for i, n := range c.Nodes {
		cl := n.Client()
		lo, hi := i*slots/len(c.Nodes), (i+1)*slots/len(c.Nodes)-1
		err := errors.Join(
			cl.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(),
			cl.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err())
		if i > 0 {
			err = errors.Join(err, cl.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.Port).Err())
		}
		_ = cl.Close()
		if err != nil {
			return fmt.Errorf("form cluster, node %s: %w", n.Addr(), err)
		}
	}
	first := c.Nodes[0].Client()
	defer func() { _ = first.Close() }()
	for _, n := range c.Nodes[1:] {
		if err := first.Do(ctx, "CLUSTER", "MEET", "127.0.0.1", n.Port).Err(); err != nil {
			return fmt.Errorf("form cluster: meet %s: %w", n.Addr(), err)
		}
	}
	return c.awaitOK(30 * time.Second)
}

// awaitOK waits until every node says cluster_state:ok and knows all.
func (c *Cluster) awaitOK(within time.Duration) error {
	for _, n := range c.Nodes {
		cl := n.Client()
		err := poll(within, func(ctx context.Context) error {
			info, err := cl.ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			want := fmt.Sprintf("cluster_known_nodes:%d", len(c.Nodes))
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, want) || !strings.Contains(info, "cluster_slots_ok:16384") {
				return fmt.Errorf("node %s not ready:\n%s", n.Addr(), info)
			}
			return nil
		})
		_ = cl.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// NewCluster starts a cluster for t, stopped when t ends; it skips t
// without redis-server unless LEADROTOR_TEST_REQUIRE has redis-cluster.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	Require(t, "redis-cluster")
	c, err := StartCluster()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}
