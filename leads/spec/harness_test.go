package spec_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/store/storetest"
)

type namedTest struct {
	name string
	fn   func(t *testing.T, b *bundle)
}

// eachEnv runs every test on every store backend (SQLite, and PostgreSQL
// when reachable), each in an account of its own. A spec never takes a
// rotation turn, so the in-process rotator is enough.
func eachEnv(t *testing.T, tests []namedTest) {
	for _, backend := range storetest.All(t) {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, newBundle(t, backend.Store))
				})
			}
		})
	}
}

// bundle is a Service whose clock tests move by hand, over an account with
// an admin, an agent and seven reps (rep1@example.com…).
type bundle struct {
	svc       *leads.Service
	store     leads.Store
	now       time.Time
	accountID string
	admin     leads.Actor
	agent     leads.Actor
}

func newBundle(t *testing.T, s leads.Store) *bundle {
	t.Helper()
	var idBytes [5]byte
	_, _ = rand.Read(idBytes[:])
	b := &bundle{store: s, now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC), accountID: "acct-" + hex.EncodeToString(idBytes[:])}
	// Only the test's goroutine moves the clock, between calls.
	b.svc = leads.NewService(s, rotation.NewMemory(s), leads.WithClock(func() time.Time { return b.now }))
	ctx := context.Background()
	_, err := b.svc.CreateAccount(ctx, leads.Account{ID: b.accountID, Name: "Test account"})
	require.NoError(t, err)
	b.admin = leads.Actor{AccountID: b.accountID, Email: "admin@example.com", Role: leads.RoleAdmin}
	b.agent = leads.Actor{AccountID: b.accountID, Email: "agent@example.com", Role: leads.RoleAgent}
	members := []leads.Member{{Email: b.admin.Email, Role: leads.RoleAdmin}, {Email: b.agent.Email, Role: leads.RoleAgent}}
	for i := 1; i <= 7; i++ {
		members = append(members, leads.Member{Email: fmt.Sprintf("rep%d@example.com", i), Role: leads.RoleAgent})
	}
	for _, m := range members {
		_, err := b.svc.PutMember(ctx, leads.SystemActor(b.accountID), m)
		require.NoError(t, err)
	}
	return b
}

// members returns rotation members rep1 … repN, weight 1.
func (b *bundle) members(n int) []leads.RotationMember {
	ms := make([]leads.RotationMember, n)
	for i := range ms {
		ms[i] = leads.RotationMember{User: fmt.Sprintf("rep%d@example.com", i+1), Weight: 1}
	}
	return ms
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, leads.ErrorCode(err), "error: %v", err)
}
