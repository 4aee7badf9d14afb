package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// The cases of leads.SessionStore. Passwords and sessions belong to users,
// not accounts, so each case makes users of its own (newUser): cases that
// share a store must not see each other's.

// newUser returns an email no other call in this process returns, made a
// member of f's account with role.
func newUser(t *testing.T, f *Fixture, role leads.Role) string {
	t.Helper()
	email := nextAccount() + "@example.com"
	addMember(t, f, email, role)
	return email
}

func addMember(t *testing.T, f *Fixture, email string, role leads.Role) {
	t.Helper()
	_, err := f.Store.PutMember(context.Background(), f.Account, email, func(*leads.Member, int) (*leads.Member, []leads.AuditEntry, error) {
		return &leads.Member{AccountID: f.Account, Email: email, Role: role, CreatedAt: Now}, nil, nil
	})
	require.NoError(t, err)
}

// events returns the events of the account's audit log, oldest first.
func events(t *testing.T, s leads.Store, accountID string) []string {
	t.Helper()
	entries, err := s.AuditEntries(context.Background(), leads.AuditQuery{AccountID: accountID, Limit: leads.MaxPageSize})
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if e.Event != "test" {
			out = append(out, e.Event)
		}
	}
	return out
}

func testPasswords(t *testing.T, s leads.Store) {
	ctx := context.Background()
	f := NewFixture(t, s)
	email := newUser(t, f, leads.RoleAgent)
	_, err := s.PasswordHash(ctx, email)
	require.Equal(t, leads.CodeNotFound, code(err), "no password yet")
	entry := leads.AuditEntry{AccountID: f.Account, Event: "pw", User: "system", Data: map[string]any{"email": email}, Created: Now}
	require.NoError(t, s.SetPassword(ctx, email, "hash-1", Now, []leads.AuditEntry{entry}))
	require.NoError(t, s.SetPassword(ctx, email, "hash-2", Now.Add(time.Minute), nil), "a new password replaces the old")
	hash, err := s.PasswordHash(ctx, email)
	require.NoError(t, err)
	require.Equal(t, "hash-2", hash)
	require.Equal(t, []string{"pw"}, events(t, s, f.Account))

	ms, err := s.Memberships(ctx, email)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	require.Equal(t, f.Account, ms[0].AccountID)
	ms, err = s.Memberships(ctx, "nobody-"+email)
	require.NoError(t, err)
	require.Empty(t, ms)

	require.NoError(t, s.AppendAudit(ctx, []leads.AuditEntry{{AccountID: f.Account, Event: "sign_in", Created: Now}}))
	err = s.AppendAudit(ctx, []leads.AuditEntry{{AccountID: f.Account, Event: "lost", Created: Now}, {AccountID: "no-such-account", Event: "lost", Created: Now}})
	require.Equal(t, leads.CodeNotFound, code(err), "an unknown account")
	require.Equal(t, []string{"pw", "sign_in"}, events(t, s, f.Account), "none of a refused batch is stored")
}

func testSessions(t *testing.T, s leads.Store) {
	ctx := context.Background()
	f, g := NewFixture(t, s), NewFixture(t, s)
	email := newUser(t, f, leads.RoleManager)
	st := &leads.StoredSession{Hash: "session-" + email, TTL: 90 * time.Minute,
		Session: leads.Session{Email: email, AccountID: f.Account, CSRFToken: "csrf-1", CreatedAt: Now, ExpiresAt: Now.Add(90 * time.Minute)}}
	require.NoError(t, s.CreateSession(ctx, st))
	require.Equal(t, leads.CodeConflict, code(s.CreateSession(ctx, st)), "a hash is stored once")
	got, err := s.Session(ctx, st.Hash)
	require.NoError(t, err)
	want := *st
	want.Role = leads.RoleManager
	require.Equal(t, &want, got, "the role is read with the session")
	_, err = s.Session(ctx, "no-such-session")
	require.Equal(t, leads.CodeNotFound, code(err))

	require.NoError(t, s.ExtendSession(ctx, st.Hash, Now.Add(2*time.Hour)))
	require.NoError(t, s.ExtendSession(ctx, "no-such-session", Now), "nothing to extend")
	require.NoError(t, s.SwitchSession(ctx, st.Hash, g.Account, "csrf-2"))
	got, err = s.Session(ctx, st.Hash)
	require.NoError(t, err)
	require.Equal(t, Now.Add(2*time.Hour), got.ExpiresAt)
	require.Equal(t, g.Account, got.AccountID)
	require.Equal(t, "csrf-2", got.CSRFToken)
	require.Empty(t, got.Role, "not a member of g's account")
	require.Equal(t, leads.CodeNotFound, code(s.SwitchSession(ctx, "no-such-session", f.Account, "x")))
	require.Equal(t, leads.CodeNotFound, code(s.SwitchSession(ctx, st.Hash, "no-such-account", "x")))

	// No account yet: no role.
	picking := &leads.StoredSession{Hash: "picking-" + email, TTL: time.Hour,
		Session: leads.Session{Email: email, CSRFToken: "c", CreatedAt: Now, ExpiresAt: Now.Add(time.Hour)}}
	require.NoError(t, s.CreateSession(ctx, picking))
	got, err = s.Session(ctx, picking.Hash)
	require.NoError(t, err)
	require.Empty(t, got.AccountID)
	require.Empty(t, got.Role)
	require.Equal(t, leads.CodeNotFound, code(s.CreateSession(ctx, &leads.StoredSession{Hash: "x-" + email, TTL: time.Hour,
		Session: leads.Session{Email: email, AccountID: "no-such-account", CreatedAt: Now, ExpiresAt: Now}})))

	// Ending a session writes its entries with it, once.
	require.NoError(t, s.SwitchSession(ctx, st.Hash, f.Account, "csrf-3"))
	var ended []leads.Session
	end := func(cur *leads.Session) []leads.AuditEntry {
		ended = append(ended, *cur)
		return []leads.AuditEntry{{AccountID: cur.AccountID, Event: "sign_out", User: cur.Email, Created: Now}}
	}
	require.NoError(t, s.DeleteSession(ctx, st.Hash, end))
	require.Equal(t, leads.CodeNotFound, code(s.DeleteSession(ctx, st.Hash, end)))
	require.Len(t, ended, 1)
	require.Equal(t, f.Account, ended[0].AccountID)
	require.Equal(t, []string{"sign_out"}, events(t, s, f.Account))
	_, err = s.Session(ctx, st.Hash)
	require.Equal(t, leads.CodeNotFound, code(err))
}

