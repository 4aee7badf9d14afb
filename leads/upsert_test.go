package leads_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestUpsertAndReturningLeads(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"an upsert by email updates the live lead, keeps its owner, takes no turn", testUpsertByEmail},
		{"concurrent upserts of one email make one lead with one owner", testUpsertConcurrent},
		{"an upsert by externalId, even concurrent, makes one lead", testUpsertByExternalID},
		{"an upserted lead without an owner is routed", testUpsertRoutesUnowned},
		{"a returning contact goes to the owner of the earlier lead", testReturningOwner},
		{"when the owner is gone, the policy decides", testReturningOwnerGone},
		{"bad upserts and policies are refused by field", testUpsertRefusals},
		{"an upsert retried with its Idempotency-Key returns once", testUpsertRetriedWithItsKey},
		{"a retry routes the upserted lead whose routing was cut short", testUpsertRetryFinishesRouting},
		{"one key raced by a create and an upsert applies once", testKeyRacedByCreateAndUpsert},
	})
}

// returns counts the lead_returned entries of l's audit log.
func returns(l *leads.Lead) int {
	n := 0
	for _, e := range l.AuditLog {
		if e.Event == leads.EventLeadReturned {
			n++
		}
	}
	return n
}

func testUpsertRetriedWithItsKey(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.defaultRotation(t, 3)
	in := lead("Ada")
	in.Email = "ada@acme.com"
	first := b.mustCreate(t, in, upsertOpts())

	withKey := func(key string) leads.CreateOptions {
		o := upsertOpts()
		o.IdempotencyKey = key
		return o
	}
	again := leads.LeadInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@acme.com", Phone: "555-0100"}
	res := b.mustCreate(t, again, withKey("return-1"))
	require.True(t, res.Returned)
	require.False(t, res.Replayed)
	require.Equal(t, first.Lead.ID, res.Lead.ID)
	require.Equal(t, 1, returns(res.Lead))

	retry := b.mustCreate(t, again, withKey("return-1"))
	require.True(t, retry.Replayed, "the retry is answered, not applied")
	require.True(t, retry.Returned, "as the upsert it repeats")
	require.Equal(t, res.Lead.ID, retry.Lead.ID)
	require.Equal(t, res.Assignment.Assignee, retry.Assignment.Assignee)
	require.Equal(t, 1, returns(retry.Lead), "returned once")

	other := again
	other.Phone = "555-0199"
	_, err := b.create(other, withKey("return-1"))
	require.Equal(t, leads.CodeIdempotencyKeyReused, leads.ErrorCode(err), "the key with another body: %v", err)

	// Retries racing each other: one applies, the others answer it.
	var wg sync.WaitGroup
	results := make([]*leads.Result, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = b.create(again, withKey("return-2")) })
	}
	wg.Wait()
	applied := 0
	for i, r := range results {
		require.NoError(t, errs[i])
		require.Equal(t, first.Lead.ID, r.Lead.ID)
		if !r.Replayed {
			applied++
		}
	}
	require.Equal(t, 1, applied, "one of the racing retries applied")
	l, err := b.svc.Lead(ctx, b.admin, first.Lead.ID)
	require.NoError(t, err)
	require.Equal(t, 2, returns(l), "one return for each key")
}

// testKeyRacedByCreateAndUpsert: one Idempotency-Key sent at once with a
// create of a new lead and an upsert that finds a stored one (two clients'
// mistake, or an attacker's) applies once: the other request is refused
// as a reuse of the key, and neither its lead nor its return is written.
func testKeyRacedByCreateAndUpsert(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.defaultRotation(t, 3)
	in := lead("Ada")
	in.Email = "ada@acme.com"
	found := b.mustCreate(t, in, upsertOpts())
	const rounds = 20
	for i := range rounds {
		key := fmt.Sprintf("raced-%d", i)
		opts := upsertOpts()
		opts.IdempotencyKey = key
		fresh := lead(fmt.Sprintf("New%d", i))
		fresh.Email = fmt.Sprintf("new%d@acme.com", i)
		returning := leads.LeadInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@acme.com", Phone: fmt.Sprintf("555-01%02d", i)}
		var created, upserted *leads.Result
		var createErr, upsertErr error
		var wg sync.WaitGroup
		wg.Go(func() { created, createErr = b.create(fresh, opts) })
		wg.Go(func() { upserted, upsertErr = b.create(returning, opts) })
		wg.Wait()
		switch {
		case createErr == nil:
			require.Equal(t, leads.CodeIdempotencyKeyReused, leads.ErrorCode(upsertErr), "round %d: the upsert after the create: %v", i, upsertErr)
			require.False(t, created.Returned)
		default:
			require.Equal(t, leads.CodeIdempotencyKeyReused, leads.ErrorCode(createErr), "round %d: the create after the upsert: %v", i, createErr)
			require.NoError(t, upsertErr, "round %d", i)
			require.True(t, upserted.Returned)
		}
	}
	l, err := b.svc.Lead(ctx, b.admin, found.Lead.ID)
	require.NoError(t, err)
	upserts := returns(l)
	page, err := b.svc.ListLeads(ctx, b.admin, leads.ListOptions{Limit: 100})
	require.NoError(t, err)
	require.Equal(t, rounds, upserts+len(page.Data)-1, "one write for each key: %d upserts, %d leads", upserts, len(page.Data))
}

