package leads

import (
	"context"
	"fmt"
	"time"
)

// MaxPreview bounds how many turns ahead NextTurns looks.
const MaxPreview = 100

// RotationPreview says who gets the coming leads of a rotation, and why.
type RotationPreview struct {
	RotationID int64  `json:"rotationId"`
	Name       string `json:"name"`
	// Turn is the number of the last turn taken.
	Turn int64 `json:"turn"`
	// Next lists the coming turns in order; empty when nobody is eligible,
	// and then FallbackAssignee (if any) gets the leads.
	Next             []PreviewTurn  `json:"next"`
	FallbackAssignee string         `json:"fallbackAssignee,omitempty"`
	Members          []MemberStatus `json:"members"`
}

// PreviewTurn is one coming turn: who, and whom it passes over.
type PreviewTurn struct {
	Turn     int64  `json:"turn"`
	Assignee string `json:"assignee"`
	Skipped  []Skip `json:"skipped,omitempty"`
}

// MemberStatus is a rotation member now: its settings, what it got today and
// whether it can take a lead.
type MemberStatus struct {
	RotationMember
	AssignedToday int64 `json:"assignedToday"`
	Eligible      bool  `json:"eligible"`
	// Reason says why a member is not eligible: paused, daily_cap,
	// at_capacity, or why it is away (outside_hours, out_of_office,
	// holiday).
	Reason string `json:"reason,omitempty"`
	// OpenLeads is, for a member with a capacity (MaxOpenLeads), its open
	// leads in the account as the rotation counts them.
	OpenLeads *int64 `json:"openLeads,omitempty"`
}

// NextTurns previews the next n turns of a rotation (1 to MaxPreview)
// without taking them, with the members passed over and why. NOT_FOUND for
// a rotation not in actor's account.
func (s *Service) NextTurns(ctx context.Context, actor Actor, id int64, n int) (*RotationPreview, error) {
	return s.NextTurnsAt(ctx, actor, id, n, time.Time{})
}

