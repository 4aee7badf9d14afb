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
// With rules=100 the account has issue 13's 100 routing rules of 5 tests,
// which every lead fails at the last, before one that sends it to the same
// rotation as with rules=0 (BenchRoutingRules): what rules cost a create.
func BenchmarkCreate(b *testing.B) {
	backends := []*storetest.Backend{storetest.SQLite(b)}
	if pg := storetest.Postgres(b); pg != nil {
		backends = append(backends, pg)
	}
	for _, backend := range backends {
		redis := backend.Name == "postgres" && rotationtest.Real(b) != nil
		e := env{name: backend.Name, backend: backend, redis: redis}
		for _, mode := range []string{"serial", "64 goroutines"} {
			for _, rules := range []int{0, 100} {
				b.Run(fmt.Sprintf("%s/%s/rules=%d", rotatorName(redis, backend.Name), mode, rules), func(b *testing.B) {
					bd := newBundle(b, e)
					ctx := context.Background()
					rot, err := bd.svc.CreateRotation(ctx, bd.admin, leads.Rotation{Name: "bench", Default: true, Members: bd.members(7)})
					if err != nil {
						b.Fatal(err)
					}
					for _, r := range leads.BenchRoutingRules(rules, rot.ID) {
						if _, err := bd.svc.CreateRoutingRule(ctx, bd.admin, r, -1); err != nil {
							b.Fatal(err)
						}
					}
					var n atomic.Int64
					create := func() {
						res, err := bd.svc.CreateLead(ctx, bd.agent, leads.BenchRuleLead(n.Add(1)), leads.CreateOptions{})
						if err != nil {
							b.Error(err)
						} else if res.Lead.RotationID != rot.ID {
							b.Errorf("lead %d: rotation %d, not %d", res.Lead.ID, res.Lead.RotationID, rot.ID)
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
					b.ResetTimer() // the rules' creation is not the creates'
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							create()
						}
					})
				})
			}
		}
	}
}

func rotatorName(redis bool, store string) string {
	if redis {
		return store + "+redis"
	}
	return store + "+memory"
}
