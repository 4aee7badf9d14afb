// Package rotationtest gives tests the Redis servers to run rotation suites
// against: an in-process miniredis, always, and the real Redis named by
// LEADROTOR_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) when it
// answers. LEADROTOR_TEST_REQUIRE=redis (a comma-separated list) turns a
// missing real Redis from a skip into a failure.
package rotationtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// DefaultRedisURL is the real Redis tests use when LEADROTOR_TEST_REDIS_URL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// Required reports whether LEADROTOR_TEST_REQUIRE lists service.
func Required(service string) bool {
	return slices.Contains(strings.Split(os.Getenv("LEADROTOR_TEST_REQUIRE"), ","), service)
}

// Server is a Redis to test against, with a key prefix of the test's own.
type Server struct {
	Name   string
	Client *redis.Client
	// Prefix isolates the test's keys; everything under it is deleted when
	// the test ends.
	Prefix string
	// Mini is the miniredis behind Client, nil for a real Redis.
	Mini *miniredis.Miniredis
}

// FlushPrefix deletes every key under the server's prefix, as a Redis flush or
// restart without persistence would.
func (s *Server) FlushPrefix(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	iter := s.Client.Scan(ctx, 0, s.Prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan %s*: %v", s.Prefix, err)
	}
	for _, k := range keys {
		if err := s.Client.Del(ctx, k).Err(); err != nil {
			t.Fatalf("delete %s: %v", k, err)
		}
	}
}

// Mini returns a fresh miniredis server.
func Mini(t testing.TB) *Server {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return &Server{Name: "miniredis", Client: c, Prefix: "test:", Mini: m}
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
	s := &Server{Name: "redis", Client: c, Prefix: "leadrotor-test:" + randomHex(6) + ":"}
	t.Cleanup(func() {
		s.FlushPrefix(t)
		_ = c.Close()
	})
	return s
}

// All returns miniredis and, when it answers, the real Redis.
func All(t testing.TB) []*Server {
	t.Helper()
	servers := []*Server{Mini(t)}
	if r := Real(t); r != nil {
		servers = append(servers, r)
	}
	return servers
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
