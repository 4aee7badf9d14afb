package leads_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

func TestActivities(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"the assignee's first activity touches and accepts the lead", testActivityTouchesAndAccepts},
		{"activities list newest first, page by page", testActivitiesPaged},
		{"another member's activity moves lastActivityAt only", testActivityByAnotherMember},
		{"a planned activity leaves the lead as it is", testActivityPlanned},
		{"bad activity input names its field and writes nothing", testActivityValidation},
		{"a lead of another account is not found", testActivityOtherAccount},
		{"the account can turn accepting by activity off", testActivityAcceptsOff},
	})
}

func TestAccept(t *testing.T) {
	t.Parallel()
	eachEnv(t, []namedTest{
		{"the assignee accepts once; again changes nothing", testAcceptIdempotent},
		{"only the assignee accepts an assigned lead", testAcceptRefusals},
		{"a reassignment starts a new assignment to accept and touch", testAcceptResetByReassignment},
		{"accepts at once: one is written, all see it accepted", testAcceptConcurrent},
	})
}

// repActor is the i-th rep acting in the bundle's account.
func (b *bundle) repActor(i int) leads.Actor {
	return leads.Actor{AccountID: b.accountID, Email: b.reps[i], Role: leads.RoleAgent}
}

// assignedLead creates a lead assigned to rep i.
func (b *bundle) assignedLead(t *testing.T, i int) *leads.Lead {
	t.Helper()
	in := lead("Touch")
	in.AssignedTo = b.reps[i]
	return b.mustCreate(t, in, leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead
}

// events returns the events of the lead's audit log named event.
func (b *bundle) events(t *testing.T, id int64, event string) []leads.AuditEntry {
	t.Helper()
	l, err := b.svc.Lead(context.Background(), b.admin, id)
	require.NoError(t, err)
	var out []leads.AuditEntry
	for _, e := range l.AuditLog {
		if e.Event == event {
			out = append(out, e)
		}
	}
	return out
}

func (b *bundle) readLead(t *testing.T, id int64) *leads.Lead {
	t.Helper()
	l, err := b.svc.Lead(context.Background(), b.admin, id)
	require.NoError(t, err)
	return l
}

func testActivityTouchesAndAccepts(t *testing.T, b *bundle) {
	ctx := context.Background()
	l := b.assignedLead(t, 0)
	require.Nil(t, l.AcceptedAt)
	require.NotNil(t, l.AssignedAt)
	b.clock.Advance(3 * time.Minute)
	called := b.clock.Now().Add(-time.Minute)
	a, err := b.svc.AddActivity(ctx, b.repActor(0), l.ID, leads.ActivityInput{Type: leads.ActivityCall, Title: " Intro call ",
		OccurredAt: &called, Outcome: "voicemail"})
	require.NoError(t, err)
	require.NotZero(t, a.ID)
	require.Equal(t, "Intro call", a.Title)
	require.True(t, a.Completed, "completed by default")
	require.Equal(t, b.reps[0], a.CreatedBy)

	got := b.readLead(t, l.ID)
	require.Equal(t, called, *got.LastActivityAt)
	require.Equal(t, called, *got.FirstTouchAt)
	require.Equal(t, b.clock.Now(), *got.AcceptedAt, "accepted when the activity was logged")
	added := b.events(t, l.ID, leads.EventActivityAdded)
	require.Len(t, added, 1)
	require.EqualValues(t, a.ID, toInt(t, added[0].Data["activityId"]))
	accepted := b.events(t, l.ID, leads.EventLeadAccepted)
	require.Len(t, accepted, 1)
	require.Equal(t, "activity", accepted[0].Data["via"])

	// A later activity moves lastActivityAt, not the first touch nor the acceptance.
	b.clock.Advance(time.Hour)
	_, err = b.svc.AddActivity(ctx, b.repActor(0), l.ID, leads.ActivityInput{Type: leads.ActivityEmail})
	require.NoError(t, err)
	got = b.readLead(t, l.ID)
	require.Equal(t, b.clock.Now(), *got.LastActivityAt)
	require.Equal(t, called, *got.FirstTouchAt)
	require.Len(t, b.events(t, l.ID, leads.EventLeadAccepted), 1)
}

func toInt(t *testing.T, v any) int64 {
	t.Helper()
	switch n := v.(type) {
	case int64:
		return n
	case interface{ Int64() (int64, error) }:
		i, err := n.Int64()
		require.NoError(t, err)
		return i
	case float64:
		return int64(n)
	}
	t.Fatalf("not a number: %T %v", v, v)
	return 0
}

func testActivitiesPaged(t *testing.T, b *bundle) {
	ctx := context.Background()
	l := b.assignedLead(t, 0)
	base := b.clock.Now().Add(-time.Hour)
	var ids []int64
	for i, typ := range []leads.ActivityType{leads.ActivityNote, leads.ActivitySMS, leads.ActivityMeeting} {
		at := base.Add(time.Duration(i) * time.Minute)
		a, err := b.svc.AddActivity(ctx, b.agent, l.ID, leads.ActivityInput{Type: typ, OccurredAt: &at})
		require.NoError(t, err)
		ids = append(ids, a.ID)
	}
	page, err := b.svc.Activities(ctx, b.agent, l.ID, leads.ActivityListOptions{Limit: 2})
	require.NoError(t, err)
	require.Len(t, page.Data, 2)
	require.Equal(t, []int64{ids[2], ids[1]}, []int64{page.Data[0].ID, page.Data[1].ID}, "newest first")
	require.NotNil(t, page.NextCursor)
	page, err = b.svc.Activities(ctx, b.agent, l.ID, leads.ActivityListOptions{Limit: 2, Cursor: *page.NextCursor})
	require.NoError(t, err)
	require.Len(t, page.Data, 1)
	require.Equal(t, ids[0], page.Data[0].ID)
	require.Nil(t, page.NextCursor)

	_, err = b.svc.Activities(ctx, b.agent, l.ID, leads.ActivityListOptions{Limit: leads.MaxPageSize + 1})
	requireField(t, err, "limit")
	_, err = b.svc.Activities(ctx, b.agent, l.ID, leads.ActivityListOptions{Cursor: "nonsense"})
	requireField(t, err, "cursor")
	// A cursor of the leads listing is not one of activities.
	leadsPage, err := b.svc.ListLeads(ctx, b.agent, leads.ListOptions{Limit: 1})
	require.NoError(t, err)
	if leadsPage.NextCursor != nil {
		_, err = b.svc.Activities(ctx, b.agent, l.ID, leads.ActivityListOptions{Cursor: *leadsPage.NextCursor})
		requireField(t, err, "cursor")
	}

	none := b.assignedLead(t, 1)
	page, err = b.svc.Activities(ctx, b.agent, none.ID, leads.ActivityListOptions{})
	require.NoError(t, err)
	require.Empty(t, page.Data)
}

func testActivityByAnotherMember(t *testing.T, b *bundle) {
	l := b.assignedLead(t, 0)
	_, err := b.svc.AddActivity(context.Background(), b.agent, l.ID, leads.ActivityInput{Type: leads.ActivityCall})
	require.NoError(t, err)
	got := b.readLead(t, l.ID)
	require.Equal(t, b.clock.Now(), *got.LastActivityAt)
	require.Nil(t, got.FirstTouchAt, "only the assignee touches")
	require.Nil(t, got.AcceptedAt)
}

func testActivityPlanned(t *testing.T, b *bundle) {
	l := b.assignedLead(t, 0)
	b.clock.Advance(time.Minute)
	tomorrow := b.clock.Now().Add(24 * time.Hour)
	planned := false
	a, err := b.svc.AddActivity(context.Background(), b.repActor(0), l.ID, leads.ActivityInput{Type: leads.ActivityMeeting,
		OccurredAt: &tomorrow, Completed: &planned, Title: "Demo"})
	require.NoError(t, err)
	require.False(t, a.Completed)
	got := b.readLead(t, l.ID)
	require.Equal(t, l.UpdatedAt, got.UpdatedAt, "the lead's version stays")
	require.Nil(t, got.LastActivityAt)
	require.Nil(t, got.AcceptedAt)
	require.Len(t, b.events(t, l.ID, leads.EventActivityAdded), 1)
}

func testActivityValidation(t *testing.T, b *bundle) {
	ctx := context.Background()
	l := b.assignedLead(t, 0)
	now := b.clock.Now()
	soon, later, farAhead := now.Add(time.Minute), now.Add(time.Hour), now.Add(400*24*time.Hour)
	yearZero := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)
	planned := false
	for _, tc := range []struct {
		in    leads.ActivityInput
		field string
	}{
		{leads.ActivityInput{}, "type"},
		{leads.ActivityInput{Type: "fax"}, "type"},
		{leads.ActivityInput{Type: leads.ActivityCall, Title: strings.Repeat("t", leads.MaxShortTextLength+1)}, "title"},
		{leads.ActivityInput{Type: leads.ActivityCall, Note: strings.Repeat("n", leads.MaxNotesLength+1)}, "note"},
		{leads.ActivityInput{Type: leads.ActivityCall, Note: "a\x00b"}, "note"},
		{leads.ActivityInput{Type: leads.ActivityCall, Outcome: strings.Repeat("o", leads.MaxShortTextLength+1)}, "outcome"},
		{leads.ActivityInput{Type: leads.ActivityCall, OccurredAt: &later}, "occurredAt"},
		{leads.ActivityInput{Type: leads.ActivityMeeting, OccurredAt: &farAhead, Completed: &planned}, "occurredAt"},
		{leads.ActivityInput{Type: leads.ActivityCall, OccurredAt: &yearZero}, "occurredAt"},
	} {
		_, err := b.svc.AddActivity(ctx, b.repActor(0), l.ID, tc.in)
		requireField(t, err, tc.field)
	}
	// At the bounds: accepted.
	_, err := b.svc.AddActivity(ctx, b.repActor(0), l.ID, leads.ActivityInput{Type: leads.ActivityCall, OccurredAt: &soon,
		Title: strings.Repeat("t", leads.MaxShortTextLength), Note: strings.Repeat("n", leads.MaxNotesLength)})
	require.NoError(t, err)
	page, err := b.svc.Activities(ctx, b.agent, l.ID, leads.ActivityListOptions{})
	require.NoError(t, err)
	require.Len(t, page.Data, 1, "no refused activity was stored")
	require.Len(t, b.events(t, l.ID, leads.EventActivityAdded), 1)
}

