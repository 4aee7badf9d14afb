package leads_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/passwords"
	"github.com/leadrotor/leadrotor/store/storetest"
)

func TestConsole(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.All(t) {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []namedTest{
				{"set password: refusals and audit", testSetPassword},
				{"sign in: one refusal, one check of a hash each time", testSignIn},
				{"sessions: token, role read each time, expiry", testSessions},
				{"sessions: switching account, signing out", testSwitchAndEnd},
				{"invites: join once, keep a role, reset ends sessions", testInvites},
				{"invites: concurrent accepts, one wins", testInviteRace},
				{"my API keys", testMyAPIKeys},
				{"purge", testPurge},
				{"without a hasher", testNoHasher},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					b := newBundle(t, env{name: backend.Name, backend: backend})
					withHasher(b)
					tc.fn(t, b)
				})
			}
		})
	}
}

// countingHasher counts Verify calls: SignIn checks one hash whatever the
// refusal, which is what makes it take the same time.
type countingHasher struct {
	h        leads.PasswordHasher
	verifies atomic.Int64
}

func (c *countingHasher) Hash(p string) (string, error) { return c.h.Hash(p) }

func (c *countingHasher) Verify(hash, p string) (bool, error) {
	c.verifies.Add(1)
	return c.h.Verify(hash, p)
}

const password = "correct horse battery"

// user returns an email of this bundle's own (passwords are per user, and
// bundles share a store), made a member of the account with role.
func user(t *testing.T, b *bundle, name string, role leads.Role) string {
	t.Helper()
	email := fmt.Sprintf("%s-%s@example.com", name, b.accountID)
	_, err := b.svc.PutMember(context.Background(), leads.SystemActor(b.accountID), leads.Member{Email: email, Role: role})
	require.NoError(t, err)
	return email
}

// secondAccount makes another account with email as a member with role.
func secondAccount(t *testing.T, b *bundle, email string, role leads.Role) string {
	t.Helper()
	ctx := context.Background()
	id := "acct-" + randomHex(5)
	_, err := b.svc.CreateAccount(ctx, leads.Account{ID: id})
	require.NoError(t, err)
	_, err = b.svc.PutMember(ctx, leads.SystemActor(id), leads.Member{Email: email, Role: role})
	require.NoError(t, err)
	return id
}

// auditOf returns the entries of event in account, oldest first.
func auditOf(t *testing.T, b *bundle, account, event string) []leads.AuditEntry {
	t.Helper()
	page, err := b.svc.AuditLog(context.Background(), leads.SystemActor(account), leads.AuditQuery{Event: event, Limit: 100}, "")
	require.NoError(t, err)
	return page.Data
}

func testSetPassword(t *testing.T, b *bundle) {
	ctx := context.Background()
	email := user(t, b, "ana", leads.RoleAgent)
	other := secondAccount(t, b, email, leads.RoleManager)
	for _, tc := range []struct {
		name, email, password, field string
	}{
		{"a member of no account", "nobody-" + email, password, "email"},
		{"not an email", "ana", password, "email"},
		{"nine characters", email, "123456789", "password"},
		{"ten characters counted as runes, not bytes", email, "ééééééééé", "password"},
		{"201 characters", email, string(make([]byte, 201)), "password"},
	} {
		err := b.svc.SetPassword(ctx, tc.email, tc.password)
		require.Equal(t, leads.CodeValidation, leads.ErrorCode(err), tc.name)
		require.Equal(t, tc.field, leads.ErrorDetails(err)["field"], tc.name)
		require.NotContains(t, err.Error(), "123456789", "the password is never in the error")
	}
	require.NoError(t, b.svc.SetPassword(ctx, "  "+email+" ", "éééééééééé"), "ten characters")
	for _, account := range []string{b.accountID, other} {
		entries := auditOf(t, b, account, leads.EventPasswordSet)
		require.Len(t, entries, 1, account)
		require.Equal(t, map[string]any{"email": email}, entries[0].Data, "no password in the audit")
		require.Equal(t, "system", entries[0].User)
	}
}

