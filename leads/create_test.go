package leads_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestCreate(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"rule 1: invalid fields are rejected and write nothing", testValidation},
		{"rule 1: status defaults to new and every field is kept", testFieldsKept},
		{"rule 2: a team is required when the account has teams", testTeamRequired},
		{"rule 2: an unknown or foreign team is not found", testTeamNotFound},
		{"rule 3: a lead source is required when the team has some", testLeadSourceRequired},
		{"rule 3: a lead source of another team is not found", testLeadSourceNotFound},
		{"rule 3: a lead source alone puts the lead in its team", testLeadSourceImpliesTeam},
		{"rule 4: a duplicate email is rejected with the existing lead", testDuplicateEmailRejected},
		{"rule 4: duplicates are allowed when the account allows them", testDuplicateEmailAllowed},
		{"rule 4: concurrent duplicates make one lead and take one turn", testDuplicateEmailConcurrent},
		{"rule 4: an externalId is unique in the account, whatever its policy", testDuplicateExternalID},
		{"rule 4: concurrent creates of one externalId make one lead and take one turn", testDuplicateExternalIDConcurrent},
		{"rule 4: a deleted lead frees its externalId", testExternalIDFreedByDelete},
		{"rule 5: createdBy defaults to the caller", testCreatedBy},
		{"rule 6: the team's rotation, else the default one, assigns", testRotationChoice},
		{"rule 6: without a rotation the lead stays unassigned", testNoRotation},
		{"rule 6: a named assignee takes no turn", testExplicitAssignee},
		{"rule 6: nobody eligible goes to the fallback, else nobody", testFallback},
		{"rule 7: the lead comes back with its audit log", testAuditLog},
		{"rule 8: a retry with the same idempotency key returns the first lead", testIdempotentRetry},
		{"rule 8: an idempotency key reused with another body is refused", testIdempotencyKeyReused},
		{"rule 8: concurrent retries make one lead and take one turn", testIdempotencyConcurrent},
		{"rule 8: idempotency keys belong to one account", testIdempotencyPerAccount},
		{"roles: agents create leads but not teams", testRoles},
		{"a failed write gives its turn back", testRefundOnWriteFailure},
		{"credentials are checked before the lead, in the same read", testCreateWithCredentials},
		{"a failed write gives its turn back after later turns", testRefundAfterLaterTurns},
	})
}

func testValidation(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	neg, hot := int64(-1), int64(101)
	deep := map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": map[string]any{"e": map[string]any{"f": 1}}}}}}
	cases := []struct {
		name  string
		in    leads.LeadInput
		field string
	}{
		{"first name missing", leads.LeadInput{LastName: "Lovelace"}, "firstName"},
		{"last name blank", leads.LeadInput{FirstName: "Ada", LastName: "   "}, "lastName"},
		{"email invalid", leads.LeadInput{FirstName: "Ada", LastName: "L", Email: "invalid-email"}, "email"},
		{"email with a display name", leads.LeadInput{FirstName: "Ada", LastName: "L", Email: "Ada <ada@example.com>"}, "email"},
		{"status unknown", leads.LeadInput{FirstName: "Ada", LastName: "L", Status: "won"}, "status"},
		{"employees negative", leads.LeadInput{FirstName: "Ada", LastName: "L", NumberOfEmployees: &neg}, "numberOfEmployees"},
		{"volume negative", leads.LeadInput{FirstName: "Ada", LastName: "L", MonthlyTransactionVolume: &neg}, "monthlyTransactionVolume"},
		{"image not a URL", leads.LeadInput{FirstName: "Ada", LastName: "L", ImgSrc: "javascript:alert(1)"}, "imgSrc"},
		{"creator not an email", leads.LeadInput{FirstName: "Ada", LastName: "L", CreatedBy: "Import bot"}, "createdBy"},
		{"name too long", leads.LeadInput{FirstName: strings.Repeat("a", 256), LastName: "L"}, "firstName"},
		{"metadata too deep", leads.LeadInput{FirstName: "Ada", LastName: "L", Metadata: deep}, "metadata"},
		{"team id negative", leads.LeadInput{FirstName: "Ada", LastName: "L", TeamID: -3}, "teamId"},
		{"hot score negative", leads.LeadInput{FirstName: "Ada", LastName: "L", HotScore: &neg}, "hotScore"},
		{"hot score over 100", leads.LeadInput{FirstName: "Ada", LastName: "L", HotScore: &hot}, "hotScore"},
		{"external id too long", leads.LeadInput{FirstName: "Ada", LastName: "L", ExternalID: strings.Repeat("x", 256)}, "externalId"},
	}
	for _, tc := range cases {
		_, err := b.create(tc.in, leads.CreateOptions{})
		requireCode(t, err, leads.CodeValidation)
		require.Equal(t, tc.field, leads.ErrorDetails(err)["field"], tc.name)
		require.NotEmpty(t, leads.ErrorDetails(err)["message"], tc.name)
	}
	_, err := b.create(leads.LeadInput{}, leads.CreateOptions{})
	require.Len(t, leads.ErrorDetails(err)["errors"], 2, "both missing names are reported")

	require.Zero(t, b.count(t, "leads"))
	require.Zero(t, b.count(t, "audit_log"))
	require.Equal(t, b.reps[0], b.peek(t, rot), "no turn was consumed")
	res := b.mustCreate(t, lead("Ada"), leads.CreateOptions{})
	require.Equal(t, b.reps[0], res.Lead.AssignedTo)
	require.EqualValues(t, 1, res.Lead.RotationTurn)
}

