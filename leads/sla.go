package leads

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SLA is a rotation's promise of speed to lead: the rep a turn gives a lead
// accepts it (AcceptLead, or their first activity when the account says so)
// within AcceptWithin, or the lead moves on to the next eligible member of
// the rotation who has not had it yet, at most MaxReassignments times;
// then WhenExhausted says what becomes of it, and the account's managers
// are told.
//
// The clock starts when a turn of the rotation gives the lead to a member
// (a create, the background assigner, a reassignment through the
// rotation, an SLA's own reassignment); an assignment by hand, by a rule or
// to a returning contact's owner, and the fallback assignee's, have none.
// The deadline is fixed when the assignment is made (Lead.SLADueAt): a
// schedule changed afterwards does not move it. A rotation whose SLA is
// removed or changed meanwhile is read as it is when the deadline comes:
// without an SLA then, nothing happens.
//
// Fairness: the turn a rep let run out stays theirs. It counts in their
// turns, their share and their daily cap, as any lead the rotation gave
// them; the next assignee takes a regular turn of the rotation, so the
// rotation's order goes on exactly from there. The stats show each
// member's expiries and reassignments in and out (MemberStats.SLA) beside
// their turns, so that a turn missed is seen as one.
type SLA struct {
	// AcceptWithin is how long the assignee has: from MinSLAAcceptWithin to
	// MaxSLAAcceptWithin, written as Go durations are ("5m", "1h30m").
	AcceptWithin Duration `json:"acceptWithin"`
	// Clock is SLAClockWall (default: every second counts) or
	// SLAClockWorkingHours (only the assignee's working time counts: their
	// schedule's hours, not on time off or a holiday of their calendar).
	Clock string `json:"clock,omitempty"`
	// MaxReassignments bounds how many times one lead moves on; 0 never
	// moves it (the first expiry is the end, WhenExhausted).
	MaxReassignments int `json:"maxReassignments"`
	// WhenExhausted says what happens when the time runs out and the lead
	// may move no more, or nobody who has not had it is eligible at that
	// moment (off their hours, away, full: the expiry does not wait, unless
	// WhenNobodyAvailable says so):
	// SLAKeep (default: it stays with the last rep), SLAFallback (to the
	// rotation's fallback assignee) or SLAHold (it leaves the rep and
	// stays unassigned for a manager to give). Managers are told in each
	// case (lead.sla_expired with data.exhausted, and mail when the server
	// sends it).
	WhenExhausted string `json:"whenExhausted,omitempty"`
	// WhenNobodyAvailable says what an expiry does when the SLA may still
	// move the lead but nobody who has not had it can take it at that
	// moment: SLAExhaust (the default, kept as empty: WhenExhausted
	// applies at once) or
	// SLAWait: when some of them are only away by their availability (off
	// their hours, on time off, on a holiday), the deadline moves to the
	// first instant one of them is back, audited sla_waiting; the rep keeps
	// the lead meanwhile and may still accept it. The clock, in effect,
	// stops while nobody could take the lead over: a follow-the-sun team
	// does not exhaust its SLA at night. Nobody back within 400 days, or
	// everyone else had the lead or is unavailable otherwise (paused, full):
	// WhenExhausted applies.
	WhenNobodyAvailable string `json:"whenNobodyAvailable,omitempty"`
}

// SLA clocks (SLA.Clock).
const (
	SLAClockWall         = "wall"
	SLAClockWorkingHours = "working_hours"
)

// What an SLA does when it is exhausted (SLA.WhenExhausted).
const (
	SLAKeep     = "keep"
	SLAFallback = "fallback"
	SLAHold     = "hold"
)

// What an SLA's expiry does when nobody can take the lead at that moment
// (SLA.WhenNobodyAvailable).
const (
	SLAExhaust = "exhaust"
	SLAWait    = "wait"
)

