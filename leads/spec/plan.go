package spec

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// Kind says what applying a Spec does to one object.
type Kind string

// The kinds of plan items.
const (
	// Create: the object does not exist and will be created.
	Create Kind = "create"
	// Update: the object exists and some of its fields will change.
	Update Kind = "update"
	// Unchanged: the object exists as the Spec declares it.
	Unchanged Kind = "unchanged"
	// Kept: the object exists, the Spec does not name it, and it stays.
	Kept Kind = "kept-not-in-file"
)

// symbol is the mark that starts a plan line: + create, ~ update,
// = unchanged, . kept.
func (k Kind) symbol() string {
	switch k {
	case Create:
		return "+"
	case Update:
		return "~"
	case Unchanged:
		return "="
	}
	return "."
}

// Item is one object of a plan and what applying does to it.
type Item struct {
	Kind Kind `json:"kind"`
	// Object names the object, e.g. `lead source "Website" of team "Inbound"`.
	Object string `json:"object"`
	// Details are, for an update, the fields that change ("name: \"a\" ->
	// \"b\""), and for a creation the settings that are not defaults.
	Details []string `json:"details,omitempty"`

	// perm is what the actor must be allowed to carry the item out.
	perm leads.Permission
	// apply carries the item out; nil for unchanged and kept items.
	apply func(ctx context.Context, run *applyRun) error
}

// String returns the item as one line of a plan, e.g.
// `~ rotation "Inbound reps" of team "Inbound": fallbackAssignee: "" -> "a@b.com"`.
func (it Item) String() string {
	line := it.Kind.symbol() + " " + it.Object
	if len(it.Details) > 0 {
		line += ": " + strings.Join(it.Details, "; ")
	}
	if it.Kind == Kept {
		line += " (not in the file: kept)"
	}
	return line
}

// Plan is what applying a Spec to an account does, item by item, in
// the order Apply carries the changes out.
type Plan struct {
	AccountID string `json:"accountId"`
	// Version is the configuration version the plan was made from.
	Version int64  `json:"version"`
	Items   []Item `json:"items"`
	// Applied counts the changes Apply carried out: 0 for a plan or a dry
	// run, fewer than Changes when Apply stopped at an error.
	Applied int `json:"applied"`

	// teamIDs maps the names of the account's existing teams to their IDs.
	teamIDs map[string]int64
	// calendars maps the IDs of the account's holiday calendars to their names.
	calendars map[int64]string
}

// Changes returns the number of items that create or update something.
func (p *Plan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.apply != nil {
			n++
		}
	}
	return n
}

// Write prints the plan to w, one line per item.
func (p *Plan) Write(w io.Writer) error {
	for _, it := range p.Items {
		if _, err := fmt.Fprintln(w, it.String()); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
	}
	return nil
}

// String returns the plan's lines.
func (p *Plan) String() string {
	var b strings.Builder
	_ = p.Write(&b)
	return b.String()
}

// applyRun is the state of one Apply: who acts, and the IDs of the teams
// known so far (existing ones, then those created), and of the rotations
// (by their plan item's object) and routing rules (by lower-cased name)
// created.
type applyRun struct {
	svc         Service
	actor       leads.Actor
	teamIDs     map[string]int64
	rotationIDs map[string]int64
	ruleIDs     map[string]int64
	// calendarIDs are the holiday calendars by name, the run's own too.
	calendarIDs map[string]int64
}