func testFieldsKept(t *testing.T, b *bundle) {
	employees, volume, yes, cold := int64(0), int64(250000), false, int64(0)
	in := leads.LeadInput{
		FirstName: " Ada ", LastName: "Lovelace", ImgSrc: "https://example.com/ada.png", Email: "Ada@Example.com",
		Phone: "+1-555-123-4567", Company: "Analytical Engines", JobTitle: "CTO", Branch: "London", Source: "website",
		Position: "Engineering", Location: "UK", ProductsServicesSold: "Engines", NumberOfEmployees: &employees,
		CurrentPaymentProcessor: "Stripe", MonthlyTransactionVolume: &volume, InterestedInSwitching: &yes,
		ProcessStage: "discovery", BuyingRole: "decision maker", Notes: "Met at the expo", Archived: true,
		ExternalID: " CRM-42 ", HotScore: &cold,
		Metadata: map[string]any{"utm_source": "google", "interests": []any{"a", "b"}},
	}
	res := b.mustCreate(t, in, leads.CreateOptions{})
	l := res.Lead
	require.Equal(t, leads.StatusNew, l.Status)
	require.Equal(t, "Ada", l.FirstName, "text is trimmed")
	require.Equal(t, "Ada@Example.com", l.Email)
	require.Equal(t, int64(0), *l.NumberOfEmployees, "zero is kept, not dropped")
	require.Equal(t, int64(0), *l.HotScore, "a hot score of zero is kept, not dropped")
	require.Equal(t, "CRM-42", l.ExternalID, "the external id is trimmed, its case kept")
	require.False(t, *l.InterestedInSwitching, "false is kept, not dropped")
	require.True(t, l.Archived)

	stored, err := b.svc.Lead(context.Background(), b.agent, l.ID)
	require.NoError(t, err)
	require.Equal(t, "google", stored.Metadata["utm_source"])
	stored.Metadata, l.Metadata = nil, nil // json.Number vs string types aside, compare the rest exactly
	require.Equal(t, l, stored)
}