// EventSLAWaiting is the audit event of an expiry that found nobody
// available and moved the deadline to when someone is back
// (SLA.WhenNobodyAvailable wait): data holds the assignee, the deadline
// that passed, the new one (dueAt), who is back then (nextAvailable), and
// why.
const EventSLAWaiting = "sla_waiting"

// Limits of SLAs.
const (
	MinSLAAcceptWithin = time.Second
	MaxSLAAcceptWithin = 7 * 24 * time.Hour
	// MaxSLAReassignments bounds SLA.MaxReassignments (no rotation has
	// more members to move a lead through).
	MaxSLAReassignments = MaxRotationMembers
	// slaHorizon bounds the search for an assignee's working time: a rep
	// with none in this long (a schedule with no hours, a year off) has
	// a deadline at its end.
	slaHorizon = 400 * 24 * time.Hour
)

// SkipHadLead is why a member is passed over by an SLA's reassignment:
// they have had this lead already.
const SkipHadLead = "had_lead"

// Duration is a time.Duration written in JSON as Go writes durations
// ("5m0s"; "5m", "90s" and "1h30m" are read).
type Duration time.Duration

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: %s is not a string", ErrNotDuration, b)
	}
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%w: %q", ErrNotDuration, s)
	}
	*d = Duration(v)
	return nil
}

// ErrNotDuration is what decoding a Duration from JSON that is not a
// duration string returns (wrapped with the value).
var ErrNotDuration = errors.New(`not a duration such as "5m" or "1h30m"`)

// String is d as Go writes durations.
func (d Duration) String() string { return time.Duration(d).String() }

// validate checks the SLA of rot (normalizing its clock and end), naming
// fields under "sla.".
func (sla *SLA) validate(rot *Rotation) error {
	if sla.Clock == "" {
		sla.Clock = SLAClockWall
	}
	if sla.WhenExhausted == "" {
		sla.WhenExhausted = SLAKeep
	}
	if sla.WhenNobodyAvailable == SLAExhaust {
		sla.WhenNobodyAvailable = "" // the default, read back without the field
	}
	d := time.Duration(sla.AcceptWithin)
	switch {
	case d < MinSLAAcceptWithin || d > MaxSLAAcceptWithin:
		return ValidationError(FieldError{"sla.acceptWithin", sla.AcceptWithin.String(),
			fmt.Sprintf("Must be from %s to %s, such as \"5m\"", MinSLAAcceptWithin, MaxSLAAcceptWithin)})
	case sla.Clock != SLAClockWall && sla.Clock != SLAClockWorkingHours:
		return ValidationError(FieldError{"sla.clock", sla.Clock, "Must be wall or working_hours"})
	case sla.MaxReassignments < 0 || sla.MaxReassignments > MaxSLAReassignments:
		return ValidationError(FieldError{"sla.maxReassignments", sla.MaxReassignments, fmt.Sprintf("Must be from 0 to %d", MaxSLAReassignments)})
	case sla.WhenExhausted != SLAKeep && sla.WhenExhausted != SLAFallback && sla.WhenExhausted != SLAHold:
		return ValidationError(FieldError{"sla.whenExhausted", sla.WhenExhausted, "Must be keep, fallback or hold"})
	case sla.WhenNobodyAvailable != "" && sla.WhenNobodyAvailable != SLAWait:
		return ValidationError(FieldError{"sla.whenNobodyAvailable", sla.WhenNobodyAvailable, "Must be exhaust or wait"})
	case sla.WhenExhausted == SLAFallback && rot.FallbackAssignee == "":
		return ValidationError(FieldError{"fallbackAssignee", "", "Is required when sla.whenExhausted is fallback"})
	}
	return nil
}