// A session outlives its user's membership, but reads no role after it:
// the Service refuses it.
func testSessionOfRemovedMember(t *testing.T, s leads.Store) {
	ctx := context.Background()
	f := NewFixture(t, s)
	email := newUser(t, f, leads.RoleAdmin)
	st := &leads.StoredSession{Hash: "removed-" + email, TTL: time.Hour,
		Session: leads.Session{Email: email, AccountID: f.Account, CSRFToken: "c", CreatedAt: Now, ExpiresAt: Now.Add(time.Hour)}}
	require.NoError(t, s.CreateSession(ctx, st))
	addMember(t, f, email, leads.RoleAgent)
	got, err := s.Session(ctx, st.Hash)
	require.NoError(t, err)
	require.Equal(t, leads.RoleAgent, got.Role, "a changed role applies at once")
	require.NoError(t, s.RemoveMember(ctx, f.Account, email, func(*leads.Member, int, []int64) (leads.AuditEntry, error) {
		return testEntry(f.Account), nil
	}))
	got, err = s.Session(ctx, st.Hash)
	require.NoError(t, err)
	require.Empty(t, got.Role, "no longer a member")
}

func testInvites(t *testing.T, s leads.Store) {
	ctx := context.Background()
	f := NewFixture(t, s)
	email := nextAccount() + "@example.com"
	inv := &leads.Invite{AccountID: f.Account, Email: email, Role: leads.RoleManager, Kind: leads.InviteKindInvite,
		CreatedBy: "admin@example.com", CreatedAt: Now, ExpiresAt: Now.Add(time.Hour)}
	hash := "invite-" + email
	require.NoError(t, s.CreateInvite(ctx, hash, inv, []leads.AuditEntry{{AccountID: f.Account, Event: "invited", Created: Now}}))
	require.Equal(t, leads.CodeConflict, code(s.CreateInvite(ctx, hash, inv, nil)))
	other := *inv
	other.AccountID = "no-such-account"
	require.Equal(t, leads.CodeNotFound, code(s.CreateInvite(ctx, "other-"+hash, &other, nil)))
	got, err := s.Invite(ctx, hash)
	require.NoError(t, err)
	require.Equal(t, inv, got)
	_, err = s.Invite(ctx, "no-such-invite")
	require.Equal(t, leads.CodeNotFound, code(err))

	// A refusal of apply writes nothing: the invite stays unused.
	_, err = s.AcceptInvite(ctx, hash, Now, func(*leads.Invite, *leads.Member) (*leads.InviteUse, error) {
		return nil, leads.Errorf(leads.CodeConflict, "no")
	})
	require.Equal(t, leads.CodeConflict, code(err))

	// Of concurrent accepts, exactly one wins.
	accept := func(inv *leads.Invite, cur *leads.Member) (*leads.InviteUse, error) {
		// Not require: this runs on the goroutines below.
		if cur != nil || inv.UsedAt == nil || !inv.UsedAt.Equal(Now) {
			return nil, fmt.Errorf("apply got member %v, invite used at %v: want none and %v", cur, inv.UsedAt, Now)
		}
		return &leads.InviteUse{PasswordHash: "pw-hash",
			Member: &leads.Member{AccountID: inv.AccountID, Email: inv.Email, Role: inv.Role, CreatedAt: Now},
			Audit:  []leads.AuditEntry{{AccountID: inv.AccountID, Event: "accepted", Created: Now}}}, nil
	}
	var wg sync.WaitGroup
	members := make([]*leads.Member, 8)
	errs := make([]error, len(members))
	for i := range members {
		wg.Go(func() { members[i], errs[i] = s.AcceptInvite(ctx, hash, Now, accept) })
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		if err != nil {
			require.Equal(t, leads.CodeNotFound, code(err), "%v", err)
			continue
		}
		won++
		require.Equal(t, &leads.Member{AccountID: f.Account, Email: email, Role: leads.RoleManager, CreatedAt: Now}, members[i])
	}
	require.Equal(t, 1, won)
	m, err := s.Member(ctx, f.Account, email)
	require.NoError(t, err)
	require.Equal(t, leads.RoleManager, m.Role)
	pw, err := s.PasswordHash(ctx, email)
	require.NoError(t, err)
	require.Equal(t, "pw-hash", pw)
	got, err = s.Invite(ctx, hash)
	require.NoError(t, err)
	require.Equal(t, Now, *got.UsedAt)
	require.Equal(t, []string{"invited", "accepted"}, events(t, s, f.Account))

	// A reset ends the user's sessions.
	reset := *inv
	reset.Kind = leads.InviteKindReset
	require.NoError(t, s.CreateInvite(ctx, "reset-"+hash, &reset, nil))
	sess := &leads.StoredSession{Hash: "session-" + hash, TTL: time.Hour,
		Session: leads.Session{Email: email, AccountID: f.Account, CSRFToken: "c", CreatedAt: Now, ExpiresAt: Now.Add(time.Hour)}}
	require.NoError(t, s.CreateSession(ctx, sess))
	m, err = s.AcceptInvite(ctx, "reset-"+hash, Now, func(inv *leads.Invite, cur *leads.Member) (*leads.InviteUse, error) {
		require.NotNil(t, cur)
		return &leads.InviteUse{PasswordHash: "pw-hash-2", EndSessions: true}, nil
	})
	require.NoError(t, err)
	require.Equal(t, leads.RoleManager, m.Role, "the member as it is")
	_, err = s.Session(ctx, sess.Hash)
	require.Equal(t, leads.CodeNotFound, code(err), "sessions ended")
	pw, err = s.PasswordHash(ctx, email)
	require.NoError(t, err)
	require.Equal(t, "pw-hash-2", pw)
}