func testTeamRequired(t *testing.T, b *bundle) {
	_ = b.mustCreate(t, lead("Before teams"), leads.CreateOptions{})
	b.team(t, "West")
	_, err := b.create(lead("Ada"), leads.CreateOptions{})
	requireCode(t, err, leads.CodeTeamRequired)
	require.Equal(t, "team ID is required when teams exist in the account", leads.ErrorMessage(err))

	res := b.mustCreate(t, lead("Skipped"), leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	require.Zero(t, res.Lead.TeamID)
	require.Equal(t, 2, b.count(t, "leads"))
}

func testTeamNotFound(t *testing.T, b *bundle) {
	b.team(t, "West")
	other := newBundle(t, b.env)
	foreign := other.team(t, "Foreign")
	for _, opts := range []leads.CreateOptions{{}, {SkipTeamAndSourceRequirement: true}} {
		for _, id := range []int64{foreign.ID, 987654} {
			in := lead("Ada")
			in.TeamID = id
			_, err := b.create(in, opts)
			requireCode(t, err, leads.CodeTeamNotFound)
			require.EqualValues(t, id, leads.ErrorDetails(err)["teamId"])
		}
	}
	require.Zero(t, b.count(t, "leads"))
}

func testLeadSourceRequired(t *testing.T, b *bundle) {
	west, east := b.team(t, "West"), b.team(t, "East")
	src := b.source(t, west.ID, "Webinar")
	in := lead("Ada")
	in.TeamID = west.ID
	_, err := b.create(in, leads.CreateOptions{})
	requireCode(t, err, leads.CodeLeadSourceRequired)
	require.Equal(t, "lead source ID is required when the team has lead sources", leads.ErrorMessage(err))

	b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	in.LeadSourceID = src.ID
	res := b.mustCreate(t, in, leads.CreateOptions{})
	require.Equal(t, src.ID, res.Lead.LeadSourceID)

	noSources := lead("Bob")
	noSources.TeamID = east.ID
	b.mustCreate(t, noSources, leads.CreateOptions{})
}

func testLeadSourceNotFound(t *testing.T, b *bundle) {
	west, east := b.team(t, "West"), b.team(t, "East")
	b.source(t, west.ID, "Webinar")
	eastSrc := b.source(t, east.ID, "Expo")
	other := newBundle(t, b.env)
	foreign := other.source(t, other.team(t, "Foreign").ID, "Theirs")
	for _, id := range []int64{eastSrc.ID, foreign.ID, 424242} {
		for _, opts := range []leads.CreateOptions{{}, {SkipTeamAndSourceRequirement: true}} {
			in := lead("Ada")
			in.TeamID, in.LeadSourceID = west.ID, id
			_, err := b.create(in, opts)
			requireCode(t, err, leads.CodeLeadSourceNotFound)
		}
	}
	require.Zero(t, b.count(t, "leads"))
}

func testLeadSourceImpliesTeam(t *testing.T, b *bundle) {
	west := b.team(t, "West")
	src := b.source(t, west.ID, "Webinar")
	in := lead("Ada")
	in.LeadSourceID = src.ID
	_, err := b.create(in, leads.CreateOptions{})
	requireCode(t, err, leads.CodeTeamRequired)
	res := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true})
	require.Equal(t, west.ID, res.Lead.TeamID)
}

func testDuplicateEmailRejected(t *testing.T, b *bundle) {
	first, second := lead("Ada"), lead("Ada")
	first.Email, second.Email = "ada@example.com", "ADA@Example.COM"
	requireDuplicateRefused(t, b, first, second, leads.CodeDuplicateEmail, "Email already exists", "email", "ADA@Example.COM")
}

// requireDuplicateRefused creates first under a default rotation, then
// second, which duplicates it: second is refused with code and message,
// its details naming first's lead and field as shown, and stores nothing
// and takes no turn.
func requireDuplicateRefused(t *testing.T, b *bundle, first, second leads.LeadInput, code, message, field, shown string) {
	t.Helper()
	rot := b.defaultRotation(t, 3)
	kept := b.mustCreate(t, first, leads.CreateOptions{})
	_, err := b.create(second, leads.CreateOptions{})
	requireCode(t, err, code)
	require.Equal(t, message, leads.ErrorMessage(err))
	require.Equal(t, kept.Lead.ID, leads.ErrorDetails(err)["existingLeadId"])
	require.Equal(t, shown, leads.ErrorDetails(err)[field])
	require.Equal(t, 1, b.count(t, "leads"))
	require.Equal(t, b.reps[1], b.peek(t, rot), "the refused lead took no turn")
}