// SLATimer is the accept clock of one assignment: a job, stored in the
// transaction that makes the assignment (NewLead.SLATimer,
// LeadWrite.SLATimer), that runs Service.ExpireSLA at DueAt. It names the
// assignment it times (Assignee, AssignedAt): any later change of the
// lead's assignment, or its acceptance, makes it do nothing, so that it
// has its effect once however often it runs.
type SLATimer struct {
	AccountID  string    `json:"accountId"`
	LeadID     int64     `json:"leadId"`
	RotationID int64     `json:"rotationId"`
	Assignee   string    `json:"assignee"`
	AssignedAt time.Time `json:"assignedAt"`
	DueAt      time.Time `json:"dueAt"`
	// Had are the members who had the lead before Assignee in this chain
	// of SLA reassignments; Reassignments how many the chain has made.
	Had           []string `json:"had,omitempty"`
	Reassignments int      `json:"reassignments,omitempty"`
	// Waiting marks a deadline an expiry moved to when someone is back
	// (SLA.WhenNobodyAvailable wait).
	Waiting bool `json:"waiting,omitempty"`
}

// times reports whether t still times cur's assignment: the same assignee
// since the same instant, not accepted.
func (t *SLATimer) times(cur *Lead) bool {
	return cur.AssignmentStatus == AssignmentAssigned && cur.AssignedTo == t.Assignee && cur.AcceptedAt == nil &&
		cur.AssignedAt != nil && cur.AssignedAt.Equal(t.AssignedAt)
}

// SLAExpiry records that an assignment's time ran out (stored with the
// change it made, for the stats): who let it expire, and who got the lead
// instead ("" when nobody: kept or held).
type SLAExpiry struct {
	AccountID    string
	RotationID   int64
	LeadID       int64
	Assignee     string
	NextAssignee string
	// Action is what the expiry did: SLAReassigned, or the SLA's
	// WhenExhausted (keep, fallback, hold).
	Action    string
	ExpiredAt time.Time
}

// SLAReassigned is the action of an expiry that moved the lead to the next
// member of the rotation.
const SLAReassigned = "reassigned"

// EventSLAExpired is the audit event of an expiry: data holds the assignee
// whose time ran out, the deadline, the clock, the action, the next
// assignee if any, and whether the SLA is exhausted.
const EventSLAExpired = "sla_expired"

// AssignSLAExpired is the reason of an assignment an SLA's expiry made.
const AssignSLAExpired = "sla_expired"

// slaTimer starts the clock of lead's assignment, made at assignedAt, when
// a turn of a rotation with an SLA gave it (it has a RotationTurn): it sets
// lead.SLADueAt and returns the timer; otherwise it clears SLADueAt and
// returns nil. had and reassignments continue a chain of SLA
// reassignments (nil, 0 for a new one).
func (c *AccountConfig) slaTimer(lead *Lead, assignedAt time.Time, had []string, reassignments int) *SLATimer {
	lead.SLADueAt = nil
	if lead.AssignedTo == "" || lead.RotationTurn == 0 || lead.AssignmentStatus != AssignmentAssigned {
		return nil
	}
	rot := c.Rotation(lead.RotationID)
	if rot == nil || rot.SLA == nil {
		return nil
	}
	due := c.slaDue(rot.SLA, lead.AssignedTo, assignedAt)
	lead.SLADueAt = &due
	return &SLATimer{AccountID: lead.AccountID, LeadID: lead.ID, RotationID: rot.ID, Assignee: lead.AssignedTo,
		AssignedAt: assignedAt, DueAt: due, Had: had, Reassignments: reassignments}
}

// slaDue is when an assignment to user made at from runs out under sla.
func (c *AccountConfig) slaDue(sla *SLA, user string, from time.Time) time.Time {
	d := time.Duration(sla.AcceptWithin)
	if sla.Clock != SLAClockWorkingHours {
		return from.Add(d)
	}
	a := c.Availability[user]
	if a == nil {
		return from.Add(d) // always within their working time
	}
	a.once.Do(func() { a.prepared = prepareAvailability(c, a) })
	return a.prepared.workingTimeEnd(from, d)
}