func upsertOpts() leads.CreateOptions {
	return leads.CreateOptions{MatchBy: leads.MatchEmail, SkipTeamAndSourceRequirement: true}
}

func testUpsertByEmail(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.defaultRotation(t, 3)
	in := lead("Ada")
	in.Email, in.Status, in.Metadata = "ada@acme.com", leads.StatusContacted, map[string]any{"a": 1.0}
	first := b.mustCreate(t, in, upsertOpts())
	require.False(t, first.Returned, "a new email creates")
	require.Equal(t, b.reps[0], first.Lead.AssignedTo)

	again := leads.LeadInput{FirstName: "Ada", LastName: "Lovelace", Email: " ADA@Acme.com ", Phone: "555-0100", Metadata: map[string]any{"b": 2.0}}
	res := b.mustCreate(t, again, upsertOpts())
	require.True(t, res.Returned)
	l := res.Lead
	require.Equal(t, first.Lead.ID, l.ID)
	require.Equal(t, b.reps[0], l.AssignedTo, "keeps its owner")
	require.Equal(t, rot.ID, l.RotationID, "and the turn that gave it")
	require.Equal(t, leads.AssignReturning, res.Assignment.Reason)
	require.Equal(t, "555-0100", l.Phone)
	require.Equal(t, "Lovelace", l.LastName)
	require.Equal(t, leads.StatusContacted, l.Status, "a field the upsert does not give stays")
	meta, err := json.Marshal(l.Metadata)
	require.NoError(t, err)
	require.JSONEq(t, `{"a": 1, "b": 2}`, string(meta), "metadata merged")
	require.Equal(t, b.reps[1], b.peek(t, rot), "no turn taken")
	var events []string
	for _, e := range l.AuditLog {
		events = append(events, e.Event)
	}
	require.Equal(t, []string{leads.EventLeadCreated, leads.EventLeadAssigned, leads.EventLeadReturned, leads.EventLeadUpdated}, events)
	require.Equal(t, "email", l.AuditLog[2].Data["matchBy"])
	require.Equal(t, 1, b.count(t, "leads"))

	// Nothing new: still audited as a return.
	res = b.mustCreate(t, leads.LeadInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@acme.com"}, upsertOpts())
	require.True(t, res.Returned)
	require.Equal(t, leads.EventLeadReturned, res.Lead.AuditLog[len(res.Lead.AuditLog)-1].Event)

	dry, err := b.create(again, leads.CreateOptions{MatchBy: leads.MatchEmail, DryRun: true, SkipTeamAndSourceRequirement: true})
	require.NoError(t, err)
	require.True(t, dry.Returned && dry.DryRun)
	require.Equal(t, first.Lead.ID, dry.Lead.ID)
	got, err := b.svc.Lead(ctx, b.agent, l.ID)
	require.NoError(t, err)
	require.Len(t, got.AuditLog, len(res.Lead.AuditLog), "a dry run writes nothing")
}

func testUpsertConcurrent(t *testing.T, b *bundle) {
	ctx := context.Background()
	for _, policy := range []leads.DuplicatePolicy{leads.DuplicateReject, leads.DuplicateAllow} {
		b := newBundle(t, b.env)
		_, err := b.svc.UpdateAccount(ctx, b.admin, leads.AccountPatch{DuplicatePolicy: &policy})
		require.NoError(t, err)
		rot := b.defaultRotation(t, 3)
		email := "grace-" + string(policy) + "@acme.com"
		const n = 16
		results, errs := b.createAtOnce(n, upsertOpts(), func(i int, in *leads.LeadInput) {
			in.Email = email
			if i%2 == 1 {
				in.Email = strings.ToUpper(email)
			}
		})
		created := 0
		for i := range n {
			require.NoError(t, errs[i], "upsert %d (%s)", i, policy)
			require.Equal(t, results[0].Lead.ID, results[i].Lead.ID, "one lead (%s)", policy)
			require.Equal(t, results[0].Lead.AssignedTo, results[i].Lead.AssignedTo, "one owner (%s)", policy)
			if !results[i].Returned {
				created++
			}
		}
		require.Equal(t, 1, created, policy)
		require.Equal(t, 1, b.count(t, "leads"), policy)
		stats, err := b.svc.RotationStats(ctx, b.agent, rot.ID, nil, nil)
		require.NoError(t, err)
		require.EqualValues(t, 1, stats.Total, "one turn taken (%s)", policy)
	}
}

func testUpsertByExternalID(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	opts := leads.CreateOptions{MatchBy: leads.MatchExternalID, SkipTeamAndSourceRequirement: true}
	const n = 16
	results, errs := b.createAtOnce(n, opts, func(i int, in *leads.LeadInput) {
		in.ExternalID, in.Email = "crm-42", fmt.Sprintf("linus%d@acme.com", i)
	})
	for i := range n {
		require.NoError(t, errs[i], "upsert %d", i)
		require.Equal(t, results[0].Lead.ID, results[i].Lead.ID, "one lead")
		require.Equal(t, results[0].Lead.AssignedTo, results[i].Lead.AssignedTo, "one owner")
	}
	require.Equal(t, 1, b.count(t, "leads"))
	stats, err := b.svc.RotationStats(context.Background(), b.agent, rot.ID, nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, 1, stats.Total, "one turn")
	in := lead("Linus")
	hot := int64(95)
	in.ExternalID, in.HotScore = "crm-42", &hot
	res := b.mustCreate(t, in, opts)
	require.True(t, res.Returned)
	require.EqualValues(t, 95, *res.Lead.HotScore)
	_, err = b.create(in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	requireCode(t, err, leads.CodeDuplicateExternalID)
	_, err = b.create(lead("Nobody"), opts)
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, "externalId", leads.ErrorDetails(err)["field"])
}

func testUpsertRoutesUnowned(t *testing.T, b *bundle) {
	in := lead("Ada")
	in.Email = "ada@acme.com"
	first := b.mustCreate(t, in, upsertOpts())
	require.Empty(t, first.Lead.AssignedTo, "no rotation yet")
	rot := b.defaultRotation(t, 2)
	res := b.mustCreate(t, in, upsertOpts())
	require.True(t, res.Returned)
	require.Equal(t, b.reps[0], res.Lead.AssignedTo, "routed now that a rotation applies")
	require.Equal(t, rot.ID, res.Lead.RotationID)
	require.Equal(t, leads.AssignRotation, res.Assignment.Reason)
	require.Equal(t, leads.StepDefault, res.Assignment.Decision.Step)
	res = b.mustCreate(t, in, upsertOpts())
	require.Equal(t, b.reps[0], res.Lead.AssignedTo, "and keeps that owner")
	require.Equal(t, b.reps[1], b.peek(t, rot))
}

// setReturning sets the account's returning-contact policy.
func (b *bundle) setReturning(t *testing.T, p leads.ReturningPolicy) {
	t.Helper()
	allow := leads.DuplicateAllow
	_, err := b.svc.UpdateAccount(context.Background(), b.admin, leads.AccountPatch{DuplicatePolicy: &allow, Returning: &p})
	require.NoError(t, err)
}

func testReturningOwner(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	b.setReturning(t, leads.ReturningPolicy{MatchBy: []string{leads.MatchEmail, leads.MatchPhone, leads.MatchEmailDomain}, WindowDays: 30})
	newLead := func(email, phone string) *leads.Result {
		in := lead("Contact")
		in.Email, in.Phone = email, phone
		return b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	}
	first := newLead("ada@acme.com", "555-0100")
	require.Equal(t, b.reps[0], first.Lead.AssignedTo)
	require.Equal(t, leads.ReturningNone, first.Assignment.Decision.Returning.Outcome)

	cases := []struct {
		name, email, phone, by string
		earlier                int // the newest earlier lead that matches: 0 first, i the result of case i-1
	}{
		{"same email, other case", "ADA@acme.com", "", leads.MatchEmail, 0},
		{"same phone", "someone@else.org", "555-0100", leads.MatchPhone, 0},
		{"same number, written otherwise", "third@other.org", " (555) 01.00", leads.MatchPhone, 2},
		{"same company domain", "bob@Acme.com", "", leads.MatchEmailDomain, 1},
	}
	ids := []int64{first.Lead.ID}
	for _, tc := range cases {
		res := newLead(tc.email, tc.phone)
		ids = append(ids, res.Lead.ID)
		require.Equal(t, b.reps[0], res.Lead.AssignedTo, tc.name)
		require.Zero(t, res.Lead.RotationID, tc.name)
		require.Equal(t, leads.AssignReturning, res.Assignment.Reason, tc.name)
		d := res.Assignment.Decision
		require.Equal(t, leads.StepReturning, d.Step, tc.name)
		require.Equal(t, &leads.ReturningCheck{Outcome: leads.ReturningOwner, MatchedBy: tc.by, LeadID: ids[tc.earlier], Owner: b.reps[0]}, d.Returning, tc.name)
	}
	require.Equal(t, b.reps[1], b.peek(t, rot), "returning leads take no turn")
	stats, err := b.svc.RotationStats(context.Background(), b.agent, rot.ID, nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, 1, stats.Total, "one turn")
	require.EqualValues(t, 1, stats.Members[0].Assigned)
	require.EqualValues(t, len(cases), stats.Members[0].Returning, "the returning leads, apart")
	require.Zero(t, stats.Members[1].Returning)

	gmail := newLead("x@gmail.com", "n/a")
	require.Equal(t, b.reps[1], gmail.Lead.AssignedTo, "a free mail domain is nobody's")
	other := newLead("y@gmail.com", "n/a")
	require.Equal(t, b.reps[2], other.Lead.AssignedTo, "nor is a phone that is no number")

	b.clock.Advance(31 * 24 * time.Hour)
	late := newLead("carol@acme.com", "")
	require.Equal(t, leads.AssignRotation, late.Assignment.Reason, "outside the window, a new contact")
}

func testReturningOwnerGone(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.rotation(t, leads.Rotation{Name: "default", Default: true, Members: b.members(3), FallbackAssignee: b.reps[5]})
	b.setReturning(t, leads.ReturningPolicy{MatchBy: []string{leads.MatchEmail}})
	policies := []string{leads.OwnerGoneRoute, leads.OwnerGoneHold, leads.OwnerGoneFallback}
	for _, p := range policies {
		in := lead("Ada")
		in.Email, in.AssignedTo = p+"@acme.com", b.reps[0]
		b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	}
	require.NoError(t, b.svc.RemoveMember(ctx, b.admin, b.reps[0]))

	for _, tc := range []struct {
		policy, reason, assignee string
	}{
		{leads.OwnerGoneRoute, leads.AssignRotation, b.reps[1]},
		{leads.OwnerGoneHold, leads.AssignHeld, ""},
		{leads.OwnerGoneFallback, leads.AssignFallback, b.reps[5]},
	} {
		b.setReturning(t, leads.ReturningPolicy{MatchBy: []string{leads.MatchEmail}, OwnerGone: tc.policy})
		in := lead("Ada")
		in.Email = tc.policy + "@acme.com"
		res := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
		require.Equal(t, tc.assignee, res.Lead.AssignedTo, tc.policy)
		require.Equal(t, tc.reason, res.Assignment.Reason, tc.policy)
		require.Equal(t, leads.ReturningOwnerGone, res.Assignment.Decision.Returning.Outcome, tc.policy)
		require.Equal(t, tc.policy, res.Assignment.Decision.Returning.OwnerGone)
	}
	require.Equal(t, b.reps[2], b.peek(t, rot), "only the route policy took a turn")
	require.Len(t, policies, 3)
}

func testUpsertRefusals(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := b.create(lead("Ada"), leads.CreateOptions{MatchBy: "phone"})
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, "matchBy", leads.ErrorDetails(err)["field"])
	_, err = b.create(lead("Ada"), leads.CreateOptions{MatchBy: leads.MatchEmail})
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, "email", leads.ErrorDetails(err)["field"])
	for _, tc := range []struct {
		p     leads.ReturningPolicy
		field string
	}{
		{leads.ReturningPolicy{MatchBy: []string{"fax"}}, "returning.matchBy[0]"},
		{leads.ReturningPolicy{MatchBy: []string{"email", "email"}}, "returning.matchBy[1]"},
		{leads.ReturningPolicy{WindowDays: -1}, "returning.windowDays"},
		{leads.ReturningPolicy{OwnerGone: "drop"}, "returning.ownerGone"},
	} {
		_, err := b.svc.UpdateAccount(ctx, b.admin, leads.AccountPatch{Returning: &tc.p})
		requireCode(t, err, leads.CodeValidation)
		require.Equal(t, tc.field, leads.ErrorDetails(err)["field"])
	}
	a, err := b.svc.Account(ctx, b.agent)
	require.NoError(t, err)
	require.Equal(t, leads.ReturningPolicy{MatchBy: []string{}, OwnerGone: leads.OwnerGoneRoute}, a.Returning, "nothing stored")
}