func testDuplicateEmailAllowed(t *testing.T, b *bundle) {
	ctx := context.Background()
	id := "allow-" + randomHex(4)
	_, err := b.svc.CreateAccount(ctx, leads.Account{ID: id, DuplicatePolicy: leads.DuplicateAllow})
	require.NoError(t, err)
	actor := leads.SystemActor(id)
	in := lead("Ada")
	in.Email = "ada@example.com"
	for range 2 {
		_, err := b.svc.CreateLead(ctx, actor, in, leads.CreateOptions{})
		require.NoError(t, err)
	}
	n, err := b.raw.DB().NewSelect().TableExpr("leads").Where("account_id = ?", id).Count(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
}

func testDuplicateEmailConcurrent(t *testing.T, b *bundle) {
	in := lead("Ada")
	in.Email = "race@example.com"
	requireOneOfConcurrent(t, b, in, leads.CodeDuplicateEmail)
}

func testDuplicateExternalID(t *testing.T, b *bundle) {
	ctx := context.Background()
	in, again := lead("Ada"), lead("Ada")
	in.ExternalID, again.ExternalID = "CRM-7", " CRM-7 "
	requireDuplicateRefused(t, b, in, again, leads.CodeDuplicateExternalID, "External ID already exists", "externalId", "CRM-7")

	in.ExternalID = "crm-7"
	_, err := b.create(in, leads.CreateOptions{})
	require.NoError(t, err, "ids compare exactly: another case is another id")

	other := newBundle(t, b.env)
	_, err = other.create(leads.LeadInput{FirstName: "Ada", LastName: "L", ExternalID: "CRM-7"}, leads.CreateOptions{})
	require.NoError(t, err, "another account may use the same id")

	id := "allow-" + randomHex(4)
	_, err = b.svc.CreateAccount(ctx, leads.Account{ID: id, DuplicatePolicy: leads.DuplicateAllow})
	require.NoError(t, err)
	allow := leads.SystemActor(id)
	same := leads.LeadInput{FirstName: "Ada", LastName: "L", Email: "ada@example.com", ExternalID: "CRM-7"}
	_, err = b.svc.CreateLead(ctx, allow, same, leads.CreateOptions{})
	require.NoError(t, err)
	same.ExternalID = "CRM-8"
	_, err = b.svc.CreateLead(ctx, allow, same, leads.CreateOptions{})
	require.NoError(t, err, "the email may repeat where the account allows it")
	_, err = b.svc.CreateLead(ctx, allow, same, leads.CreateOptions{})
	requireCode(t, err, leads.CodeDuplicateExternalID)
}

func testDuplicateExternalIDConcurrent(t *testing.T, b *bundle) {
	in := lead("Ada")
	in.ExternalID = "crm-race"
	requireOneOfConcurrent(t, b, in, leads.CodeDuplicateExternalID)
}

// requireOneOfConcurrent creates in 16 times at once under a default
// rotation: exactly one lead is stored, with its turn, and every other
// create is refused with code, naming that lead.
func requireOneOfConcurrent(t *testing.T, b *bundle, in leads.LeadInput, code string) {
	t.Helper()
	rot := b.defaultRotation(t, 3)
	results, errs := concurrently(16, func() (*leads.Result, error) { return b.create(in, leads.CreateOptions{}) })
	var winner int64
	for i, err := range errs {
		if err == nil {
			require.Zero(t, winner, "only one create succeeds")
			winner = results[i].Lead.ID
		}
	}
	require.NotZero(t, winner)
	for _, err := range errs {
		if err != nil {
			requireCode(t, err, code)
			require.Equal(t, winner, leads.ErrorDetails(err)["existingLeadId"])
		}
	}
	require.Equal(t, 1, b.count(t, "leads"))
	require.Equal(t, 2, b.count(t, "audit_log"), "one lead_created and one lead_assigned")
	winnerLead, err := b.svc.Lead(context.Background(), b.admin, winner)
	require.NoError(t, err)
	requireOneTurnTaken(t, b, rot, winnerLead.AssignedTo)
}

func testExternalIDFreedByDelete(t *testing.T, b *bundle) {
	in := lead("Ada")
	in.ExternalID = "crm-gone"
	first := b.mustCreate(t, in, leads.CreateOptions{})
	require.NoError(t, b.svc.DeleteLead(context.Background(), b.admin, first.Lead.ID))
	again, err := b.create(in, leads.CreateOptions{})
	require.NoError(t, err, "the deleted lead's externalId is free again")
	require.Equal(t, "crm-gone", again.Lead.ExternalID)
}

// requireOneTurnTaken checks that a race left the equal-weight rotation of
// the first three reps exactly one turn on, however many turns the losers
// took and gave back: the winner's turn charged its assignee and credited the
// others, so the next turn is the first other rep, and six leads later every
// rep has exactly two.
func requireOneTurnTaken(t *testing.T, b *bundle, rot *leads.Rotation, winner string) {
	t.Helper()
	next := b.reps[0]
	if winner == next {
		next = b.reps[1]
	}
	require.Equal(t, next, b.peek(t, rot))
	counts := map[string]int{winner: 1}
	for range 5 {
		counts[b.mustCreate(t, lead("After"), leads.CreateOptions{}).Lead.AssignedTo]++
	}
	require.Equal(t, map[string]int{b.reps[0]: 2, b.reps[1]: 2, b.reps[2]: 2}, counts)
}

func testCreatedBy(t *testing.T, b *bundle) {
	ctx := context.Background()
	res, err := b.svc.CreateLead(ctx, b.agent, lead("Ada"), leads.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, "agent@example.com", res.Lead.CreatedBy)
	in := lead("Bob")
	in.CreatedBy = "import@example.com"
	res, err = b.svc.CreateLead(ctx, b.agent, in, leads.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, "import@example.com", res.Lead.CreatedBy)
}

func testRotationChoice(t *testing.T, b *bundle) {
	west, east := b.team(t, "West"), b.team(t, "East")
	westRot := b.rotation(t, leads.Rotation{Name: "West reps", TeamID: west.ID, Members: b.members(2)})
	def := b.rotation(t, leads.Rotation{Name: "Everyone else", Default: true, Members: []leads.RotationMember{{User: b.reps[5]}, {User: b.reps[6]}}})

	cases := []struct {
		team     int64
		skip     bool
		rotation *leads.Rotation
		step     string
		assignee string
	}{
		{west.ID, false, westRot, leads.StepTeam, b.reps[0]},
		{west.ID, false, westRot, leads.StepTeam, b.reps[1]},
		{east.ID, false, def, leads.StepDefault, b.reps[5]}, // a team without a rotation uses the default
		{0, true, def, leads.StepDefault, b.reps[6]},        // so does a lead without a team
		{west.ID, false, westRot, leads.StepTeam, b.reps[0]},
	}
	for i, tc := range cases {
		in := lead("Lead")
		in.TeamID = tc.team
		res := b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: tc.skip})
		require.Equal(t, tc.assignee, res.Lead.AssignedTo, "lead %d", i)
		require.Equal(t, tc.rotation.ID, res.Lead.RotationID, "lead %d", i)
		var eligible []string
		for _, m := range tc.rotation.Members {
			eligible = append(eligible, m.User)
		}
		require.Equal(t, leads.Assignment{Assignee: tc.assignee, RotationID: tc.rotation.ID, RotationName: tc.rotation.Name,
			Reason: leads.AssignRotation, Turn: res.Lead.RotationTurn,
			Decision: &leads.RoutingDecision{Step: tc.step, RuleDecision: leads.RuleDecision{Rules: []leads.RuleTrace{}}, Eligible: eligible}},
			res.Assignment)
		assigned := res.Lead.AuditLog[1]
		require.Equal(t, leads.EventLeadAssigned, assigned.Event)
		require.Equal(t, tc.rotation.Name, assigned.Data["rotationName"])
		require.Equal(t, leads.AssignRotation, assigned.Data["reason"])
	}
}

