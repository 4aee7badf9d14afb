// Package rotationtest gives tests the Redis servers to run rotation suites
// against: an in-process miniredis, always, the real Redis named by
// LEADROTOR_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) when it
// answers, and, in packages whose TestMain runs through Main, a Redis
// Cluster of three masters that the package's tests share (started on
// first use, by internal/redistest). LEADROTOR_TEST_REQUIRE=redis (a
// comma-separated list) turns a missing real Redis from a skip into a
// failure, and redis-cluster a missing redis-server.
package rotationtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/leadrotor/leadrotor/internal/redistest"
)

// DefaultRedisURL is the real Redis tests use when LEADROTOR_TEST_REDIS_URL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// Required reports whether LEADROTOR_TEST_REQUIRE lists service.
func Required(service string) bool { return redistest.Required(service) }

// Server is a Redis to test against, with a key prefix of the test's own.
type Server struct {
	Name   string
	Client redis.UniversalClient
	// Prefix isolates the test's keys; everything under it is deleted when
	// the test ends.
	Prefix string
	// URL reaches the same Redis (the form of internal/redisurl): for a
	// server process such as leadrotor serve.
	URL string
	// Mini is the miniredis behind Client, nil for a real Redis.
	Mini *miniredis.Miniredis
}

// FlushPrefix deletes every key under the server's prefix, as a Redis flush or
// restart without persistence would.
func (s *Server) FlushPrefix(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	flush := func(ctx context.Context, c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, s.Prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			return fmt.Errorf("scan %s*: %w", s.Prefix, err)
		}
		for _, k := range keys {
			if err := c.Del(ctx, k).Err(); err != nil {
				return fmt.Errorf("delete %s: %w", k, err)
			}
		}
		return nil
	}
	var err error
	if cc, ok := s.Client.(*redis.ClusterClient); ok {
		// A SCAN sees one node's keys: scan every master.
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return flush(ctx, c) })
	} else {
		err = flush(ctx, s.Client)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Keys returns the keys matching pattern, on every master of a cluster.
func (s *Server) Keys(t testing.TB, pattern string) []string {
	t.Helper()
	ctx := context.Background()
	cc, ok := s.Client.(*redis.ClusterClient)
	if !ok {
		keys, err := s.Client.Keys(ctx, pattern).Result()
		if err != nil {
			t.Fatalf("keys %s: %v", pattern, err)
		}
		return keys
	}
	var mu sync.Mutex
	var keys []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		k, err := c.Keys(ctx, pattern).Result()
		mu.Lock()
		keys = append(keys, k...)
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatalf("keys %s: %v", pattern, err)
	}
	return keys
}

// Mini returns a fresh miniredis server.
func Mini(t testing.TB) *Server {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return &Server{Name: "miniredis", Client: c, Prefix: "test:", Mini: m, URL: "redis://" + m.Addr()}
}

// Real returns the real Redis with a fresh prefix, or nil (after logging why)
// when it does not answer and is not required.
func Real(t testing.TB) *Server {
	t.Helper()
	url := os.Getenv("LEADROTOR_TEST_REDIS_URL")
	if url == "" {
		url = DefaultRedisURL
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("LEADROTOR_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		if Required("redis") {
			t.Fatalf("redis at %s is required (LEADROTOR_TEST_REQUIRE) but does not answer: %v", url, err)
		}
		t.Logf("redis at %s does not answer, skipping its cases: %v", url, err)
		return nil
	}
	s := &Server{Name: "redis", Client: c, Prefix: "leadrotor-test:" + randomHex(6) + ":", URL: url}
	t.Cleanup(func() {
		s.FlushPrefix(t)
		_ = c.Close()
	})
	return s
}

// All returns miniredis, the real Redis when it answers, and the
// package's shared Redis Cluster when its TestMain runs through Main.
func All(t testing.TB) []*Server {
	t.Helper()
	servers := []*Server{Mini(t)}
	if r := Real(t); r != nil {
		servers = append(servers, r)
	}
	if c := Cluster(t); c != nil {
		servers = append(servers, c)
	}
	return servers
}

// shared is the cluster that the tests of one package share: Main makes
// it, Cluster starts it on first use, Main stops it after the tests.
// (Package state, but of the test binary only: one binary, one package.)
var shared *sharedCluster

type sharedCluster struct {
	once    sync.Once
	cluster *redistest.Cluster
	err     error
}

// Main runs the tests of m with a Redis Cluster they share (see Cluster),
// and stops it after them; a package's TestMain calls it as
// os.Exit(rotationtest.Main(m)).
func Main(m *testing.M) int {
	shared = &sharedCluster{}
	code := m.Run()
	if shared.cluster != nil {
		shared.cluster.Stop()
	}
	return code
}

// Cluster returns the package's shared Redis Cluster, started on first
// use, with a prefix of the test's own; nil when the package's TestMain
// does not run through Main. Without redis-server it skips nothing: it
// returns nil after logging why, or fails the test when
// LEADROTOR_TEST_REQUIRE has redis-cluster.
func Cluster(t testing.TB) *Server {
	t.Helper()
	if shared == nil {
		return nil
	}
	if err := redistest.Available(); err != nil {
		if Required("redis-cluster") {
			t.Fatalf("a Redis Cluster is required (LEADROTOR_TEST_REQUIRE) but cannot run: %v", err)
		}
		t.Logf("no Redis Cluster, skipping its cases: %v", err)
		return nil
	}
	shared.once.Do(func() { shared.cluster, shared.err = redistest.StartCluster() })
	if shared.err != nil {
		t.Fatalf("start a Redis Cluster: %v", shared.err)
	}
	c := shared.cluster.Client()
	s := &Server{Name: "cluster", Client: c, Prefix: "leadrotor-test:" + randomHex(6) + ":", URL: shared.cluster.URL()}
	t.Cleanup(func() {
		s.FlushPrefix(t)
		_ = c.Close()
	})
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