// Plan compares spec with actor's account's configuration and returns the
// changes applying it would make, in order; managers and admins only
// (FORBIDDEN otherwise). It writes nothing. VALIDATION_ERROR names the
// field of the spec at fault (e.g. teams[0].rotation.members[1].user);
// MEMBER_NOT_IN_ACCOUNT when a rotation names a user who is neither a
// member nor in spec's members; LAST_ADMIN when spec's members would leave
// the account without an admin. A routing rule's rotation or team that no
// rotation or team of the account or of spec has the name of, or a
// rotation name several rotations have, is a VALIDATION_ERROR naming it
// (routingRules[2].action.rotation); so is a pool of spec whose name several
// pools of the account have.
func (spec Spec) Plan(ctx context.Context, svc Service, actor leads.Actor) (*Plan, error) {
	if err := actor.Require(leads.PermWriteConfig); err != nil {
		return nil, err
	}
	want, err := spec.normalized(actor.AccountID)
	if err != nil {
		return nil, err
	}
	cfg, err := svc.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	if err := want.checkUsers(cfg); err != nil {
		return nil, err
	}
	p := newPlanner(cfg, actor.AccountID)
	p.planAccount(want.DuplicatePolicy)
	p.planOpenStatuses(want.OpenStatuses)
	p.planReturning(want.Returning)
	p.planMembers(want.Members)
	if err := p.planCalendars(want.HolidayCalendars, want.Members); err != nil {
		return nil, err
	}
	for _, t := range want.Teams {
		p.planTeam(t)
	}
	p.planKeptTeams(want.Teams)
	p.planDefaultRotation(want.DefaultRotation)
	if err := p.planPools(want.Rotations); err != nil {
		return nil, err
	}
	if err := p.planRules(want.RoutingRules, want.Teams); err != nil {
		return nil, err
	}
	return p.plan, nil
}

// Apply plans spec (see Plan) and, unless dryRun, carries out its creations
// and updates in an order that satisfies their dependencies: the account's
// settings, members, then each team, its lead sources and its rotation, then
// the default rotation, the pool rotations, the routing rules and their
// order. It never deletes anything.
//
// Apply is not one transaction: each change is its own, audited as if made
// by hand, and the configuration may change meanwhile. When a change fails,
// Apply stops and returns the plan (Applied says how far it got) with the
// error; the changes made stay, and applying the same spec again carries
// out the rest, since each item is planned from the state it finds.
//
// Before writing anything, Apply checks that actor may make every change:
// members and account settings need an admin (FORBIDDEN otherwise).
func (spec Spec) Apply(ctx context.Context, svc Service, actor leads.Actor, dryRun bool) (*Plan, error) {
	plan, err := spec.Plan(ctx, svc, actor)
	if err != nil || dryRun {
		return plan, err
	}
	if err := plan.permitted(actor); err != nil {
		return plan, err
	}
	run := &applyRun{svc: svc, actor: actor, teamIDs: maps.Clone(plan.teamIDs), rotationIDs: map[string]int64{}, ruleIDs: map[string]int64{},
		calendarIDs: map[string]int64{}}
	for id, c := range plan.calendars {
		run.calendarIDs[c] = id
	}
	for _, it := range plan.Items {
		if it.apply == nil {
			continue
		}
		if err := it.apply(ctx, run); err != nil {
			return plan, fmt.Errorf("apply %s: %w", it.Object, err)
		}
		plan.Applied++
	}
	return plan, nil
}

// permitted checks that actor may carry out every change of the plan, so
// that a change it may not make does not stop Apply halfway.
func (p *Plan) permitted(actor leads.Actor) error {
	for _, it := range p.Items {
		if it.apply == nil {
			continue
		}
		if err := actor.Require(it.perm); err != nil {
			return fmt.Errorf("apply %s: %w", it.Object, err)
		}
	}
	return nil
}

// planner builds a plan from an account's configuration.
type planner struct {
	cfg  *leads.AccountConfig
	plan *Plan
	// rotations are the account's rotations as the plan so far leaves
	// them, for routing rules to name.
	rotations []rotationRef
}

func newPlanner(cfg *leads.AccountConfig, accountID string) *planner {
	ids := make(map[string]int64, len(cfg.Teams))
	for _, t := range cfg.Teams {
		ids[t.Name] = t.ID
	}
	var rotations []rotationRef
	for _, r := range cfg.Rotations() {
		rotations = append(rotations, rotationRef{id: r.ID, name: r.Name})
	}
	return &planner{cfg: cfg, plan: &Plan{AccountID: accountID, Version: cfg.Version, Items: []Item{}, teamIDs: ids}, rotations: rotations}
}

func (p *planner) add(it Item) { p.plan.Items = append(p.plan.Items, it) }