func testNoRotation(t *testing.T, b *bundle) {
	res := b.mustCreate(t, lead("Ada"), leads.CreateOptions{})
	require.Empty(t, res.Lead.AssignedTo)
	require.Zero(t, res.Lead.RotationID)
	require.Equal(t, leads.AssignNoRotation, res.Assignment.Reason)
	require.Len(t, res.Lead.AuditLog, 1)
	require.Equal(t, leads.EventLeadCreated, res.Lead.AuditLog[0].Event)
}

func testExplicitAssignee(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	in := lead("Ada")
	in.AssignedTo = b.reps[2]
	res := b.mustCreate(t, in, leads.CreateOptions{})
	require.Equal(t, b.reps[2], res.Lead.AssignedTo)
	require.Zero(t, res.Lead.RotationID)
	require.Equal(t, leads.AssignExplicit, res.Assignment.Reason)
	require.Equal(t, b.reps[0], b.peek(t, rot), "no turn was taken")
}

func testFallback(t *testing.T, b *bundle) {
	ms := b.members(2)
	ms[0].Paused, ms[1].Paused = true, true
	rot := b.rotation(t, leads.Rotation{Name: "On holiday", Default: true, Members: ms, FallbackAssignee: b.admin.Email})
	res := b.mustCreate(t, lead("Ada"), leads.CreateOptions{})
	require.Equal(t, b.admin.Email, res.Lead.AssignedTo)
	require.Equal(t, rot.ID, res.Lead.RotationID)
	require.Equal(t, leads.AssignFallback, res.Assignment.Reason)
	require.Zero(t, res.Lead.RotationTurn, "a fallback is not a turn")

	rot.FallbackAssignee = ""
	_, err := b.svc.ReplaceRotation(context.Background(), b.admin, *rot)
	require.NoError(t, err)
	res = b.mustCreate(t, lead("Bob"), leads.CreateOptions{})
	require.Empty(t, res.Lead.AssignedTo)
	require.Equal(t, leads.AssignNoEligible, res.Assignment.Reason)
	require.Equal(t, leads.EventLeadNotAssigned, res.Lead.AuditLog[1].Event)
}