func testActivityOtherAccount(t *testing.T, b *bundle) {
	ctx := context.Background()
	other := newBundle(t, b.env)
	theirs := other.assignedLead(t, 0)
	_, err := b.svc.AddActivity(ctx, b.admin, theirs.ID, leads.ActivityInput{Type: leads.ActivityNote})
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.Activities(ctx, b.admin, theirs.ID, leads.ActivityListOptions{})
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.AcceptLead(ctx, b.repActor(0), theirs.ID)
	requireCode(t, err, leads.CodeNotFound)
	_, err = b.svc.Activities(ctx, b.admin, 1<<40, leads.ActivityListOptions{})
	requireCode(t, err, leads.CodeNotFound)
}

func testActivityAcceptsOff(t *testing.T, b *bundle) {
	ctx := context.Background()
	off := false
	acct, err := b.svc.UpdateAccount(ctx, b.admin, leads.AccountPatch{ActivityAccepts: &off})
	require.NoError(t, err)
	require.False(t, *acct.ActivityAccepts)
	l := b.assignedLead(t, 0)
	_, err = b.svc.AddActivity(ctx, b.repActor(0), l.ID, leads.ActivityInput{Type: leads.ActivityCall})
	require.NoError(t, err)
	got := b.readLead(t, l.ID)
	require.NotNil(t, got.FirstTouchAt, "still a touch")
	require.Nil(t, got.AcceptedAt, "but no acceptance")
	got, err = b.svc.AcceptLead(ctx, b.repActor(0), l.ID)
	require.NoError(t, err)
	require.NotNil(t, got.AcceptedAt)
}