func testExpiry(t *testing.T, s leads.Store) {
	ctx := context.Background()
	f := NewFixture(t, s)
	email := newUser(t, f, leads.RoleAgent)
	inv := &leads.Invite{AccountID: f.Account, Email: email, Role: leads.RoleAgent, Kind: leads.InviteKindReset,
		CreatedAt: Now.Add(-2 * time.Hour), ExpiresAt: Now.Add(-time.Hour)}
	require.NoError(t, s.CreateInvite(ctx, "expired-"+email, inv, nil))
	live := *inv
	live.ExpiresAt = Now.Add(time.Hour)
	require.NoError(t, s.CreateInvite(ctx, "live-"+email, &live, nil))
	_, err := s.AcceptInvite(ctx, "expired-"+email, Now, func(*leads.Invite, *leads.Member) (*leads.InviteUse, error) {
		t.Error("apply called for an expired invite")
		return nil, nil
	})
	require.Equal(t, leads.CodeNotFound, code(err))
	_, err = s.AcceptInvite(ctx, "live-"+email, Now.Add(time.Hour), func(*leads.Invite, *leads.Member) (*leads.InviteUse, error) {
		t.Error("apply called for an invite at its expiry")
		return nil, nil
	})
	require.Equal(t, leads.CodeNotFound, code(err), "an invite expires at ExpiresAt")

	session := func(name string, expires time.Time) string {
		hash := name + "-" + email
		require.NoError(t, s.CreateSession(ctx, &leads.StoredSession{Hash: hash, TTL: time.Hour,
			Session: leads.Session{Email: email, CSRFToken: "c", CreatedAt: Now.Add(-2 * time.Hour), ExpiresAt: expires}}))
		return hash
	}
	expired, atNow, later := session("expired", Now.Add(-time.Minute)), session("at-now", Now), session("later", Now.Add(time.Minute))
	n, err := s.PurgeExpired(ctx, Now)
	require.NoError(t, err)
	// Other cases sharing the store may have expired rows too.
	require.GreaterOrEqual(t, n, 3, "two sessions and an invite")
	for _, hash := range []string{expired, atNow} {
		_, err = s.Session(ctx, hash)
		require.Equal(t, leads.CodeNotFound, code(err), hash)
	}
	_, err = s.Session(ctx, later)
	require.NoError(t, err)
	_, err = s.Invite(ctx, "expired-"+email)
	require.Equal(t, leads.CodeNotFound, code(err))
	_, err = s.Invite(ctx, "live-"+email)
	require.NoError(t, err)
}
