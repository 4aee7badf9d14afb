package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestColumnTablesMatchTheSchema holds the create path's column tables
// (columns.go), the bun rows and the migrated schema equal, on both
// dialects: a column added to the migration and the row but not to the
// table (or the other way) fails here, not as a lead that silently loses a
// field.
func TestColumnTablesMatchTheSchema(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			query := "SELECT name FROM pragma_table_info(?)"
			if b.Name == "postgres" {
				query = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?"
			}
			for table, cols := range b.Store.ColumnsForTest() {
				var inDB []string
				require.NoError(t, b.Store.DB().NewRaw(query, table).Scan(context.Background(), &inDB))
				require.ElementsMatch(t, inDB, cols[0], "%s: the table in columns.go against the schema", table)
				require.ElementsMatch(t, inDB, cols[1], "%s: the bun row against the schema", table)
			}
		})
	}
}

// TestBatchWritesWhatOneInsertWrites writes leads, with every kind of row
// a lead brings (a turn, skips, several audit entries, metadata), once as
// one batch and once one by one, and reads back the same; a lead whose
// idempotency key is taken fails in the batch as it does alone.
func TestBatchWritesWhatOneInsertWrites(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s, ctx := b.Store, context.Background()
			f := storetest.NewFixture(t, s)
			rot := f.CreateRotation(t, 0)
			employees := int64(12)
			mk := func(i int, key string) *leads.NewLead {
				n := f.NewLead(fmt.Sprint("L", i))
				n.IdempotencyKey, n.Fingerprint = key, "fp"+key
				l := n.Lead
				l.Email, l.Metadata, l.NumberOfEmployees, l.TeamID = fmt.Sprintf("l%d@x.io", i), map[string]any{"i": fmt.Sprint(i)}, &employees, f.Team.ID
				if i%2 == 0 {
					l.AssignedTo, l.RotationID, l.RotationTurn = "a@example.com", rot.ID, int64(100+i)
					n.Skips = []leads.Skip{{User: "b@example.com", Reason: "paused", Slots: 1}}
					n.TurnState = &leads.Checkpoint{Current: map[string]int64{"a@example.com": int64(i)}}
				}
				n.Audit = append(n.Audit, leads.AuditEntry{AccountID: f.Account, Event: "lead.assigned", Created: now, Data: map[string]any{"i": fmt.Sprint(i)}})
				return n
			}
			taken := mk(0, "taken")
			require.NoError(t, s.InsertLead(ctx, taken))

			var alone, batch []*leads.NewLead
			for i := 1; i <= 4; i++ {
				a := mk(2*i, fmt.Sprint("alone", i))
				require.NoError(t, s.InsertLead(ctx, a))
				alone = append(alone, a)
				batch = append(batch, mk(2*i+1000, fmt.Sprint("batch", i)))
			}
			batch = append(batch, mk(9, "taken"))
			errs := s.InsertBatchForTest(ctx, batch)
			for i := range 4 {
				require.NoError(t, errs[i])
			}
			require.ErrorIs(t, errs[4], leads.ErrIdempotencyKeyTaken)

			for i := range 4 {
				want, err := s.Lead(ctx, f.Account, alone[i].Lead.ID, true)
				require.NoError(t, err)
				got, err := s.Lead(ctx, f.Account, batch[i].Lead.ID, true)
				require.NoError(t, err)
				require.Len(t, got.AuditLog, 2)
				for j := range got.AuditLog {
					got.AuditLog[j].ID, got.AuditLog[j].LeadID, got.AuditLog[j].Data = 0, 0, nil
					want.AuditLog[j].ID, want.AuditLog[j].LeadID, want.AuditLog[j].Data = 0, 0, nil
				}
				require.Equal(t, fmt.Sprint(2*i+2+1000), got.Metadata["i"])
				got.ID, got.FirstName, got.Email, got.Metadata, got.RotationTurn = 0, "", "", nil, 0
				want.ID, want.FirstName, want.Email, want.Metadata, want.RotationTurn = 0, "", "", nil, 0
				require.Equal(t, want, got)
			}
			turns, err := s.StoredTurns(ctx, rot.ID, []int64{1102, 1104, 1106, 1108})
			require.NoError(t, err)
			require.ElementsMatch(t, []int64{1102, 1104, 1106, 1108}, turns, "the batch's turns are stored")
			var skips int
			require.NoError(t, s.DB().NewRaw("SELECT count(*) FROM rotation_skips WHERE rotation_id = ? AND member = 'b@example.com'", rot.ID).Scan(ctx, &skips))
			require.Equal(t, 9, skips, "a skip per assigned lead")
		})
	}
}