func testAcceptIdempotent(t *testing.T, b *bundle) {
	ctx := context.Background()
	l := b.assignedLead(t, 0)
	b.clock.Advance(2 * time.Minute)
	first, err := b.svc.AcceptLead(ctx, b.repActor(0), l.ID)
	require.NoError(t, err)
	require.Equal(t, b.clock.Now(), *first.AcceptedAt)
	b.clock.Advance(time.Minute)
	again, err := b.svc.AcceptLead(ctx, leads.Actor{AccountID: b.accountID, Email: strings.ToUpper(b.reps[0]), Role: leads.RoleAgent}, l.ID)
	require.NoError(t, err)
	require.Equal(t, *first.AcceptedAt, *again.AcceptedAt)
	require.Equal(t, first.UpdatedAt, again.UpdatedAt, "nothing written")
	entries := b.events(t, l.ID, leads.EventLeadAccepted)
	require.Len(t, entries, 1)
	require.Equal(t, "accept", entries[0].Data["via"])
	require.Equal(t, b.reps[0], entries[0].Data["assignee"])
	// A later first activity accepts nothing more.
	_, err = b.svc.AddActivity(ctx, b.repActor(0), l.ID, leads.ActivityInput{Type: leads.ActivityCall})
	require.NoError(t, err)
	require.Len(t, b.events(t, l.ID, leads.EventLeadAccepted), 1)
	require.Equal(t, *first.AcceptedAt, *b.readLead(t, l.ID).AcceptedAt)
}