func (p *planner) planAccount(policy leads.DuplicatePolicy) {
	if policy == "" {
		return
	}
	it := Item{Kind: Unchanged, Object: "account setting duplicatePolicy", perm: leads.PermManageAccount}
	if cur := p.cfg.Account.DuplicatePolicy; cur != policy {
		it.Kind, it.Details = Update, []string{fmt.Sprintf("%s -> %s", cur, policy)}
		it.apply = func(ctx context.Context, run *applyRun) error {
			_, err := run.svc.UpdateAccount(ctx, run.actor, leads.AccountPatch{DuplicatePolicy: &policy})
			return err
		}
	}
	p.add(it)
}

func (p *planner) planOpenStatuses(open []leads.Status) {
	if len(open) == 0 {
		return
	}
	it := Item{Kind: Unchanged, Object: "account setting openStatuses", perm: leads.PermManageAccount}
	if cur := p.cfg.Account.OpenStatuses; !slices.Equal(cur, open) {
		it.Kind, it.Details = Update, []string{fmt.Sprintf("%v -> %v", cur, open)}
		it.apply = func(ctx context.Context, run *applyRun) error {
			_, err := run.svc.UpdateAccount(ctx, run.actor, leads.AccountPatch{OpenStatuses: &open})
			return err
		}
	}
	p.add(it)
}

func (p *planner) planReturning(want *leads.ReturningPolicy) {
	if want == nil {
		return
	}
	text := func(r leads.ReturningPolicy) string {
		return fmt.Sprintf("matchBy %v, windowDays %d, ownerGone %q", r.MatchBy, r.WindowDays, r.OwnerGone)
	}
	it := Item{Kind: Unchanged, Object: "account setting returning", perm: leads.PermManageAccount}
	if cur := p.cfg.Account.Returning; text(cur) != text(*want) {
		policy := *want
		it.Kind, it.Details = Update, []string{text(cur) + " -> " + text(policy)}
		it.apply = func(ctx context.Context, run *applyRun) error {
			_, err := run.svc.UpdateAccount(ctx, run.actor, leads.AccountPatch{Returning: &policy})
			return err
		}
	}
	p.add(it)
}

func (p *planner) planMembers(members []Member) {
	for _, m := range members {
		it := Item{Kind: Unchanged, Object: "member " + m.Email, perm: leads.PermManageAccount}
		switch cur, exists := p.cfg.Members[m.Email]; {
		case !exists:
			it.Kind, it.Details = Create, []string{"role: " + string(m.Role)}
		case cur != m.Role:
			it.Kind, it.Details = Update, []string{fmt.Sprintf("role: %s -> %s", cur, m.Role)}
		}
		if it.Kind != Unchanged {
			it.apply = func(ctx context.Context, run *applyRun) error {
				_, err := run.svc.PutMember(ctx, run.actor, leads.Member{Email: m.Email, Role: m.Role})
				return err
			}
		}
		p.add(it)
		if m.Schedule != nil {
			p.planSchedule(m.Email, m.Schedule)
		}
		p.planTimeOff(m.Email, m.TimeOff)
	}
}

// planTimeOff plans the periods of time off email must have: those the
// member has not (by start and end) are added; the member's others stay.
func (p *planner) planTimeOff(email string, want []TimeOff) {
	var have []leads.TimeOff
	if a := p.cfg.Availability[email]; a != nil {
		have = a.TimeOff
	}
	for _, off := range want {
		it := Item{Kind: Unchanged, Object: fmt.Sprintf("time off of member %s from %s to %s", email,
			off.Start.Format(time.RFC3339), off.End.Format(time.RFC3339)), perm: leads.PermWriteConfig}
		if !slices.ContainsFunc(have, func(h leads.TimeOff) bool { return h.Start.Equal(off.Start) && h.End.Equal(off.End) }) {
			it.Kind = Create
			if off.Note != "" {
				it.Details = []string{"note: " + strconv.Quote(off.Note)}
			}
			it.apply = func(ctx context.Context, run *applyRun) error {
				_, err := run.svc.AddTimeOff(ctx, run.actor, email, leads.TimeOff{Start: off.Start, End: off.End, Note: off.Note})
				return err
			}
		}
		p.add(it)
	}
}