// workingTimeEnd returns the instant at which d of working time (not away:
// see AccountConfig.Away) has passed since from, or from+slaHorizon when
// that is later.
func (p *preparedAvailability) workingTimeEnd(from time.Time, d time.Duration) time.Time {
	end := from.Add(slaHorizon)
	for t := from; t.Before(end); {
		next := p.nextChange(t)
		if !p.outOfOffice(t) && !p.holiday(t) && !p.outsideHours(t) {
			if span := next.Sub(t); d <= span {
				return t.Add(d)
			} else {
				d -= span
			}
		}
		t = next
	}
	return end
}

// nextChange returns the first instant after t at which whether the member
// is away may change: the next edge of an interval of their hours (or
// their next local midnight), the next midnight of their holiday calendar,
// the next start or end of a time off.
func (p *preparedAvailability) nextChange(t time.Time) time.Time {
	next := t.Add(24 * time.Hour)
	earlier := func(c time.Time) {
		if c.After(t) && c.Before(next) {
			next = c
		}
	}
	if p.hours != nil {
		local := t.In(p.hours)
		h, m, _ := local.Clock()
		minute := int16(h*60 + m)
		y, mo, d := local.Date()
		edge := int16(24 * 60)
		for _, s := range p.week[local.Weekday()] {
			for _, e := range [2]int16{s.from, s.to} {
				if e > minute && e < edge {
					edge = e
				}
			}
		}
		c := time.Date(y, mo, d, int(edge/60), int(edge%60), 0, 0, p.hours)
		if !c.After(t) { // the clock went back over the edge: the next minute
			c = t.Truncate(time.Minute).Add(time.Minute)
		}
		earlier(c)
	}
	if p.calendar != nil {
		y, mo, d := t.In(p.calendar).Date()
		earlier(time.Date(y, mo, d+1, 0, 0, 0, 0, p.calendar))
	}
	n := t.UnixNano()
	// The first period that ends after t: its start, or its end when t is
	// in it (merged periods end in the order they start).
	if i, _ := slices.BinarySearchFunc(p.off, n, func(o period, n int64) int {
		if o.to <= n {
			return -1
		}
		return 1
	}); i < len(p.off) {
		if o := p.off[i]; o.from > n {
			earlier(time.Unix(0, o.from))
		} else {
			earlier(time.Unix(0, o.to))
		}
	}
	return next
}

// slaView is view (rot as a turn sees it) with the members in had passed
// over as SkipHadLead, and nobody as the end when no one else can take the
// lead (the SLA, not the rotation, says what happens then).
func slaView(view *Rotation, had []string) *Rotation {
	v := *view
	v.Members = slices.Clone(view.Members)
	for i := range v.Members {
		if v.Members[i].Away == "" && slices.Contains(had, v.Members[i].User) {
			v.Members[i].Away = SkipHadLead
		}
	}
	v.WhenNobodyEligible, v.FallbackAssignee = NobodyUnassigned, ""
	return &v
}

// errNobodyLeft refuses an SLA's reassignment that found nobody eligible
// who has not had the lead.
var errNobodyLeft = errors.New("nobody left who has not had the lead")