// NextTurnsAt is NextTurns at the instant at (zero: now): who would get
// leads created then, and who would be passed over then and why (paused,
// daily cap, outside their hours, out of office, a holiday), from the
// rotation's turn order and counts as they are now.
func (s *Service) NextTurnsAt(ctx context.Context, actor Actor, id int64, n int, at time.Time) (*RotationPreview, error) {
	if n < 1 || n > MaxPreview {
		return nil, ValidationError(FieldError{"n", n, fmt.Sprintf("Must be from 1 to %d", MaxPreview)})
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	rot := cfg.Rotation(id)
	if rot == nil {
		return nil, notFound("rotation")
	}
	if at.IsZero() {
		at = s.clock()
	}
	view := cfg.availableView(rot, at)
	p, err := s.peek(ctx, view, at, n)
	if err != nil {
		return nil, err
	}
	out := &RotationPreview{RotationID: rot.ID, Name: rot.Name, Turn: p.Seq, Next: []PreviewTurn{}, Members: memberStatuses(view, p)}
	for _, t := range p.Turns {
		out.Next = append(out.Next, PreviewTurn{Turn: t.Seq, Assignee: t.Assignee, Skipped: t.Skipped})
	}
	if len(out.Next) == 0 {
		out.FallbackAssignee = rot.FallbackAssignee
	}
	return out, nil
}

func (s *Service) peek(ctx context.Context, rot *Rotation, at time.Time, n int) (Preview, error) {
	if s.rotator == nil {
		return Preview{}, nil
	}
	p, err := s.rotator.Peek(ctx, rot, at, n)
	if err != nil {
		return p, fmt.Errorf("preview rotation %d: %w", rot.ID, err)
	}
	return p, nil
}

// memberStatuses returns each member of rot (a view of it at one moment)
// as the rotator's state p finds them.
func memberStatuses(rot *Rotation, p Preview) []MemberStatus {
	out := make([]MemberStatus, len(rot.Members))
	for i, m := range rot.Members {
		st := MemberStatus{RotationMember: m, AssignedToday: p.DayCounts[m.User],
			Reason: m.SkipReason(p.DayCounts[m.User], p.Load[m.User])}
		st.Eligible = st.Reason == ""
		if m.MaxOpenLeads > 0 {
			n := p.Load[m.User]
			st.OpenLeads = &n
		}
		out[i] = st
	}
	return out
}

// RotationStats is what a rotation did in a time window, per member.
type RotationStats struct {
	RotationID int64     `json:"rotationId"`
	Name       string    `json:"name"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	// Total counts the leads the rotation's turns assigned in the window.
	Total int64 `json:"total"`
	// Turn is the number of the last turn taken, Next who gets the next one.
	Turn    int64         `json:"turn"`
	Next    string        `json:"next,omitempty"`
	Members []MemberStats `json:"members"`
}

// MemberStats is one member's part of a rotation's window.
type MemberStats struct {
	MemberStatus
	// Assigned counts the member's turns in the window; Share is its part of
	// Total; TargetShare its weight's part of the rotation's total weight;
	// Deviation how many leads it is ahead (+) or behind (-) its share.
	Assigned    int64   `json:"assigned"`
	Share       float64 `json:"share"`
	TargetShare float64 `json:"targetShare"`
	Deviation   float64 `json:"deviation"`
	// Skips counts, per reason, the turn slots the member was passed over.
	Skips map[string]int64 `json:"skips"`
	// Returning counts, apart from Assigned, the leads of returning
	// contacts the member got in the window as their owner: they took no
	// turn of any rotation.
	Returning int64 `json:"returning"`
	// SpeedToLead is how fast the member accepted and touched the leads
	// the rotation gave them in the window.
	SpeedToLead SpeedToLead `json:"speedToLead"`
	// SLA counts what the rotation's SLA did with the member's leads in
	// the window: their turns that ran out are in Assigned too (see SLA on
	// fairness).
	SLA MemberSLA `json:"sla"`
}

// MemberSLA counts, for one member in a window, the assignments of theirs
// whose time to accept ran out (Expired), of those the ones that moved
// the lead away from them (ReassignedOut: to the next member, the
// fallback assignee, or held), and the leads an expiry moved to them
// (ReassignedIn).
type MemberSLA struct {
	Expired       int64 `json:"expired"`
	ReassignedOut int64 `json:"reassignedOut"`
	ReassignedIn  int64 `json:"reassignedIn"`
}

// window validates a [from, to) window, defaulting to the rotation's current
// day.
func (s *Service) window(rot *Rotation, from, to *time.Time) (time.Time, time.Time, error) {
	start := rot.DayStart(s.clock())
	f, t := start.UTC(), start.AddDate(0, 0, 1).UTC()
	if from != nil {
		f = from.UTC()
	}
	if to != nil {
		t = to.UTC()
	}
	if !t.After(f) {
		return f, t, ValidationError(FieldError{"to", t, "Must be after from"})
	}
	return f, t, nil
}

// RotationStats reports a rotation's assignments in [from, to) (default:
// its current day) per member: count, share against the weighted
// target, skips by reason, and the rotation's current position.
func (s *Service) RotationStats(ctx context.Context, actor Actor, id int64, from, to *time.Time) (*RotationStats, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	rot := cfg.Rotation(id)
	if rot == nil {
		return nil, notFound("rotation")
	}
	return s.rotationStats(ctx, cfg, rot, from, to)
}

func (s *Service) rotationStats(ctx context.Context, cfg *AccountConfig, rot *Rotation, from, to *time.Time) (*RotationStats, error) {
	f, t, err := s.window(rot, from, to)
	if err != nil {
		return nil, err
	}
	turns, err := s.store.TurnCounts(ctx, rot.ID, f, t)
	if err != nil {
		return nil, fmt.Errorf("rotation %d stats: %w", rot.ID, err)
	}
	skips, err := s.store.SkipCounts(ctx, rot.ID, f, t)
	if err != nil {
		return nil, fmt.Errorf("rotation %d stats: %w", rot.ID, err)
	}
	returning, err := s.store.ReturningCounts(ctx, rot.AccountID, f, t)
	if err != nil {
		return nil, fmt.Errorf("rotation %d stats: %w", rot.ID, err)
	}
	timings, err := s.store.LeadTimings(ctx, rot.ID, f, t)
	if err != nil {
		return nil, fmt.Errorf("rotation %d stats: %w", rot.ID, err)
	}
	sla, err := s.store.SLACounts(ctx, rot.ID, f, t)
	if err != nil {
		return nil, fmt.Errorf("rotation %d stats: %w", rot.ID, err)
	}
	now := s.clock()
	rot = cfg.availableView(rot, now)
	p, err := s.peek(ctx, rot, now, 1)
	if err != nil {
		return nil, err
	}
	st := &RotationStats{RotationID: rot.ID, Name: rot.Name, From: f, To: t, Turn: p.Seq, Members: []MemberStats{}}
	if len(p.Turns) > 0 {
		st.Next = p.Turns[0].Assignee
	}
	var weights int64
	for _, m := range rot.Members {
		weights += int64(m.Weight)
		st.Total += turns[m.User]
	}
	for _, ms := range memberStatuses(rot, p) {
		m := MemberStats{MemberStatus: ms, Assigned: turns[ms.User], Skips: map[string]int64{}, Returning: returning[ms.User],
			SpeedToLead: speedToLead(timings[ms.User]), SLA: sla[ms.User]}
		for reason, n := range skips[ms.User] {
			m.Skips[reason] = n
		}
		if weights > 0 {
			m.TargetShare = float64(ms.Weight) / float64(weights)
		}
		if st.Total > 0 {
			m.Share = float64(m.Assigned) / float64(st.Total)
		}
		m.Deviation = float64(m.Assigned) - m.TargetShare*float64(st.Total)
		st.Members = append(st.Members, m)
	}
	return st, nil
}

// TeamStats is what happened to a team's leads in a time window.
type TeamStats struct {
	TeamID int64     `json:"teamId"`
	Name   string    `json:"name"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Leads counts the team's leads created in the window, broken down.
	Leads        int64            `json:"leads"`
	ByAssignee   map[string]int64 `json:"byAssignee"`
	ByLeadSource map[string]int64 `json:"byLeadSource"`
	ByStatus     map[string]int64 `json:"byStatus"`
	// Rotation is the team's rotation's statistics, nil when it has none.
	Rotation *RotationStats `json:"rotation"`
}

// TeamStats reports a team's leads created in [from, to) (default: today in
// UTC, or in the team rotation's time zone) and its rotation's
// statistics. NOT_FOUND for a team not in actor's account.
func (s *Service) TeamStats(ctx context.Context, actor Actor, id int64, from, to *time.Time) (*TeamStats, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	team := cfg.Teams[id]
	if team == nil {
		return nil, notFound("team")
	}
	rot := cfg.TeamRotations[id]
	zone := rot
	if zone == nil {
		zone = &Rotation{Timezone: "UTC"}
	}
	f, t, err := s.window(zone, from, to)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.TeamLeadCounts(ctx, actor.AccountID, id, f, t)
	if err != nil {
		return nil, fmt.Errorf("team %d stats: %w", id, err)
	}
	st := &TeamStats{TeamID: id, Name: team.Name, From: f, To: t, Leads: counts.Total,
		ByAssignee: map[string]int64{}, ByLeadSource: map[string]int64{}, ByStatus: map[string]int64{}}
	for who, n := range counts.ByAssignee {
		if who == "" {
			who = "unassigned"
		}
		st.ByAssignee[who] = n
	}
	for src, n := range counts.ByLeadSource {
		key := "none"
		if src != 0 {
			key = fmt.Sprint(src)
		}
		st.ByLeadSource[key] = n
	}
	for status, n := range counts.ByStatus {
		st.ByStatus[string(status)] = n
	}
	if rot != nil {
		if st.Rotation, err = s.rotationStats(ctx, cfg, rot, &f, &t); err != nil {
			return nil, err
		}
	}
	return st, nil
}