func testAuditLog(t *testing.T, b *bundle) {
	b.defaultRotation(t, 2)
	actor := b.agent
	actor.APIKey = "lr_abcdefgh"
	actor.Request = &leads.RequestInfo{Method: "POST", Path: "/leads", IPAddress: "203.0.113.9",
		Headers: map[string]string{"Authorization": "Bearer ***", "User-Agent": "test"}}
	res, err := b.svc.CreateLead(context.Background(), actor, lead("Ada"), leads.CreateOptions{})
	require.NoError(t, err)
	log := res.Lead.AuditLog
	require.Len(t, log, 2)
	for _, e := range log {
		require.NotZero(t, e.ID)
		require.Equal(t, res.Lead.ID, e.LeadID)
		require.Equal(t, "agent@example.com", e.User)
		require.Equal(t, "lr_abcdefgh", *e.APIKey)
		require.Equal(t, b.accountID, e.AccountID)
		require.Equal(t, "POST", e.RequestMethod)
		require.Equal(t, "/leads", e.RequestPath)
		require.Equal(t, "203.0.113.9", e.RequestIPAddress)
		require.Equal(t, "Bearer ***", e.RequestHeaders["Authorization"])
		require.Equal(t, b.clock.Now(), e.Created)
	}
	require.Equal(t, leads.EventLeadCreated, log[0].Event)
	require.Equal(t, leads.EventLeadAssigned, log[1].Event)
	require.Equal(t, b.reps[0], log[1].Data["assignee"])

	stored, err := b.svc.Lead(context.Background(), b.agent, res.Lead.ID)
	require.NoError(t, err)
	require.Len(t, stored.AuditLog, 2)
	require.Equal(t, log[1].ID, stored.AuditLog[1].ID)
	require.Equal(t, log[1].RequestHeaders, stored.AuditLog[1].RequestHeaders)
}

func testIdempotentRetry(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	opts := leads.CreateOptions{IdempotencyKey: "form-42"}
	in := lead("Ada")
	in.Email = "ada@example.com"
	first := b.mustCreate(t, in, opts)
	require.False(t, first.Replayed)
	again := b.mustCreate(t, in, opts)
	require.True(t, again.Replayed)
	require.Equal(t, first.Lead.ID, again.Lead.ID)
	require.Equal(t, first.Lead.AssignedTo, again.Lead.AssignedTo)
	require.Equal(t, first.Assignment.Reason, again.Assignment.Reason)
	require.Len(t, again.Lead.AuditLog, 2)
	require.Equal(t, 1, b.count(t, "leads"))
	require.Equal(t, b.reps[1], b.peek(t, rot), "the retry took no turn")
}

func testIdempotencyKeyReused(t *testing.T, b *bundle) {
	opts := leads.CreateOptions{IdempotencyKey: "form-42"}
	b.mustCreate(t, lead("Ada"), opts)
	_, err := b.create(lead("Bob"), opts)
	requireCode(t, err, leads.CodeIdempotencyKeyReused)
	_, err = b.create(lead("Ada"), leads.CreateOptions{IdempotencyKey: "form-42", SkipTeamAndSourceRequirement: true})
	requireCode(t, err, leads.CodeIdempotencyKeyReused)
	require.Equal(t, 1, b.count(t, "leads"))
}

