package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// Now is the time the fixtures are written at.
var Now = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// Fixture is an account of its own with two agents (a@example.com and
// b@example.com) and a team, written straight to a store, so that the
// store's own rules are what a test checks.
type Fixture struct {
	Store   leads.Store
	Account string
	Team    *leads.Team

	rotations atomic.Int64 // made by Rotation, which names each apart (tests make them at once)
}

// NewFixture writes a new fixture to s, under an account ID that no other
// fixture of this process uses, and fails t when s refuses it.
func NewFixture(t testing.TB, s leads.Store) *Fixture {
	t.Helper()
	ctx := context.Background()
	account := nextAccount()
	require.NoError(t, s.CreateAccount(ctx, &leads.Account{ID: account, DuplicatePolicy: leads.DuplicateReject, CreatedAt: Now, UpdatedAt: Now}))
	for _, email := range []string{"a@example.com", "b@example.com"} {
		_, err := s.PutMember(ctx, account, email, func(*leads.Member, int) (*leads.Member, []leads.AuditEntry, error) {
			return &leads.Member{AccountID: account, Email: email, Role: leads.RoleAgent, CreatedAt: Now}, nil, nil
		})
		require.NoError(t, err)
	}
	team := &leads.Team{AccountID: account, Name: "West", CreatedAt: Now, UpdatedAt: Now}
	require.NoError(t, s.CreateTeam(ctx, team, func(t *leads.Team) leads.AuditEntry { return testEntry(t.AccountID) }))
	return &Fixture{Store: s, Account: account, Team: team}
}

// Rotation returns a new (not stored) rotation of the fixture's account
// with a@example.com as its one member: the team's rotation, or the
// account's default when teamID is 0.
func (f *Fixture) Rotation(teamID int64) *leads.Rotation {
	name := "r" // the first; the others are numbered, since names are unique
	if n := f.rotations.Add(1); n > 1 {
		name = fmt.Sprintf("r%d", n)
	}
	return &leads.Rotation{AccountID: f.Account, Name: name, TeamID: teamID, Default: teamID == 0, Timezone: "UTC",
		Members: []leads.RotationMember{{User: "a@example.com", Weight: 1}}, CreatedAt: Now, UpdatedAt: Now}
}

// CreateRotation stores f.Rotation(teamID) and returns it, its ID set.
func (f *Fixture) CreateRotation(t testing.TB, teamID int64) *leads.Rotation {
	t.Helper()
	r := f.Rotation(teamID)
	require.NoError(t, f.Store.CreateRotation(context.Background(), r, rotationEntry))
	return r
}

// NewLead returns a new (not stored) lead of the fixture's account named
// first, with its creation's audit entry.
func (f *Fixture) NewLead(first string) *leads.NewLead {
	return &leads.NewLead{
		Lead: &leads.Lead{AccountID: f.Account, CreatedAt: Now, UpdatedAt: Now,
			LeadInput: leads.LeadInput{FirstName: first, LastName: "L", Status: leads.StatusNew}},
		Audit: []leads.AuditEntry{{AccountID: f.Account, Event: leads.EventLeadCreated, Created: Now}},
	}
}

// testEntry is the audit entry the fixtures write for a change of the
// account's configuration.
func testEntry(accountID string) leads.AuditEntry {
	return leads.AuditEntry{AccountID: accountID, Event: "test", Created: Now}
}

func sourceEntry(s *leads.LeadSource) leads.AuditEntry { return testEntry(s.AccountID) }

func rotationEntry(r *leads.Rotation) leads.AuditEntry { return testEntry(r.AccountID) }

var (
	// run tells this process's account IDs from those of an earlier run,
	// should open hand Exercise a database that outlived it.
	run        = randomHex(3)
	accountSeq atomic.Int64
)

// nextAccount returns an account ID (also usable as any unique name) that
// no other call in this process returns.
func nextAccount() string {
	return fmt.Sprintf("acct-%s-%d", run, accountSeq.Add(1))
}