// ExpireSLA runs timer t when its time has come (the job runner calls it
// at t.DueAt, at least once, one process at a time). When t still times
// the lead's assignment (the same assignee since the same instant, not
// accepted), the time ran out: the lead moves to the next eligible member
// of the rotation who has not had it, taking a turn (reason sla_expired,
// with a new clock); when the SLA may move it no more, or nobody is left,
// its WhenExhausted applies and the account's managers are named in the
// event for escalation. Audited sla_expired (with why), lead_reassigned
// when the lead moves; lead.sla_expired and lead.reassigned events.
//
// The decision is made under the lead's lock in the store, as AcceptLead's
// is: an accept and an expiry that race have exactly one outcome (the
// accept wins, and the expiry does nothing; or the lead moves, and the
// accept is refused as the rep's no more). Otherwise (accepted, reassigned,
// deleted, the SLA removed meanwhile) it does nothing and returns nil; an
// error asks the runner to try again later.
func (s *Service) ExpireSLA(ctx context.Context, t SLATimer) error {
	actor := SystemActor(t.AccountID)
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return fmt.Errorf("expire SLA of lead %d: %w", t.LeadID, err)
	}
	cur, err := s.store.Lead(ctx, t.AccountID, t.LeadID, false)
	if ErrorCode(err) == CodeNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("expire SLA of lead %d: %w", t.LeadID, err)
	}
	rot := cfg.Rotation(t.RotationID)
	if !t.times(cur) || rot == nil || rot.SLA == nil {
		return nil
	}
	if now := s.clock(); t.Waiting && now.Before(t.DueAt) {
		// Run early by this process's clock (another's ran it): later.
		return fmt.Errorf("expire SLA of lead %d: its deadline %s has not come (now %s)", t.LeadID,
			t.DueAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	had := append(slices.Clone(t.Had), t.Assignee)
	if t.Reassignments < rot.SLA.MaxReassignments && s.rotator != nil {
		_, _, err := s.assignStored(ctx, cfg, t.AccountID, t.LeadID, storedAssignment{
			rt:     routing{rot: rot},
			cause:  AssignSLAExpired,
			narrow: func(v *Rotation) *Rotation { return slaView(v, had) },
			accept: func(a Assignment) error {
				if a.Assignee == "" {
					return errNobodyLeft
				}
				return nil
			},
			record: func(cur *Lead, a Assignment, now time.Time) (AuditEntry, bool) {
				if !t.times(cur) {
					return AuditEntry{}, false // accepted or moved meanwhile
				}
				entry := reassignedEntry(actor, cur, a, now)
				entry.Data["reason"] = AssignSLAExpired
				return entry, true
			},
			amend: func(cur *Lead, w *LeadWrite, _ Assignment, now time.Time) {
				if w.SLATimer != nil {
					w.SLATimer.Had, w.SLATimer.Reassignments = had, t.Reassignments+1
				}
				s.recordExpiry(cfg, rot, &t, cur, w, SLAReassigned, "", now)
			},
		})
		switch {
		case errors.Is(err, errNobodyLeft):
			if rot.SLA.WhenNobodyAvailable != SLAWait {
				break
			}
			if back, who, ok := cfg.firstBack(rot, had, s.clock()); ok {
				return s.waitSLA(ctx, cfg, rot, &t, back, who)
			}
		case ErrorCode(err) == CodeNotFound:
			return nil
		case err != nil:
			return fmt.Errorf("expire SLA of lead %d: %w", t.LeadID, err)
		default:
			s.meter.Count(MeasureSLAExpired, SLAReassigned, 1)
			return nil
		}
		return s.exhaustSLA(ctx, cfg, rot, &t, "nobody_left")
	}
	return s.exhaustSLA(ctx, cfg, rot, &t, "max_reassignments")
}

// firstBack returns the first instant after now at which a member of rot
// not in had and not paused, away now by their availability (off their
// hours, on time off, on a holiday), is back (AvailableAgain over them),
// and who that is; false when none is back within slaHorizon. One back
// then but full (a daily cap, open leads) makes the expiry at that
// instant wait again, or exhaust.
func (c *AccountConfig) firstBack(rot *Rotation, had []string, now time.Time) (time.Time, string, bool) {
	away := *rot
	away.Members = nil
	for _, m := range rot.Members {
		if !slices.Contains(had, m.User) && c.Away(m.User, now) != "" {
			away.Members = append(away.Members, m)
		}
	}
	at, ok := c.AvailableAgain(&away, now)
	if !ok {
		return time.Time{}, "", false
	}
	for _, m := range away.Members {
		if !m.Paused && c.Away(m.User, at) == "" {
			return at, m.User, true
		}
	}
	return time.Time{}, "", false // AvailableAgain found one: not reached
}

// waitSLA moves the deadline of the assignment t times to back, when who
// is back (SLA.WhenNobodyAvailable wait): a new timer, audited
// sla_waiting, and the event lead.sla_expired with action SLAWait, so that
// subscribers hear of the deadline missed although the lead stays. It is
// not an expiry in the stats (SLAExpiry): the rep may still accept, and the
// deadline's end, if it comes, is. Nothing when the assignment changed
// meanwhile.
func (s *Service) waitSLA(ctx context.Context, cfg *AccountConfig, rot *Rotation, t *SLATimer, back time.Time, who string) error {
	waited := false
	_, err := s.store.UpdateLead(ctx, t.AccountID, t.LeadID, func(cur *Lead) (*LeadWrite, error) {
		if !t.times(cur) {
			return nil, nil
		}
		now := s.clock()
		w := &LeadWrite{Lead: cur.next(now)}
		due := back.UTC()
		w.Lead.SLADueAt = &due
		next := *t
		next.DueAt, next.Waiting = due, true
		w.SLATimer = &next
		why := fmt.Sprintf("%s did not accept in time, and nobody who has not had the lead is available before %s (%s); %s keeps it until then",
			t.Assignee, due.Format(time.RFC3339), who, t.Assignee)
		w.Audit = []AuditEntry{newAuditEntry(SystemActor(t.AccountID), EventSLAWaiting, map[string]any{
			"assignee": t.Assignee, "passedDueAt": t.DueAt, "dueAt": due, "nextAvailable": who,
			"rotationId": rot.ID, "rotationName": rot.Name, "reassignments": t.Reassignments, "why": why}, now)}
		data := expiryData(rot, t, SLAWait)
		data["waitUntil"], data["nextAvailable"], data["exhausted"], data["why"] = due, who, false, why
		s.addExpiryEvent(cfg, t, w, data, now)
		waited = true
		return w, nil
	})
	if ErrorCode(err) == CodeNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("move SLA deadline of lead %d: %w", t.LeadID, err)
	}
	if waited {
		s.meter.Count(MeasureSLAExpired, SLAWait, 1)
	}
	return nil
}

