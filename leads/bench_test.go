package leads_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// BenchmarkCreate creates leads through Service.CreateLead on SQLite with the
// in-process rotator and on PostgreSQL with the Redis one (when they
// answer), one at a time ("serial") and from 64 goroutines at once, which
// exercises the shared writes of the store and of the Redis rotator. Each
// lead has an email, so the duplicate check and unique index do their work.
func BenchmarkCreate(b *testing.B) {
	backends := []*storetest.Backend{storetest.SQLite(b)}
	if pg := storetest.Postgres(b); pg != nil {
		backends = append(backends, pg)
	}
	for _, backend := range backends {
		redis := backend.Name == "postgres" && rotationtest.Real(b) != nil
		e := env{name: backend.Name, backend: backend, redis: redis}
		for _, mode := range []string{"serial", "64 goroutines"} {
			b.Run(fmt.Sprintf("%s/%s", rotatorName(redis, backend.Name), mode), func(b *testing.B) {
				bd := newBundle(b, e)
				_, err := bd.svc.CreateRotation(context.Background(), bd.admin, leads.Rotation{Name: "bench", Default: true, Members: bd.members(7)})
				if err != nil {
					b.Fatal(err)
				}
				var n atomic.Int64
				create := func() {
					i := n.Add(1)
					in := leads.LeadInput{FirstName: "Bench", LastName: "Lead", Email: fmt.Sprintf("b%d@bench.test", i)}
					if _, err := bd.svc.CreateLead(context.Background(), bd.agent, in, leads.CreateOptions{}); err != nil {
						b.Error(err)
					}
				}
				b.ReportAllocs()
				if mode == "serial" {
					for b.Loop() {
						create()
					}
					return
				}
				b.SetParallelism(64)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						create()
					}
				})
			})
		}
	}
}

func rotatorName(redis bool, store string) string {
	if redis {
		return store + "+redis"
	}
	return store + "+memory"
}