// planCalendars plans the holiday calendars (by name: created, or their
// time zone and dates updated), then which calendar each member that
// names one follows. A member's calendar that is neither the file's nor
// the account's is VALIDATION_ERROR naming members[i].holidayCalendar.
func (p *planner) planCalendars(cals []HolidayCalendar, members []Member) error {
	byName := make(map[string]*leads.HolidayCalendar, len(p.cfg.HolidayCalendars))
	p.plan.calendars = make(map[int64]string, len(p.cfg.HolidayCalendars))
	for id, c := range p.cfg.HolidayCalendars {
		byName[c.Name] = c
		p.plan.calendars[id] = c.Name
	}
	declared := make(map[string]bool, len(cals))
	for _, want := range cals {
		declared[want.Name] = true
		it := Item{Kind: Unchanged, Object: fmt.Sprintf("holiday calendar %q", want.Name), perm: leads.PermWriteConfig}
		text := want.Timezone + ": " + strings.Join(want.Dates, ", ")
		cur := byName[want.Name]
		switch {
		case cur == nil:
			it.Kind, it.Details = Create, []string{text}
			it.apply = func(ctx context.Context, run *applyRun) error {
				c, err := run.svc.CreateHolidayCalendar(ctx, run.actor, leads.HolidayCalendar{Name: want.Name, Timezone: want.Timezone, Dates: want.Dates})
				if err == nil {
					run.calendarIDs[c.Name] = c.ID
				}
				return err
			}
		case cur.Timezone+": "+strings.Join(cur.Dates, ", ") != text:
			it.Kind, it.Details = Update, []string{cur.Timezone + ": " + strings.Join(cur.Dates, ", ") + " -> " + text}
			id := cur.ID
			it.apply = func(ctx context.Context, run *applyRun) error {
				_, err := run.svc.UpdateHolidayCalendar(ctx, run.actor, id, func(c *leads.HolidayCalendar) error {
					c.Timezone, c.Dates = want.Timezone, slices.Clone(want.Dates)
					return nil
				})
				return err
			}
		}
		p.add(it)
	}
	for i, m := range members {
		if m.HolidayCalendar == "" {
			continue
		}
		if byName[m.HolidayCalendar] == nil && !declared[m.HolidayCalendar] {
			return leads.ValidationError(leads.FieldError{Field: fmt.Sprintf("members[%d].holidayCalendar", i), Value: m.HolidayCalendar,
				Message: "Is not a holiday calendar of this account or of the file"})
		}
		it := Item{Kind: Unchanged, Object: "holiday calendar of member " + m.Email, perm: leads.PermWriteConfig}
		cur := ""
		if a := p.cfg.Availability[m.Email]; a != nil && a.HolidayCalendarID != 0 {
			cur = p.plan.calendars[a.HolidayCalendarID]
		}
		if cur != m.HolidayCalendar {
			it.Kind, it.Details = Update, []string{fmt.Sprintf("%q -> %q", cur, m.HolidayCalendar)}
			if cur == "" {
				it.Kind, it.Details = Create, []string{fmt.Sprintf("%q", m.HolidayCalendar)}
			}
			email, name := m.Email, m.HolidayCalendar
			it.apply = func(ctx context.Context, run *applyRun) error {
				_, err := run.svc.SetMemberCalendar(ctx, run.actor, email, run.calendarIDs[name])
				return err
			}
		}
		p.add(it)
	}
	return nil
}

// planSchedule plans member email's working hours to be want.
func (p *planner) planSchedule(email string, want *leads.Schedule) {
	it := Item{Kind: Unchanged, Object: "working hours of member " + email, perm: leads.PermWriteConfig}
	var cur *leads.Schedule
	if a := p.cfg.Availability[email]; a != nil {
		cur = a.Schedule
	}
	switch was, now := scheduleText(cur), scheduleText(want); {
	case cur == nil:
		it.Kind, it.Details = Create, []string{now}
	case was != now:
		it.Kind, it.Details = Update, []string{was + " -> " + now}
	}
	if it.Kind != Unchanged {
		it.apply = func(ctx context.Context, run *applyRun) error {
			_, err := run.svc.SetSchedule(ctx, run.actor, email, want)
			return err
		}
	}
	p.add(it)
}

// scheduleText is a schedule as a plan writes it (see leads.Schedule.String).
func scheduleText(s *leads.Schedule) string {
	if s == nil {
		return "none"
	}
	return s.String()
}