// exhaustSLA applies the SLA's WhenExhausted to the lead t times, because
// of why (max_reassignments, nobody_left).
func (s *Service) exhaustSLA(ctx context.Context, cfg *AccountConfig, rot *Rotation, t *SLATimer, why string) error {
	actor := SystemActor(t.AccountID)
	var before Lead
	written := false
	var action string
	lead, err := s.store.UpdateLead(ctx, t.AccountID, t.LeadID, func(cur *Lead) (*LeadWrite, error) {
		if written = t.times(cur); !written {
			return nil, nil
		}
		before = *cur
		now := s.clock()
		w := &LeadWrite{Lead: cur.next(now)}
		next := w.Lead
		action = rot.SLA.WhenExhausted
		switch fallback := rot.FallbackAssignee; {
		case action == SLAFallback && fallback != "" && fallback != cur.AssignedTo && cfg.Members[fallback] != "":
			next.AssignedTo, next.RotationID, next.RotationTurn, next.SLADueAt = fallback, rot.ID, 0, nil
		case action == SLAHold:
			next.AssignedTo, next.RotationID, next.RotationTurn, next.SLADueAt = "", 0, 0, nil
			next.AssignmentStatus = AssignmentUnassigned
		default:
			action = SLAKeep
		}
		if next.AssignedTo != cur.AssignedTo {
			w.Audit = append(w.Audit, newAuditEntry(actor, EventLeadReassigned, map[string]any{"from": cur.AssignedTo,
				"to": next.AssignedTo, "reason": AssignSLAExpired, "rotationId": rot.ID, "rotationName": rot.Name, "slaAction": action}, now))
		}
		w.Events = s.leadEvents(cfg, cur, next, "", now)
		s.recordExpiry(cfg, rot, t, cur, w, action, why, now)
		return w, nil
	})
	if ErrorCode(err) == CodeNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("expire SLA of lead %d: %w", t.LeadID, err)
	}
	if written {
		s.reportLoad(ctx, cfg, &before, lead, nil)
		s.meter.Count(MeasureSLAExpired, action, 1)
		s.meterAssigned(&before, lead, AssignSLAExpired)
	}
	return nil
}

