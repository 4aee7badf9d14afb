package rotation_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// benchRotation is the rotation of the fairness test: 7 members weighted
// 1,1,1,1,1,2,3.
func benchRotation(id int64) *leads.Rotation {
	rot := &leads.Rotation{ID: id, Name: "bench", Default: true, Timezone: "UTC"}
	for i, w := range []int{1, 1, 1, 1, 1, 2, 3} {
		rot.Members = append(rot.Members, leads.RotationMember{User: fmt.Sprintf("rep%d@example.com", i+1), Weight: w})
	}
	return rot
}

// BenchmarkPick is one decision of the pure function.
func BenchmarkPick(b *testing.B) {
	rot := benchRotation(1)
	st := rotation.State{Current: map[string]int64{}, DayCounts: map[string]int64{}}
	b.ReportAllocs()
	for b.Loop() {
		rotation.Pick(rot.Members, &st)
	}
}

// BenchmarkMemoryNext is one decision of the in-process rotator.
func BenchmarkMemoryNext(b *testing.B) {
	r := rotation.NewMemory(nil)
	rot := benchRotation(1)
	now := time.Now()
	ctx := context.Background()
	nextInParallel(ctx, b, r, rot, now)
}

// nextInParallel takes turns of rot with r from b.RunParallel's goroutines,
// reporting allocations. Each turn is confirmed, as the Service confirms a
// turn once its lead is stored: open turns do not pile up.
func nextInParallel(ctx context.Context, b *testing.B, r *rotation.Rotator, rot *leads.Rotation, now time.Time) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			turn, err := r.Next(ctx, rot, now)
			if err != nil {
				b.Error(err)
				return
			}
			r.ConfirmTurn(rot, turn) // its lead stored, as the Service says
		}
	})
}

// BenchmarkLuaNext is one decision of the Redis rotator on the real Redis,
// one at a time ("serial") and from 64 goroutines ("64 goroutines"). Each
// decision is one EVALSHA of the pick script.
func BenchmarkLuaNext(b *testing.B) {
	srv := rotationtest.Real(b)
	if srv == nil {
		b.Skip("needs Redis")
	}
	r, err := rotation.NewRedis(srv.Client, nil, rotation.WithKeyPrefix(srv.Prefix))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now()
	// Serial, and the same with every member capped (never reached):
	// what checking and counting open leads costs a decision.
	for i, name := range []string{"serial", "serial, capacity"} {
		b.Run(name, func(b *testing.B) {
			rot := benchRotation(int64(1 + 2*i))
			if i == 1 {
				for j := range rot.Members {
					rot.Members[j].MaxOpenLeads = 1 << 40
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				turn, err := r.Next(ctx, rot, now)
				if err != nil {
					b.Fatal(err)
				}
				r.ConfirmTurn(rot, turn)
			}
		})
	}
	b.Run("64 goroutines", func(b *testing.B) {
		rot := benchRotation(2)
		// RunParallel starts parallelism × GOMAXPROCS goroutines.
		b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
		nextInParallel(ctx, b, r, rot, now)
	})
}