// planTeam plans the team, its lead sources and its rotation.
func (p *planner) planTeam(t Team) {
	teamID, exists := p.plan.teamIDs[t.Name]
	it := Item{Kind: Unchanged, Object: fmt.Sprintf("team %q", t.Name), perm: leads.PermWriteConfig}
	if !exists {
		it.Kind = Create
		it.apply = func(ctx context.Context, run *applyRun) error {
			created, err := run.svc.CreateTeam(ctx, run.actor, leads.Team{Name: t.Name})
			if err != nil {
				return err
			}
			run.teamIDs[t.Name] = created.ID
			return nil
		}
	}
	p.add(it)
	p.planSources(t, teamID)
	of := fmt.Sprintf(" of team %q", t.Name)
	cur := p.cfg.TeamRotations[teamID] // none for a team yet to be created (ID 0)
	switch {
	case t.Rotation != nil:
		p.planRotation(*t.Rotation, cur, fmt.Sprintf("rotation %q", t.Rotation.Name)+of, func(run *applyRun) leads.Rotation {
			return leads.Rotation{TeamID: run.teamIDs[t.Name]}
		})
	case cur != nil:
		p.add(Item{Kind: Kept, Object: fmt.Sprintf("rotation %q", cur.Name) + of})
	}
}

// planSources plans the lead sources of team t, whose ID is teamID (0 when
// it is yet to be created): the named ones, then the others it has, kept.
func (p *planner) planSources(t Team, teamID int64) {
	have := map[string]bool{}
	var others []string
	for _, src := range p.cfg.LeadSources {
		if teamID != 0 && src.TeamID == teamID {
			have[src.Name] = true
			if !slices.Contains(t.LeadSources, src.Name) {
				others = append(others, src.Name)
			}
		}
	}
	for _, name := range t.LeadSources {
		it := Item{Kind: Unchanged, Object: fmt.Sprintf("lead source %q of team %q", name, t.Name), perm: leads.PermWriteConfig}
		if !have[name] {
			it.Kind = Create
			it.apply = func(ctx context.Context, run *applyRun) error {
				_, err := run.svc.CreateLeadSource(ctx, run.actor, leads.LeadSource{TeamID: run.teamIDs[t.Name], Name: name})
				return err
			}
		}
		p.add(it)
	}
	slices.Sort(others)
	for _, name := range others {
		p.add(Item{Kind: Kept, Object: fmt.Sprintf("lead source %q of team %q", name, t.Name)})
	}
}

// planKeptTeams lists the account's teams that the spec does not name.
func (p *planner) planKeptTeams(named []Team) {
	var kept []*leads.Team
	for _, t := range p.cfg.Teams {
		if !slices.ContainsFunc(named, func(ts Team) bool { return ts.Name == t.Name }) {
			kept = append(kept, t)
		}
	}
	slices.SortFunc(kept, func(a, b *leads.Team) int { return cmp.Compare(a.Name, b.Name) })
	for _, t := range kept {
		p.add(Item{Kind: Kept, Object: fmt.Sprintf("team %q", t.Name)})
	}
}

func (p *planner) planDefaultRotation(want *Rotation) {
	cur := p.cfg.DefaultRotation
	switch {
	case want != nil:
		p.planRotation(*want, cur, fmt.Sprintf("default rotation %q", want.Name), func(*applyRun) leads.Rotation {
			return leads.Rotation{Default: true}
		})
	case cur != nil:
		p.add(Item{Kind: Kept, Object: fmt.Sprintf("default rotation %q", cur.Name)})
	}
}