func testSignIn(t *testing.T, b *bundle) {
	ctx := context.Background()
	hasher := withHasher(b)
	email := user(t, b, "ben", leads.RoleManager)
	other := secondAccount(t, b, email, leads.RoleAgent)
	nopw := user(t, b, "cara", leads.RoleAgent)
	require.NoError(t, b.svc.SetPassword(ctx, email, password))
	req := &leads.RequestInfo{Method: "POST", Path: "/console/sign-in", IPAddress: "203.0.113.7"}

	var refusal error
	for _, tc := range []struct{ name, email, password string }{
		{"unknown email", "nobody-" + email, password},
		{"no password set", nopw, password},
		{"wrong password", email, password + "!"},
		{"empty password", email, ""},
	} {
		before := hasher.verifies.Load()
		members, err := b.svc.SignIn(ctx, tc.email, tc.password, req)
		require.Nil(t, members, tc.name)
		require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err), tc.name)
		require.Equal(t, "email or password is wrong", leads.ErrorMessage(err), tc.name)
		if refusal != nil {
			require.Equal(t, refusal.Error(), err.Error(), "%s: one and the same refusal", tc.name)
		}
		refusal = err
		require.Equal(t, before+1, hasher.verifies.Load(), "%s: one hash checked, as for a right password", tc.name)
	}
	failed := auditOf(t, b, b.accountID, leads.EventSignInFailed)
	require.Len(t, failed, 3, "cara's, and ben's two, in ben's first account")
	require.Equal(t, "203.0.113.7", failed[1].RequestIPAddress)
	require.Equal(t, email, failed[1].User)
	require.Len(t, auditOf(t, b, other, leads.EventSignInFailed), 2, "ben's, in his second account")

	members, err := b.svc.SignIn(ctx, " BEN-"+b.accountID+"@example.com", password, req)
	require.NoError(t, err)
	want := []string{b.accountID, other}
	if other < b.accountID {
		want = []string{other, b.accountID}
	}
	require.Len(t, members, 2)
	require.Equal(t, want, []string{members[0].AccountID, members[1].AccountID}, "by account id")
	for _, account := range want {
		entries := auditOf(t, b, account, leads.EventSignIn)
		require.Len(t, entries, 1)
		require.Equal(t, "203.0.113.7", entries[0].RequestIPAddress)
	}
}

// withHasher gives b a Service with a (cheap) password hasher, and returns
// the hasher.
func withHasher(b *bundle) *countingHasher {
	h := &countingHasher{h: passwords.New(passwords.TestParams())}
	b.svc = leads.NewService(b.store, b.rotator, leads.WithClock(b.clock.Now), leads.WithPasswordHasher(h))
	return h
}