// createAtOnce creates n leads at once, the i-th as shape makes it from a
// plain lead, and returns each one's result and error.
func (b *bundle) createAtOnce(n int, opts leads.CreateOptions, shape func(i int, in *leads.LeadInput)) ([]*leads.Result, []error) {
	results := make([]*leads.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			in := lead("Contact")
			shape(i, &in)
			results[i], errs[i] = b.create(in, opts)
		})
	}
	wg.Wait()
	return results, errs
}

// failingUpdates is a store whose UpdateLead fails from its fail-th call
// on, before it writes anything.
type failingUpdates struct {
	leads.Store
	calls, fail int
}

func (s *failingUpdates) UpdateLead(ctx context.Context, accountID string, id int64, apply func(cur *leads.Lead) (*leads.LeadWrite, error)) (*leads.Lead, error) {
	if s.calls++; s.calls >= s.fail {
		return nil, errors.New("update refused by the test")
	}
	return s.Store.UpdateLead(ctx, accountID, id, apply)
}

// An upsert of a lead whose owner is gone writes the update, then routes
// the lead in a second step. When that step fails, the key is stored with
// the update, and the client's retry is a replay: it routes the lead then,
// once, and a second retry changes nothing.
func testUpsertRetryFinishesRouting(t *testing.T, b *bundle) {
	ctx := context.Background()
	rot := b.rotation(t, leads.Rotation{Name: "default", Default: true, Members: b.members(3)})
	b.setReturning(t, leads.ReturningPolicy{MatchBy: []string{leads.MatchEmail}, OwnerGone: leads.OwnerGoneRoute})
	in := lead("Ada")
	in.Email, in.AssignedTo = "ada@acme.com", b.reps[0]
	first := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	require.NoError(t, b.svc.RemoveMember(ctx, b.admin, b.reps[0]))

	opts := upsertOpts()
	opts.IdempotencyKey = "return-after-cut"
	again := leads.LeadInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@acme.com"}
	cut := leads.NewService(&failingUpdates{Store: b.store, fail: 2}, b.rotator, leads.WithClock(b.clock.Now))
	_, err := cut.CreateLead(ctx, b.admin, again, opts)
	require.Error(t, err, "the routing step failed")
	l, err := b.svc.Lead(ctx, b.admin, first.Lead.ID)
	require.NoError(t, err)
	require.Equal(t, 1, returns(l), "the update was written")
	require.Equal(t, b.reps[0], l.AssignedTo, "the lead still has its gone owner")

	retry := b.mustCreate(t, again, opts)
	require.True(t, retry.Replayed)
	require.True(t, retry.Returned)
	require.Equal(t, b.reps[1], retry.Lead.AssignedTo, "routed by the retry")
	require.Equal(t, b.reps[1], retry.Assignment.Assignee)
	require.Equal(t, leads.AssignRotation, retry.Assignment.Reason)
	require.Equal(t, leads.AssignmentAssigned, retry.Lead.AssignmentStatus)

	again2 := b.mustCreate(t, again, opts)
	require.True(t, again2.Replayed)
	require.Equal(t, b.reps[1], again2.Lead.AssignedTo)
	require.Equal(t, retry.Lead.AuditLog, again2.Lead.AuditLog, "the second retry writes nothing")
	require.Equal(t, b.reps[2], b.peek(t, rot), "one turn, taken once")
	require.Equal(t, 1, returns(again2.Lead))
}