// planPools plans the pool rotations of the file, found by name among the
// account's pools, then lists the account's other pools, kept.
// VALIDATION_ERROR (rotations[i].name) when several pools have the name.
func (p *planner) planPools(pools []Rotation) error {
	byName := make(map[string][]*leads.Rotation, len(p.cfg.PoolRotations))
	for _, r := range p.cfg.PoolRotations {
		byName[r.Name] = append(byName[r.Name], r)
	}
	for i, want := range pools {
		var cur *leads.Rotation
		switch have := byName[want.Name]; len(have) {
		case 0:
		case 1:
			cur = have[0]
		default:
			return leads.ValidationError(leads.FieldError{Field: fmt.Sprintf("rotations[%d].name", i), Value: want.Name,
				Message: fmt.Sprintf("Names %d pool rotations of this account; give each a name of its own first", len(have))})
		}
		p.planRotation(want, cur, fmt.Sprintf("pool rotation %q", want.Name), func(*applyRun) leads.Rotation {
			return leads.Rotation{} // neither a team's nor the default: a pool
		})
	}
	var kept []*leads.Rotation
	for _, r := range p.cfg.PoolRotations {
		if !slices.ContainsFunc(pools, func(want Rotation) bool { return want.Name == r.Name }) {
			kept = append(kept, r)
		}
	}
	slices.SortFunc(kept, func(a, b *leads.Rotation) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	for _, r := range kept {
		p.add(Item{Kind: Kept, Object: fmt.Sprintf("pool rotation %q", r.Name)})
	}
	return nil
}

// planRotation plans a rotation from want: created when cur is nil, else
// updated when they differ. owner says, at apply time, whose rotation it is.
// Routing rules may name the rotation by want's name.
func (p *planner) planRotation(want Rotation, cur *leads.Rotation, object string, owner func(run *applyRun) leads.Rotation) {
	p.nameRotation(cur, object, want.Name)
	it := Item{Kind: Unchanged, Object: object, perm: leads.PermWriteConfig}
	if cur == nil {
		it.Kind, it.Details = Create, rotationSettings(want)
		it.apply = func(ctx context.Context, run *applyRun) error {
			created, err := run.svc.CreateRotation(ctx, run.actor, want.rotation(owner(run)))
			if err != nil {
				return err
			}
			run.rotationIDs[object] = created.ID
			return nil
		}
	} else if diff := rotationDiff(cur, want); len(diff) > 0 {
		it.Kind, it.Details = Update, diff
		id, teamID, isDefault := cur.ID, cur.TeamID, cur.Default
		it.apply = func(ctx context.Context, run *applyRun) error {
			_, err := run.svc.ReplaceRotation(ctx, run.actor, want.rotation(leads.Rotation{ID: id, TeamID: teamID, Default: isDefault}))
			return err
		}
	}
	p.add(it)
}

// nameRotation records the name the plan gives a rotation: cur's, or the
// one of object when the plan creates it (cur nil).
func (p *planner) nameRotation(cur *leads.Rotation, object, name string) {
	if cur == nil {
		p.rotations = append(p.rotations, rotationRef{object: object, name: name})
		return
	}
	if i := slices.IndexFunc(p.rotations, func(ref rotationRef) bool { return ref.id == cur.ID }); i >= 0 {
		p.rotations[i].name = name
	}
}

// rotationSettings describes a rotation to create: its members with their
// settings, and the settings that are not defaults.
func rotationSettings(r Rotation) []string {
	members := make([]string, len(r.Members))
	for i, m := range r.Members {
		members[i] = m.User
		if s := memberSettings(m); s != "" {
			members[i] += " (" + s + ")"
		}
	}
	out := []string{"members: [" + strings.Join(members, ", ") + "]"}
	if r.FallbackAssignee != "" {
		out = append(out, fmt.Sprintf("fallbackAssignee: %q", r.FallbackAssignee))
	}
	if r.WhenNobodyEligible != "" {
		out = append(out, fmt.Sprintf("whenNobodyEligible: %q", r.WhenNobodyEligible))
	}
	if r.SLA != nil {
		out = append(out, "sla: "+slaText(r.SLA))
	}
	if r.Timezone != "UTC" {
		out = append(out, fmt.Sprintf("timezone: %q", r.Timezone))
	}
	return out
}

// slaText describes an SLA as a plan writes it: "acceptWithin 5m0s, clock
// wall, maxReassignments 2, whenExhausted keep" (and ", whenNobodyAvailable
// wait" when it waits), or "none".
func slaText(sla *leads.SLA) string {
	if sla == nil {
		return "none"
	}
	text := fmt.Sprintf("acceptWithin %s, clock %s, maxReassignments %d, whenExhausted %s",
		sla.AcceptWithin, sla.Clock, sla.MaxReassignments, sla.WhenExhausted)
	if sla.WhenNobodyAvailable == leads.SLAWait {
		text += ", whenNobodyAvailable wait" // exhaust, the default, is not said
	}
	return text
}

// memberSettings describes a member's settings that are not defaults, e.g.
// "weight 2, paused, dailyCap 10".
func memberSettings(m leads.RotationMember) string {
	var out []string
	if m.Weight != 1 {
		out = append(out, fmt.Sprintf("weight %d", m.Weight))
	}
	if m.Paused {
		out = append(out, "paused")
	}
	if m.DailyCap > 0 {
		out = append(out, fmt.Sprintf("dailyCap %d", m.DailyCap))
	}
	if m.MaxOpenLeads > 0 {
		out = append(out, fmt.Sprintf("maxOpenLeads %d", m.MaxOpenLeads))
	}
	return strings.Join(out, ", ")
}

// rotationDiff describes what changes from cur to want, field by field and
// member by member; nothing when they agree.
func rotationDiff(cur *leads.Rotation, want Rotation) []string {
	out := fieldDiffs(
		quoted("name", cur.Name, want.Name),
		quoted("fallbackAssignee", cur.FallbackAssignee, want.FallbackAssignee),
		quoted("whenNobodyEligible", cur.WhenNobodyEligible, want.WhenNobodyEligible),
		fieldChange{"sla", slaText(cur.SLA), slaText(want.SLA)},
		quoted("timezone", cur.Timezone, want.Timezone),
		fieldChange{"members", fmt.Sprint(memberUsers(cur.Members)), fmt.Sprint(memberUsers(want.Members))},
	)
	return append(out, memberDiffs(cur.Members, want.Members)...)
}

// fieldChange is a field of an object, its value now and as wanted, as a
// plan writes them.
type fieldChange struct{ field, from, to string }

// quoted is the fieldChange of a text field, its values quoted.
func quoted(field, from, to string) fieldChange {
	return fieldChange{field, strconv.Quote(from), strconv.Quote(to)}
}

// fieldDiffs describes the fields whose value changes, in order, each as
// "field: from -> to".
func fieldDiffs(changes ...fieldChange) []string {
	var out []string
	for _, c := range changes {
		if c.from != c.to {
			out = append(out, fmt.Sprintf("%s: %s -> %s", c.field, c.from, c.to))
		}
	}
	return out
}

func memberUsers(ms []leads.RotationMember) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.User
	}
	return out
}