func testSessions(t *testing.T, b *bundle) {
	ctx := context.Background()
	email := user(t, b, "dan", leads.RoleManager)
	_, _, err := b.svc.StartSession(ctx, email, "", 0)
	require.Equal(t, leads.CodeValidation, leads.ErrorCode(err))
	_, _, err = b.svc.StartSession(ctx, email, "acct-not-mine", time.Hour)
	require.Equal(t, leads.CodeForbidden, leads.ErrorCode(err))

	token, sess, err := b.svc.StartSession(ctx, email, b.accountID, time.Hour)
	require.NoError(t, err)
	for _, s := range []string{token, sess.CSRFToken} {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		require.NoError(t, err)
		require.Len(t, raw, 32)
	}
	require.NotEqual(t, token, sess.CSRFToken)
	var hashes []string
	require.NoError(t, b.raw.DB().NewSelect().TableExpr("console_sessions").Column("token_hash").Where("email = ?", email).Scan(ctx, &hashes))
	require.Equal(t, []string{leads.HashAPIKey(token)}, hashes, "only the token's SHA-256 is stored")

	start := b.clock.Now()
	got, actor, err := b.svc.Session(ctx, token)
	require.NoError(t, err)
	require.Equal(t, sess, got)
	require.Equal(t, leads.Actor{AccountID: b.accountID, Email: email, Role: leads.RoleManager}, actor)

	// The role is read each time.
	_, err = b.svc.UpdateMember(ctx, b.admin, leads.Member{Email: email, Role: leads.RoleAgent})
	require.NoError(t, err)
	_, actor, err = b.svc.Session(ctx, token)
	require.NoError(t, err)
	require.Equal(t, leads.RoleAgent, actor.Role)

	// Sliding expiry, written at most once a minute.
	b.clock.Advance(30 * time.Second)
	got, _, err = b.svc.Session(ctx, token)
	require.NoError(t, err)
	require.Equal(t, start.Add(time.Hour), got.ExpiresAt, "not yet")
	b.clock.Advance(40 * time.Second)
	got, _, err = b.svc.Session(ctx, token)
	require.NoError(t, err)
	require.Equal(t, b.clock.Now().Add(time.Hour), got.ExpiresAt, "extended by the ttl given at the start")
	b.clock.Advance(59 * time.Minute)
	_, _, err = b.svc.Session(ctx, token)
	require.NoError(t, err, "still inside the extended hour")
	b.clock.Advance(time.Hour)
	_, _, err = b.svc.Session(ctx, token)
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err), "expired")

	// However often it is used, a session ends MaxSessionAge after its start.
	token, _, err = b.svc.StartSession(ctx, email, b.accountID, 24*time.Hour)
	require.NoError(t, err)
	for age := time.Duration(0); age+20*time.Hour < leads.MaxSessionAge; age += 20 * time.Hour {
		b.clock.Advance(20 * time.Hour)
		_, _, err = b.svc.Session(ctx, token)
		require.NoError(t, err)
	}
	b.clock.Advance(20 * time.Hour)
	_, _, err = b.svc.Session(ctx, token)
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err), "past the longest life of a session")

	// A removed member's session is refused at once.
	token, _, err = b.svc.StartSession(ctx, email, b.accountID, time.Hour)
	require.NoError(t, err)
	require.NoError(t, b.svc.RemoveMember(ctx, b.admin, email))
	_, _, err = b.svc.Session(ctx, token)
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err))

	for _, bad := range []string{"", "nonsense", token + "x"} {
		_, _, err = b.svc.Session(ctx, bad)
		require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err), "%q", bad)
	}
}

func testSwitchAndEnd(t *testing.T, b *bundle) {
	ctx := context.Background()
	email := user(t, b, "eve", leads.RoleAdmin)
	other := secondAccount(t, b, email, leads.RoleAgent)
	stranger := secondAccount(t, b, "someone-"+email, leads.RoleAdmin)
	token, sess, err := b.svc.StartSession(ctx, email, "", time.Hour)
	require.NoError(t, err)
	got, actor, err := b.svc.Session(ctx, token)
	require.NoError(t, err)
	require.Empty(t, got.AccountID)
	require.Equal(t, leads.Actor{}, actor, "no account picked: the zero actor")

	for _, tc := range []struct{ account, code string }{
		{"", leads.CodeValidation},
		{stranger, leads.CodeForbidden},
		{"no-such-account", leads.CodeForbidden},
		{"bad id!", leads.CodeForbidden},
	} {
		_, _, err = b.svc.SwitchAccount(ctx, token, tc.account)
		require.Equal(t, tc.code, leads.ErrorCode(err), "%q", tc.account)
	}
	_, _, err = b.svc.SwitchAccount(ctx, "nonsense", other)
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err))

	got, actor, err = b.svc.SwitchAccount(ctx, token, other)
	require.NoError(t, err)
	require.Equal(t, other, got.AccountID)
	require.NotEqual(t, sess.CSRFToken, got.CSRFToken, "a new CSRF token")
	require.Equal(t, leads.Actor{AccountID: other, Email: email, Role: leads.RoleAgent}, actor)
	again, actor, err := b.svc.Session(ctx, token)
	require.NoError(t, err)
	require.Equal(t, got.CSRFToken, again.CSRFToken)
	require.Equal(t, leads.RoleAgent, actor.Role)

	req := &leads.RequestInfo{IPAddress: "198.51.100.4"}
	require.NoError(t, b.svc.EndSession(ctx, token, req))
	require.NoError(t, b.svc.EndSession(ctx, token, req), "an unknown token is no error")
	require.NoError(t, b.svc.EndSession(ctx, "", req))
	_, _, err = b.svc.Session(ctx, token)
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err))
	entries := auditOf(t, b, other, leads.EventSignOut)
	require.Len(t, entries, 1, "once, in the session's account")
	require.Equal(t, "198.51.100.4", entries[0].RequestIPAddress)
	require.Empty(t, auditOf(t, b, b.accountID, leads.EventSignOut))
}

