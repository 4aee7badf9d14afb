package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// BenchmarkInsertLead writes leads as the create path does, 32 at a time
// (each with its turn, a skip and two audit entries), so that they share
// group commits: the store's own cost per lead, on each backend.
func BenchmarkInsertLead(b *testing.B) {
	for _, backend := range storetest.All(b) {
		b.Run(backend.Name, func(b *testing.B) {
			s, ctx := backend.Store, context.Background()
			f := storetest.NewFixture(b, s)
			rot := f.CreateRotation(b, 0)
			var turn atomic.Int64
			b.SetParallelism(16) // × GOMAXPROCS writers
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := turn.Add(1)
					l := f.NewLead(fmt.Sprint("L", n))
					l.Lead.Email = fmt.Sprintf("l%d@example.com", n)
					l.UniqueEmail = l.Lead.Email
					l.Lead.AssignedTo, l.Lead.RotationID, l.Lead.RotationTurn = "a@example.com", rot.ID, n
					l.Skips = []leads.Skip{{User: "b@example.com", Reason: "paused", Slots: 1}}
					l.Audit = append(l.Audit, leads.AuditEntry{AccountID: f.Account, Event: leads.EventLeadAssigned, Created: storetest.Now})
					if err := s.InsertLead(ctx, l); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
