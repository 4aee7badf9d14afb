package metrics

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// RedisHook returns a go-redis hook that times every command (each command
// of a pipeline on its own, with the pipeline's time) and counts those
// that fail. Add it with client.AddHook.
func (m *Metrics) RedisHook() redis.Hook { return redisHook{m} }

type redisHook struct{ m *Metrics }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.observe(cmd, time.Since(start))
		return err
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		took := time.Since(start)
		for _, cmd := range cmds {
			h.observe(cmd, took)
		}
		return err
	}
}

func (h redisHook) observe(cmd redis.Cmder, took time.Duration) {
	name := cmd.Name()
	h.m.redisCalls.WithLabelValues(name).Observe(took.Seconds())
	if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
		h.m.redisErrs.WithLabelValues(name).Inc()
	}
}

// WatchRedisPool exports the statistics of a go-redis client's connection
// pool (stats, as client.PoolStats returns them).
func (m *Metrics) WatchRedisPool(stats func() *redis.PoolStats) {
	gauge := func(name, help string, value func(s *redis.PoolStats) uint32) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help},
			func() float64 { return float64(value(stats())) }))
	}
	counter := func(name, help string, value func(s *redis.PoolStats) uint32) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help},
			func() float64 { return float64(value(stats())) }))
	}
	gauge("redis_pool_connections", "Connections in the Redis pool.", func(s *redis.PoolStats) uint32 { return s.TotalConns })
	gauge("redis_pool_idle_connections", "Idle connections in the Redis pool.", func(s *redis.PoolStats) uint32 { return s.IdleConns })
	counter("redis_pool_hits_total", "Times a free connection was found in the Redis pool.", func(s *redis.PoolStats) uint32 { return s.Hits })
	counter("redis_pool_misses_total", "Times no free connection was found in the Redis pool.", func(s *redis.PoolStats) uint32 { return s.Misses })
	counter("redis_pool_timeouts_total", "Times a wait for a Redis connection timed out.", func(s *redis.PoolStats) uint32 { return s.Timeouts })
	counter("redis_pool_stale_connections_total", "Stale connections removed from the Redis pool.", func(s *redis.PoolStats) uint32 { return s.StaleConns })
}