func testIdempotencyConcurrent(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	opts := leads.CreateOptions{IdempotencyKey: "burst"}
	results, errs := concurrently(16, func() (*leads.Result, error) { return b.create(lead("Ada"), opts) })
	for i, err := range errs {
		require.NoError(t, err)
		require.Equal(t, results[0].Lead.ID, results[i].Lead.ID)
	}
	require.Equal(t, 1, b.count(t, "leads"))
	requireOneTurnTaken(t, b, rot, results[0].Lead.AssignedTo)
}

func testIdempotencyPerAccount(t *testing.T, b *bundle) {
	other := newBundle(t, b.env)
	opts := leads.CreateOptions{IdempotencyKey: "same-key"}
	first := b.mustCreate(t, lead("Ada"), opts)
	second := other.mustCreate(t, lead("Ada"), opts)
	require.NotEqual(t, first.Lead.ID, second.Lead.ID)
	require.False(t, second.Replayed)
}

func testRoles(t *testing.T, b *bundle) {
	ctx := context.Background()
	_, err := b.svc.CreateTeam(ctx, b.agent, leads.Team{Name: "West"})
	requireCode(t, err, leads.CodeForbidden)
	_, err = b.svc.CreateRotation(ctx, b.agent, leads.Rotation{Name: "r", Default: true})
	requireCode(t, err, leads.CodeForbidden)
	_, err = b.svc.PutMember(ctx, leads.Actor{AccountID: b.accountID, Email: "m@example.com", Role: leads.RoleManager},
		leads.Member{Email: "new@example.com", Role: leads.RoleAdmin})
	requireCode(t, err, leads.CodeForbidden)
	_, err = b.svc.CreateLead(ctx, leads.Actor{AccountID: b.accountID, Email: "x@example.com"}, lead("Ada"), leads.CreateOptions{})
	requireCode(t, err, leads.CodeForbidden)
	_, err = b.svc.CreateLead(ctx, b.agent, lead("Ada"), leads.CreateOptions{})
	require.NoError(t, err)
	_, err = b.svc.CreateRotation(ctx, b.admin, leads.Rotation{Name: "r", Default: true,
		Members: []leads.RotationMember{{User: "stranger@example.com"}}})
	requireCode(t, err, leads.CodeMemberNotInAccount)
}

// failingStore is the real store with InsertLead failing on demand.
type failingStore struct {
	leads.Store
	before func(n *leads.NewLead) error
}

func (s failingStore) InsertLead(ctx context.Context, n *leads.NewLead) error {
	if err := s.before(n); err != nil {
		return err
	}
	return s.Store.InsertLead(ctx, n)
}

var errDiskFull = errors.New("disk full")

func testRefundOnWriteFailure(t *testing.T, b *bundle) {
	rot := b.defaultRotation(t, 3)
	svc := b.newService(failingStore{b.store, func(n *leads.NewLead) error {
		if n.Lead.FirstName == "Doomed" {
			return errDiskFull
		}
		return nil
	}})
	ctx := context.Background()
	_, err := svc.CreateLead(ctx, b.admin, lead("First"), leads.CreateOptions{})
	require.NoError(t, err)
	_, err = svc.CreateLead(ctx, b.admin, lead("Doomed"), leads.CreateOptions{})
	require.ErrorIs(t, err, errDiskFull)
	require.Equal(t, leads.CodeInternal, leads.ErrorCode(err))
	require.Equal(t, 1, b.count(t, "leads"))
	require.Equal(t, 2, b.count(t, "audit_log"))
	require.Equal(t, b.reps[1], b.peek(t, rot), "the failed lead's turn was given back")
}