// recordExpiry adds to w, which moves cur on at now because t ran out, the
// sla_expired audit entry (first), its lead.sla_expired event (first) and
// its SLAExpiry record. exhausted is why the SLA is exhausted, "" when
// the lead moves on to the next member; the event then names the
// account's managers to tell (data.escalate).
func (s *Service) recordExpiry(cfg *AccountConfig, rot *Rotation, t *SLATimer, cur *Lead, w *LeadWrite, action, exhausted string, now time.Time) {
	sla := rot.SLA
	next := w.Lead.AssignedTo
	if next == cur.AssignedTo {
		next = ""
	}
	data := expiryData(rot, t, action)
	data["exhausted"] = exhausted != ""
	data["why"] = fmt.Sprintf("%s did not accept within %s (%s clock) of being assigned at %s",
		t.Assignee, sla.AcceptWithin, sla.Clock, t.AssignedAt.UTC().Format(time.RFC3339))
	if next != "" {
		data["nextAssignee"] = next
	}
	if action == SLAReassigned {
		data["reassignments"] = t.Reassignments + 1
	}
	if exhausted != "" {
		data["exhaustedBy"] = exhausted
	}
	w.Audit = append([]AuditEntry{newAuditEntry(SystemActor(t.AccountID), EventSLAExpired, data, now)}, w.Audit...)
	w.SLAExpiry = &SLAExpiry{AccountID: t.AccountID, RotationID: rot.ID, LeadID: t.LeadID, Assignee: t.Assignee,
		NextAssignee: next, Action: action, ExpiredAt: now}
	eventData := maps.Clone(data)
	if exhausted != "" {
		eventData["escalate"] = cfg.managers()
	}
	s.addExpiryEvent(cfg, t, w, eventData, now)
}

// expiryData is what an expiry's audit entry and event say of the
// assignment t times on rot, and of what the expiry did (action).
func expiryData(rot *Rotation, t *SLATimer, action string) map[string]any {
	return map[string]any{"assignee": t.Assignee, "assignedAt": t.AssignedAt, "dueAt": t.DueAt,
		"acceptWithin": rot.SLA.AcceptWithin.String(), "clock": rot.SLA.Clock, "action": action, "rotationId": rot.ID,
		"rotationName": rot.Name, "reassignments": t.Reassignments}
}

// addExpiryEvent puts lead.sla_expired, with data and the lead as w writes
// it, first among w's events, when the account's subscribers want it.
func (s *Service) addExpiryEvent(cfg *AccountConfig, t *SLATimer, w *LeadWrite, data map[string]any, now time.Time) {
	if !s.wants(cfg, EventTypeSLAExpired) {
		return
	}
	snapshot := *w.Lead
	snapshot.AuditLog = nil
	e := Event{ID: newEventID(), Type: EventTypeSLAExpired, AccountID: t.AccountID, LeadID: t.LeadID, At: now,
		Lead: &snapshot, Data: data}
	w.Events = append([]Event{e}, w.Events...)
}

// managers lists the account's members who may change its rotations
// (managers and admins), sorted: whom an exhausted SLA escalates to.
func (c *AccountConfig) managers() []string {
	var out []string
	for user, role := range c.Members {
		if role.Can(PermWriteConfig) {
			out = append(out, user)
		}
	}
	slices.Sort(out)
	return out
}