// memberDiffs describes, for each member of want, how its settings differ
// from those it has in cur, or its settings when it is new.
func memberDiffs(cur, want []leads.RotationMember) []string {
	var out []string
	for _, m := range want {
		i := slices.IndexFunc(cur, func(c leads.RotationMember) bool { return c.User == m.User })
		if i < 0 {
			if s := memberSettings(m); s != "" {
				out = append(out, fmt.Sprintf("%s (new): %s", m.User, s))
			}
			continue
		}
		if d := memberDiff(cur[i], m); d != "" {
			out = append(out, m.User+": "+d)
		}
	}
	return out
}

// memberDiff describes how a member's settings change, e.g.
// "paused false -> true, dailyCap none -> 10".
func memberDiff(from, to leads.RotationMember) string {
	var out []string
	if from.Weight != to.Weight {
		out = append(out, fmt.Sprintf("weight %d -> %d", from.Weight, to.Weight))
	}
	if from.Paused != to.Paused {
		out = append(out, fmt.Sprintf("paused %t -> %t", from.Paused, to.Paused))
	}
	if from.DailyCap != to.DailyCap {
		out = append(out, fmt.Sprintf("dailyCap %s -> %s", dailyCap(from.DailyCap), dailyCap(to.DailyCap)))
	}
	if from.MaxOpenLeads != to.MaxOpenLeads {
		out = append(out, fmt.Sprintf("maxOpenLeads %s -> %s", dailyCap(from.MaxOpenLeads), dailyCap(to.MaxOpenLeads)))
	}
	return strings.Join(out, ", ")
}

// dailyCap describes a limit: "none" for 0.
func dailyCap(n int) string {
	if n <= 0 {
		return "none"
	}
	return fmt.Sprint(n)
}
