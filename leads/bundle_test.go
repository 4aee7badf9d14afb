package leads_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/rotation/rotationtest"
	"github.com/leadrotor/leadrotor/store"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// env is one combination of store and rotator backends.
type env struct {
	name    string
	backend *storetest.Backend
	redis   bool
}

// environments returns SQLite and PostgreSQL (when reachable), each with the
// memory rotator and the Redis one (the real Redis when reachable, else
// miniredis, so that the Lua script always runs).
func environments(t *testing.T) []env {
	var out []env
	for _, b := range storetest.All(t) {
		out = append(out, env{b.Name + "+memory", b, false}, env{b.Name + "+redis", b, true})
	}
	return out
}

type namedTest struct {
	name string
	fn   func(t *testing.T, b *bundle)
}

// eachEnv runs every test in every environment, each in an account of its own.
func eachEnv(t *testing.T, tests []namedTest) {
	for _, e := range environments(t) {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, newBundle(t, e))
				})
			}
		})
	}
}

// testClock is a frozen clock that tests move by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// bundle is what a test works with: a Service over real backends, an account
// with an admin, an agent and seven reps, and a frozen clock.
type bundle struct {
	env       env
	store     leads.Store
	raw       *store.Store
	redis     *rotationtest.Server // nil with the memory rotator
	rotator   *rotation.Rotator
	svc       *leads.Service
	clock     *testClock
	accountID string
	admin     leads.Actor
	agent     leads.Actor
	reps      []string
	rotations *atomic.Int64 // made by rotation without a name (tests make them at once; copies share it)
}

func newBundle(t testing.TB, e env) *bundle {
	t.Helper()
	b := &bundle{rotations: new(atomic.Int64),
		env:       e,
		store:     e.backend.Store,
		raw:       e.backend.Store,
		clock:     &testClock{now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)},
		accountID: "acct-" + randomHex(5),
	}
	b.rotator = b.newRotator(t)
	b.svc = b.newService(b.store)
	ctx := context.Background()
	_, err := b.svc.CreateAccount(ctx, leads.Account{ID: b.accountID, Name: "Test account"})
	require.NoError(t, err)
	root := leads.SystemActor(b.accountID)
	b.admin = leads.Actor{AccountID: b.accountID, Email: "admin@example.com", Role: leads.RoleAdmin}
	b.agent = leads.Actor{AccountID: b.accountID, Email: "agent@example.com", Role: leads.RoleAgent}
	for _, m := range []leads.Member{{Email: b.admin.Email, Role: leads.RoleAdmin}, {Email: b.agent.Email, Role: leads.RoleAgent}} {
		_, err := b.svc.PutMember(ctx, root, m)
		require.NoError(t, err)
	}
	for i := 1; i <= 7; i++ {
		rep := fmt.Sprintf("rep%d@example.com", i)
		b.reps = append(b.reps, rep)
		_, err := b.svc.PutMember(ctx, root, leads.Member{Email: rep, Role: leads.RoleAgent})
		require.NoError(t, err)
	}
	return b
}

// newRotator returns a rotator of the bundle's kind; Redis ones share the
// bundle's Redis and key prefix, as processes sharing one Redis do.
func (b *bundle) newRotator(t testing.TB) *rotation.Rotator {
	t.Helper()
	if !b.env.redis {
		return rotation.NewMemory(b.store)
	}
	if b.redis == nil {
		if b.redis = rotationtest.Real(t); b.redis == nil {
			b.redis = rotationtest.Mini(t)
		}
	}
	r, err := rotation.NewRedis(b.redis.Client, b.store, rotation.WithKeyPrefix(b.redis.Prefix))
	require.NoError(t, err)
	return r
}

func (b *bundle) newService(s leads.Store) *leads.Service {
	return leads.NewService(s, b.rotator, leads.WithClock(b.clock.Now))
}

func (b *bundle) create(in leads.LeadInput, opts leads.CreateOptions) (*leads.Result, error) {
	return b.svc.CreateLead(context.Background(), b.admin, in, opts)
}

func (b *bundle) mustCreate(t *testing.T, in leads.LeadInput, opts leads.CreateOptions) *leads.Result {
	t.Helper()
	res, err := b.create(in, opts)
	require.NoError(t, err)
	return res
}

func (b *bundle) team(t *testing.T, name string) *leads.Team {
	t.Helper()
	team, err := b.svc.CreateTeam(context.Background(), b.admin, leads.Team{Name: name})
	require.NoError(t, err)
	return team
}

func (b *bundle) source(t *testing.T, teamID int64, name string) *leads.LeadSource {
	t.Helper()
	src, err := b.svc.CreateLeadSource(context.Background(), b.admin, leads.LeadSource{TeamID: teamID, Name: name})
	require.NoError(t, err)
	return src
}

func (b *bundle) rotation(t *testing.T, r leads.Rotation) *leads.Rotation {
	t.Helper()
	if r.Name == "" {
		r.Name = "rotation" // the first; the others are numbered, since names are unique
		if n := b.rotations.Add(1); n > 1 {
			r.Name = fmt.Sprintf("rotation %d", n)
		}
	}
	rot, err := b.svc.CreateRotation(context.Background(), b.admin, r)
	require.NoError(t, err)
	return rot
}

// defaultRotation makes the account's default rotation of the first n reps.
func (b *bundle) defaultRotation(t *testing.T, n int) *leads.Rotation {
	t.Helper()
	return b.rotation(t, leads.Rotation{Name: "default", Default: true, Members: b.members(n)})
}

func (b *bundle) members(n int) []leads.RotationMember {
	ms := make([]leads.RotationMember, n)
	for i := range ms {
		ms[i] = leads.RotationMember{User: b.reps[i], Weight: 1}
	}
	return ms
}

// peek returns who the rotation's next turn goes to, without taking it.
func (b *bundle) peek(t *testing.T, rot *leads.Rotation) string {
	t.Helper()
	p, err := b.rotator.Peek(context.Background(), rot, b.clock.Now(), 1)
	require.NoError(t, err)
	if len(p.Turns) == 0 {
		return ""
	}
	return p.Turns[0].Assignee
}

// count returns the rows of table that belong to the bundle's account; for
// audit_log, the entries of leads (configuration changes are audited too).
func (b *bundle) count(t *testing.T, table string) int {
	t.Helper()
	q := b.raw.DB().NewSelect().TableExpr(table).Where("account_id = ?", b.accountID)
	if table == "audit_log" {
		q = q.Where("lead_id IS NOT NULL")
	}
	n, err := q.Count(context.Background())
	require.NoError(t, err)
	return int(n)
}

func lead(first string) leads.LeadInput {
	return leads.LeadInput{FirstName: first, LastName: "Lovelace"}
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, leads.ErrorCode(err), "error: %v", err)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// createAs creates a lead with the credentials a request presents, and
// returns the actor they resolved to (known, through the admission hook,
// even when the create then fails).
func createAs(ctx context.Context, svc *leads.Service, cred leads.Credentials, in leads.LeadInput, opts leads.CreateOptions) (*leads.Result, leads.Actor, error) {
	var actor leads.Actor
	admit := opts.Admit
	opts.Admit = func(ctx context.Context, a leads.Actor) error {
		actor = a
		if admit != nil {
			return admit(ctx, a)
		}
		return nil
	}
	res, err := svc.CreateLead(ctx, cred, in, opts)
	return res, actor, err
}