func testRefundAfterLaterTurns(t *testing.T, b *bundle) {
	b.defaultRotation(t, 3)
	reached, release := make(chan struct{}), make(chan struct{})
	svc := b.newService(failingStore{b.store, func(n *leads.NewLead) error {
		if n.Lead.FirstName == "Doomed" {
			close(reached)
			<-release
			return errDiskFull
		}
		return nil
	}})
	ctx := context.Background()
	failed := make(chan error)
	go func() {
		_, err := svc.CreateLead(ctx, b.admin, lead("Doomed"), leads.CreateOptions{}) // takes rep1's turn
		failed <- err
	}()
	<-reached
	var got []string
	for range 2 {
		res, err := svc.CreateLead(ctx, b.admin, lead("Lead"), leads.CreateOptions{})
		require.NoError(t, err)
		got = append(got, res.Lead.AssignedTo)
	}
	close(release)
	require.ErrorIs(t, <-failed, errDiskFull)
	for range 4 {
		res, err := svc.CreateLead(ctx, b.admin, lead("Lead"), leads.CreateOptions{})
		require.NoError(t, err)
		got = append(got, res.Lead.AssignedTo)
	}
	// rep1's refunded turn comes back first; the state is then as if rep2 and
	// rep3 alone had had turns, so the cycle restarts with rep1, and every rep
	// has exactly two of the six leads.
	require.Equal(t, []string{b.reps[1], b.reps[2], b.reps[0], b.reps[0], b.reps[1], b.reps[2]}, got)
}

// concurrently runs fn n times at once and returns the results in order.
func concurrently(n int, fn func() (*leads.Result, error)) ([]*leads.Result, []error) {
	results, errs := make([]*leads.Result, n), make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = fn()
		}()
	}
	close(start)
	wg.Wait()
	return results, errs
}

func testCreateWithCredentials(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.defaultRotation(t, 2)
	secret, key, err := b.svc.CreateAPIKey(ctx, b.agent.Email, "form")
	require.NoError(t, err)
	other, _, err := b.svc.CreateAPIKey(ctx, "outsider@example.com", "nope")
	require.NoError(t, err)
	revoked, revokedKey, err := b.svc.CreateAPIKey(ctx, b.agent.Email, "old")
	require.NoError(t, err)
	require.NoError(t, b.svc.RevokeAPIKey(ctx, revokedKey.Prefix))
	invalid := leads.LeadInput{LastName: "no first name"}
	for _, tc := range []struct {
		secret, account string
		code            string
	}{
		{"", b.accountID, leads.CodeUnauthenticated},
		{"lr_unknown", b.accountID, leads.CodeUnauthenticated},
		{revoked, b.accountID, leads.CodeUnauthenticated},
		{other, b.accountID, leads.CodeForbidden},
		{secret, "no-such-account", leads.CodeForbidden},
		{secret, "\xff\x00'; --", leads.CodeForbidden}, // no account ID: refused, not a query error
	} {
		for _, in := range []leads.LeadInput{invalid, lead("Ada")} {
			_, _, err := createAs(ctx, b.svc, leads.Credentials{Secret: tc.secret, AccountID: tc.account}, in, leads.CreateOptions{})
			requireCode(t, err, tc.code)
		}
		if tc.secret != "" {
			_, err := b.svc.Authenticate(ctx, tc.secret, tc.account)
			requireCode(t, err, tc.code)
		}
	}
	_, actor, err := createAs(ctx, b.svc, leads.Credentials{Secret: secret, AccountID: b.accountID}, invalid, leads.CreateOptions{})
	requireCode(t, err, leads.CodeValidation)
	require.Equal(t, b.agent.Email, actor.Email, "the actor is known once authenticated")

	res, actor, err := createAs(ctx, b.svc, leads.Credentials{Secret: secret, AccountID: b.accountID,
		Request: &leads.RequestInfo{Method: "POST", Path: "/leads"}}, lead("Ada"), leads.CreateOptions{IdempotencyKey: "k"})
	require.NoError(t, err)
	require.Equal(t, leads.RoleAgent, actor.Role)
	require.Equal(t, key.Prefix, *res.Lead.AuditLog[0].APIKey)
	require.Equal(t, "/leads", res.Lead.AuditLog[0].RequestPath)
	require.Equal(t, b.agent.Email, res.Lead.CreatedBy)
	again, _, err := createAs(ctx, b.svc, leads.Credentials{Secret: secret, AccountID: b.accountID}, lead("Ada"), leads.CreateOptions{IdempotencyKey: "k"})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, res.Lead.ID, again.Lead.ID)
}