// outlivesPurge is the lifetime of the invites and sessions of tests
// that share a store with testPurge, which moves its clock an hour on and
// purges what expired, whoever's it is.
const outlivesPurge = 48 * time.Hour

func testInvites(t *testing.T, b *bundle) {
	ctx := context.Background()
	newcomer := "new-" + b.accountID + "@example.com"
	_, _, err := b.svc.CreateInvite(ctx, b.agent, newcomer, leads.RoleAgent, leads.InviteKindInvite, outlivesPurge)
	require.Equal(t, leads.CodeForbidden, leads.ErrorCode(err), "admins only")
	for _, tc := range []struct {
		email string
		role  leads.Role
		kind  string
		ttl   time.Duration
		field string
	}{
		{"bad", leads.RoleAgent, leads.InviteKindInvite, outlivesPurge, "email"},
		{newcomer, "boss", leads.InviteKindInvite, outlivesPurge, "role"},
		{newcomer, leads.RoleAgent, "welcome", outlivesPurge, "kind"},
		{newcomer, leads.RoleAgent, leads.InviteKindInvite, 0, "ttl"},
	} {
		_, _, err := b.svc.CreateInvite(ctx, b.admin, tc.email, tc.role, tc.kind, tc.ttl)
		require.Equal(t, leads.CodeValidation, leads.ErrorCode(err), tc.field)
		require.Equal(t, tc.field, leads.ErrorDetails(err)["field"])
	}
	_, _, err = b.svc.CreateInvite(ctx, b.admin, newcomer, "", leads.InviteKindReset, outlivesPurge)
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err), "a reset is for members")

	token, inv, err := b.svc.CreateInvite(ctx, b.admin, newcomer, leads.RoleManager, leads.InviteKindInvite, outlivesPurge)
	require.NoError(t, err)
	require.Equal(t, b.admin.Email, inv.CreatedBy)
	got, err := b.svc.Invite(ctx, token)
	require.NoError(t, err)
	require.Equal(t, inv, got)
	require.Len(t, auditOf(t, b, b.accountID, leads.EventMemberInvited), 1)
	_, err = b.svc.AcceptInvite(ctx, token, "short")
	require.Equal(t, leads.CodeValidation, leads.ErrorCode(err))
	m, err := b.svc.AcceptInvite(ctx, token, password)
	require.NoError(t, err)
	require.Equal(t, leads.RoleManager, m.Role)
	_, err = b.svc.AcceptInvite(ctx, token, password)
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err), "once")
	_, err = b.svc.Invite(ctx, token)
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err), "used")
	members, err := b.svc.SignIn(ctx, newcomer, password, nil)
	require.NoError(t, err)
	require.Len(t, members, 1)
	require.Len(t, auditOf(t, b, b.accountID, leads.EventInviteAccepted), 1)

	// An invite of a member keeps their role; of a user with a password,
	// it asks for that password rather than replacing it.
	token, _, err = b.svc.CreateInvite(ctx, b.admin, newcomer, leads.RoleAdmin, leads.InviteKindInvite, outlivesPurge)
	require.NoError(t, err)
	_, err = b.svc.AcceptInvite(ctx, token, password+"2")
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err), "not their password")
	m, err = b.svc.AcceptInvite(ctx, token, password)
	require.NoError(t, err, "the invite stayed usable")
	require.Equal(t, leads.RoleManager, m.Role)

	// A reset sets the password and ends the sessions.
	session, _, err := b.svc.StartSession(ctx, newcomer, b.accountID, outlivesPurge)
	require.NoError(t, err)
	token, inv, err = b.svc.CreateInvite(ctx, b.admin, newcomer, "", leads.InviteKindReset, outlivesPurge)
	require.NoError(t, err)
	require.Equal(t, leads.RoleManager, inv.Role)
	require.Len(t, auditOf(t, b, b.accountID, leads.EventPasswordResetRequested), 1)
	_, err = b.svc.AcceptInvite(ctx, token, "a new password")
	require.NoError(t, err)
	_, _, err = b.svc.Session(ctx, session)
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err), "sessions ended")
	_, err = b.svc.SignIn(ctx, newcomer, password, nil)
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err), "the old password is gone")
	_, err = b.svc.SignIn(ctx, newcomer, "a new password", nil)
	require.NoError(t, err)
	require.Len(t, auditOf(t, b, b.accountID, leads.EventPasswordReset), 1)

	// An admin of another account cannot take over a user by inviting them.
	victim := user(t, b, "victim", leads.RoleAdmin)
	require.NoError(t, b.svc.SetPassword(ctx, victim, "the victim's password"))
	elsewhere := secondAccount(t, b, "mallory-"+b.accountID+"@example.com", leads.RoleAdmin)
	mallory := leads.Actor{AccountID: elsewhere, Email: "mallory-" + b.accountID + "@example.com", Role: leads.RoleAdmin}
	token, _, err = b.svc.CreateInvite(ctx, mallory, victim, leads.RoleAgent, leads.InviteKindInvite, outlivesPurge)
	require.NoError(t, err)
	_, err = b.svc.AcceptInvite(ctx, token, "mallory's password")
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err))
	failed := auditOf(t, b, elsewhere, leads.EventSignInFailed)
	require.Len(t, failed, 1, "a wrong password is a failed sign-in, there too")
	require.Equal(t, victim, failed[0].User)
	_, err = b.svc.SignIn(ctx, victim, "the victim's password", nil)
	require.NoError(t, err, "the victim's password stands")

	// Expired.
	token, _, err = b.svc.CreateInvite(ctx, b.admin, newcomer, "", leads.InviteKindReset, outlivesPurge)
	require.NoError(t, err)
	b.clock.Advance(outlivesPurge)
	_, err = b.svc.Invite(ctx, token)
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err))
	_, err = b.svc.AcceptInvite(ctx, token, "another password")
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err))
}