func testAcceptRefusals(t *testing.T, b *bundle) {
	ctx := context.Background()
	l := b.assignedLead(t, 0)
	for _, actor := range []leads.Actor{b.repActor(1), b.agent, b.admin} {
		_, err := b.svc.AcceptLead(ctx, actor, l.ID)
		requireCode(t, err, leads.CodeForbidden)
	}
	unassigned := b.mustCreate(t, lead("Nobody"), leads.CreateOptions{SkipTeamAndSourceRequirement: true}).Lead
	require.Empty(t, unassigned.AssignedTo)
	_, err := b.svc.AcceptLead(ctx, b.repActor(0), unassigned.ID)
	requireCode(t, err, leads.CodeLeadNotAssigned)
	require.Nil(t, b.readLead(t, l.ID).AcceptedAt)
	require.Empty(t, b.events(t, l.ID, leads.EventLeadAccepted))
}

func testAcceptResetByReassignment(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.defaultRotation(t, 3)
	l := b.assignedLead(t, 0)
	_, err := b.svc.AddActivity(ctx, b.repActor(0), l.ID, leads.ActivityInput{Type: leads.ActivityCall})
	require.NoError(t, err)
	require.NotNil(t, b.readLead(t, l.ID).AcceptedAt)

	// Reassigned by hand: the new assignee has neither accepted nor touched it.
	b.clock.Advance(time.Minute)
	moved, err := b.svc.UpdateLead(ctx, b.admin, l.ID, leads.LeadPatch{"assignedTo": b.reps[1]}, leads.UpdateOptions{})
	require.NoError(t, err)
	require.Nil(t, moved.AcceptedAt)
	require.Nil(t, moved.FirstTouchAt)
	require.NotNil(t, moved.LastActivityAt, "the lead's activity stays")
	require.Equal(t, b.clock.Now(), *moved.AssignedAt)
	// The former assignee's activity no longer touches; the new one's does.
	_, err = b.svc.AddActivity(ctx, b.repActor(0), l.ID, leads.ActivityInput{Type: leads.ActivityNote})
	require.NoError(t, err)
	require.Nil(t, b.readLead(t, l.ID).AcceptedAt)
	before := b.clock.Now().Add(-time.Hour)
	_, err = b.svc.AddActivity(ctx, b.repActor(1), l.ID, leads.ActivityInput{Type: leads.ActivityCall, OccurredAt: &before})
	require.NoError(t, err)
	require.Nil(t, b.readLead(t, l.ID).FirstTouchAt, "an activity from before the assignment is no touch of it")
	_, err = b.svc.AcceptLead(ctx, b.repActor(1), l.ID)
	require.NoError(t, err)

	// Reassigned by a rotation turn: the same again.
	b.clock.Advance(time.Minute)
	res, err := b.svc.AssignLead(ctx, b.admin, l.ID, leads.AssignOptions{})
	require.NoError(t, err)
	require.Nil(t, res.Lead.AcceptedAt)
	require.Nil(t, res.Lead.FirstTouchAt)
	_, err = b.svc.AcceptLead(ctx, b.repActor(1), l.ID)
	if res.Lead.AssignedTo != b.reps[1] {
		requireCode(t, err, leads.CodeForbidden)
	}
}

func testAcceptConcurrent(t *testing.T, b *bundle) {
	ctx := context.Background()
	l := b.assignedLead(t, 0)
	const n = 16
	var wg sync.WaitGroup
	got := make([]*leads.Lead, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				got[i], errs[i] = b.svc.AcceptLead(ctx, b.repActor(0), l.ID)
				return
			}
			_, errs[i] = b.svc.AddActivity(ctx, b.repActor(0), l.ID, leads.ActivityInput{Type: leads.ActivityCall})
		}()
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
	}
	stored := b.readLead(t, l.ID)
	require.NotNil(t, stored.AcceptedAt)
	for i := 0; i < n; i += 2 {
		require.Equal(t, *stored.AcceptedAt, *got[i].AcceptedAt, "every accept sees the one acceptance")
	}
	require.Len(t, b.events(t, l.ID, leads.EventLeadAccepted), 1, "one winner")
	require.Len(t, b.events(t, l.ID, leads.EventActivityAdded), n/2)
}