func testInviteRace(t *testing.T, b *bundle) {
	ctx := context.Background()
	newcomer := "racer-" + b.accountID + "@example.com"
	token, _, err := b.svc.CreateInvite(ctx, b.admin, newcomer, leads.RoleAgent, leads.InviteKindInvite, outlivesPurge)
	require.NoError(t, err)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = b.svc.AcceptInvite(ctx, token, fmt.Sprintf("password number %d", i)) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, won, "a second winner")
			won = i
			continue
		}
		require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err), "%v", err)
	}
	require.NotEqual(t, -1, won)
	_, err = b.svc.SignIn(ctx, newcomer, fmt.Sprintf("password number %d", won), nil)
	require.NoError(t, err, "the winner's password is the one set")
	require.Len(t, auditOf(t, b, b.accountID, leads.EventInviteAccepted), 1)
	require.Len(t, auditOf(t, b, b.accountID, leads.EventMemberAdded), 1+9, "the bundle's nine members, and one")
}

func testMyAPIKeys(t *testing.T, b *bundle) {
	ctx := context.Background()
	me := leads.Actor{AccountID: b.accountID, Email: user(t, b, "fay", leads.RoleAgent), Role: leads.RoleAgent}
	_, err := b.svc.MyAPIKeys(ctx, leads.Actor{})
	require.Equal(t, leads.CodeForbidden, leads.ErrorCode(err), "a session with no account")
	secret, key, err := b.svc.CreateMyAPIKey(ctx, me, " laptop ")
	require.NoError(t, err)
	require.Equal(t, me.Email, key.Email)
	require.Equal(t, "laptop", key.Name)
	actor, err := b.svc.Authenticate(ctx, secret, b.accountID)
	require.NoError(t, err)
	require.Equal(t, me.Email, actor.Email)
	_, others, err := b.svc.CreateMyAPIKey(ctx, b.admin, "admin's")
	require.NoError(t, err)
	keys, err := b.svc.MyAPIKeys(ctx, me)
	require.NoError(t, err)
	require.Len(t, keys, 1, "one's own only")
	require.Equal(t, key.Prefix, keys[0].Prefix)

	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(b.svc.RevokeMyAPIKey(ctx, me, others.Prefix)), "not one's own")
	require.NoError(t, b.svc.RevokeMyAPIKey(ctx, me, key.Prefix))
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(b.svc.RevokeMyAPIKey(ctx, me, key.Prefix)), "revoked already")
	_, err = b.svc.Authenticate(ctx, secret, b.accountID)
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err))
	created := auditOf(t, b, b.accountID, leads.EventAPIKeyCreated)
	require.Len(t, created, 2)
	require.Equal(t, map[string]any{"prefix": key.Prefix, "name": "laptop"}, created[0].Data)
	revoked := auditOf(t, b, b.accountID, leads.EventAPIKeyRevoked)
	require.Len(t, revoked, 1)
	require.Equal(t, me.Email, revoked[0].User)
}

func testPurge(t *testing.T, b *bundle) {
	ctx := context.Background()
	email := user(t, b, "gus", leads.RoleAgent)
	short, _, err := b.svc.StartSession(ctx, email, b.accountID, time.Minute)
	require.NoError(t, err)
	long, _, err := b.svc.StartSession(ctx, email, b.accountID, 24*time.Hour)
	require.NoError(t, err)
	invite, _, err := b.svc.CreateInvite(ctx, b.admin, email, "", leads.InviteKindReset, time.Minute)
	require.NoError(t, err)
	b.clock.Advance(time.Hour)
	n, err := b.svc.PurgeSessions(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 2, "bundles sharing the store may have expired rows too")
	left, err := b.raw.DB().NewSelect().TableExpr("console_sessions").Where("email = ?", email).Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, left)
	_, _, err = b.svc.Session(ctx, short)
	require.Equal(t, leads.CodeUnauthenticated, leads.ErrorCode(err))
	_, _, err = b.svc.Session(ctx, long)
	require.NoError(t, err)
	_, err = b.svc.Invite(ctx, invite)
	require.Equal(t, leads.CodeNotFound, leads.ErrorCode(err))
}

func testNoHasher(t *testing.T, b *bundle) {
	ctx := context.Background()
	svc := leads.NewService(b.store, b.rotator, leads.WithClock(b.clock.Now))
	email := user(t, b, "hal", leads.RoleAgent)
	token, _, err := b.svc.CreateInvite(ctx, b.admin, email, "", leads.InviteKindReset, outlivesPurge)
	require.NoError(t, err)
	for name, err := range map[string]error{
		"set":     svc.SetPassword(ctx, email, password),
		"sign in": func() error { _, err := svc.SignIn(ctx, email, password, nil); return err }(),
		"accept":  func() error { _, err := svc.AcceptInvite(ctx, token, password); return err }(),
	} {
		require.ErrorIs(t, err, leads.ErrNoPasswordHasher, name)
		require.Equal(t, leads.CodeInternal, leads.ErrorCode(err), name)
	}
}
