package leads

import (
	"context"
	"fmt"
	"time"
)

// Limits on rotations.
const (
	MaxRotationMembers = 500  // members of one rotation
	MaxMemberWeight    = 1000 // weight of one member
)

// Rotation hands an account's leads to its reps in turn. It is a team's
// (TeamID set, one per team), the account's default (Default, one per
// account), or neither: a pool ("Hot leads", "Enterprise") that routing
// rules send leads to.
type Rotation struct {
	ID        int64  `json:"id"`
	AccountID string `json:"accountId"`
	Name      string `json:"name"`
	TeamID    int64  `json:"teamId,omitempty"`
	Default   bool   `json:"default"`
	// FallbackAssignee gets the lead when no member is eligible (unless
	// WhenNobodyEligible says otherwise).
	FallbackAssignee string `json:"fallbackAssignee,omitempty"`
	// WhenNobodyEligible says what happens to a lead when no member can
	// take it: NobodyFallback (the fallback assignee), NobodyUnassigned
	// (stored unassigned) or NobodyHold (it waits, and the background
	// assigner gives it the first turn someone can take, oldest first).
	// "" is the fallback assignee if there is one, else unassigned.
	WhenNobodyEligible string `json:"whenNobodyEligible,omitempty"`
	// SLA, when set, is how soon the rep a turn gives a lead must accept
	// it, and what happens when they do not (see SLA).
	SLA *SLA `json:"sla,omitempty"`
	// Timezone (IANA name) decides when a day, and so a daily cap, starts.
	// In the Go API the zero value means DefaultTimezone; "Local" is refused.
	Timezone string `json:"timezone"`
	// Members in turn order.
	Members []RotationMember `json:"members"`
	// OpenStatuses are the account's statuses of an open lead
	// (Account.OpenStatuses), which a member's capacity counts. The
	// Service sets them from the account; they are never stored with
	// the rotation.
	OpenStatuses []Status  `json:"-"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

// RotationMember is a rep in a rotation. Weight w gets w turns for every turn
// of a weight-1 member; Paused and a reached DailyCap leave the member out of
// the turn order until resumed or the next day.
type RotationMember struct {
	User     string `json:"user"`
	Weight   int    `json:"weight"`
	Paused   bool   `json:"paused"`
	DailyCap int    `json:"dailyCap,omitempty"`
	// MaxOpenLeads, when set, is the capacity: a member with that many open
	// leads in the account (Account.OpenStatuses) is passed over with
	// SkipAtCapacity until one closes. 0 is no limit.
	MaxOpenLeads int `json:"maxOpenLeads,omitempty"`
	// Away, when set, is why the member cannot take a lead at the moment
	// of one turn (outside their working hours, out of office, on a
	// holiday…): the Service sets it on a copy of the rotation it hands
	// the Rotator for that turn, and the member is passed over with it
	// as the reason, as a paused one is. It is never stored.
	Away string `json:"-"`
}

// SkipReason says why m cannot take a turn, "" when it can, given the
// leads the rotation gave m today and m's open leads (counted only when m
// has a capacity): paused, why m is away, daily_cap, at_capacity, in that
// order. It is the one rule of eligibility: the rotators decide by it
// (and the Lua script mirrors it), previews and stats report it.
func (m RotationMember) SkipReason(today, open int64) string {
	switch {
	case m.Paused:
		return SkipPaused
	case m.Away != "":
		return m.Away
	case m.DailyCap > 0 && today >= int64(m.DailyCap):
		return SkipDailyCap
	case m.MaxOpenLeads > 0 && open >= int64(m.MaxOpenLeads):
		return SkipAtCapacity
	}
	return ""
}

// What a rotation does with a lead no member can take
// (Rotation.WhenNobodyEligible).
const (
	NobodyFallback   = "fallback"
	NobodyUnassigned = "unassigned"
	NobodyHold       = "hold"
)

// nobodyEligible is what r does with a lead no member can take: its
// fallback assignee, unassigned, or hold.
func (r *Rotation) nobodyEligible() string {
	switch {
	case r.WhenNobodyEligible != "":
		return r.WhenNobodyEligible
	case r.FallbackAssignee != "":
		return NobodyFallback
	}
	return NobodyUnassigned
}

// DefaultTimezone is the time zone of a rotation created without one.
const DefaultTimezone = "UTC"

// ValidateTimezone returns nil when name is an IANA time zone name, such as
// UTC or America/New_York, and VALIDATION_ERROR naming the field timezone
// otherwise: for "", and for "Local", which is each server's own zone, so
// that servers in different zones would count a rotation's days, and its
// daily caps, on different days. Callers that can tell an omitted time zone
// from an empty one (the HTTP API) check what was sent with it.
func ValidateTimezone(name string) error {
	if name == "" || name == "Local" {
		return ValidationError(FieldError{"timezone", name, timezoneMessage})
	}
	if _, err := time.LoadLocation(name); err != nil {
		return ValidationError(FieldError{"timezone", name, timezoneMessage})
	}
	return nil
}

const timezoneMessage = "Must be an IANA time zone name, such as UTC or America/New_York"

// FallBackToNobody makes a stored rotation whose fallback assignee left
// the account (RemoveMember clears the fallback of every rotation naming
// them) say what it now does: whenNobodyEligible fallback leaves the lead
// unassigned, and an SLA exhausted to the fallback keeps the lead with its
// last rep, as each did without a fallback assignee. The rotation is then
// valid again, so that an edit of anything else is not refused for the
// fallback nobody sent. Nothing changes while it has a fallback assignee.
func (r *Rotation) FallBackToNobody() {
	if r.FallbackAssignee != "" {
		return
	}
	if r.WhenNobodyEligible == NobodyFallback {
		r.WhenNobodyEligible = NobodyUnassigned
	}
	if r.SLA != nil && r.SLA.WhenExhausted == SLAFallback {
		r.SLA.WhenExhausted = SLAKeep
	}
}

// Validate normalizes and checks the rotation: a name, at most one of TeamID
// and Default, an IANA time zone (DefaultTimezone when zero), and members that are unique, with
// weights from 1 (the default) to MaxMemberWeight and caps not negative.
func (r *Rotation) Validate() error {
	if err := validateName(&r.Name); err != nil {
		return err
	}
	if r.Members == nil {
		r.Members = []RotationMember{} // none is an empty list, not null
	}
	if r.TeamID < 0 || (r.TeamID != 0 && r.Default) {
		return ValidationError(FieldError{"teamId", r.TeamID, "A rotation belongs to one team, or is the account's default, or is neither (a pool for routing rules)"})
	}
	if r.Timezone == "" {
		r.Timezone = DefaultTimezone
	}
	if err := ValidateTimezone(r.Timezone); err != nil {
		return err
	}
	r.FallbackAssignee = EmailKey(r.FallbackAssignee)
	if r.FallbackAssignee != "" && !ValidEmail(r.FallbackAssignee) {
		return ValidationError(FieldError{"fallbackAssignee", r.FallbackAssignee, "Must be a valid email address"})
	}
	switch r.WhenNobodyEligible {
	case "", NobodyUnassigned, NobodyHold:
	case NobodyFallback:
		if r.FallbackAssignee == "" {
			return ValidationError(FieldError{"fallbackAssignee", "", "Is required when whenNobodyEligible is fallback"})
		}
	default:
		return ValidationError(FieldError{"whenNobodyEligible", r.WhenNobodyEligible, "Must be fallback, unassigned or hold"})
	}
	if r.SLA != nil {
		if err := r.SLA.validate(r); err != nil {
			return err
		}
	}
	if len(r.Members) > MaxRotationMembers {
		return ValidationError(FieldError{"members", len(r.Members), fmt.Sprintf("Must have at most %d members", MaxRotationMembers)})
	}
	seen := make(map[string]bool, len(r.Members))
	for i := range r.Members {
		m := &r.Members[i]
		field := fmt.Sprintf("members[%d]", i)
		m.User = EmailKey(m.User)
		if m.Weight == 0 {
			m.Weight = 1
		}
		switch {
		case !ValidEmail(m.User):
			return ValidationError(FieldError{field + ".user", m.User, "Must be a valid email address"})
		case seen[m.User]:
			return ValidationError(FieldError{field + ".user", m.User, "Appears twice in the rotation"})
		case m.Weight < 1 || m.Weight > MaxMemberWeight:
			return ValidationError(FieldError{field + ".weight", m.Weight, fmt.Sprintf("Must be from 1 to %d", MaxMemberWeight)})
		case m.DailyCap < 0:
			return ValidationError(FieldError{field + ".dailyCap", m.DailyCap, "Must not be negative"})
		case m.MaxOpenLeads < 0:
			return ValidationError(FieldError{field + ".maxOpenLeads", m.MaxOpenLeads, "Must be at least 1, or 0 for no limit"})
		}
		seen[m.User] = true
	}
	return nil
}

// Location returns the rotation's time zone, UTC when unknown, and UTC for
// "Local" (stored before it was refused), so that every server agrees.
func (r *Rotation) Location() *time.Location { return loadLocation(r.Timezone) }

// DayStart returns the start of the rotation's day that contains t.
func (r *Rotation) DayStart(t time.Time) time.Time {
	y, m, d := t.In(r.Location()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, r.Location())
}

// Day returns the rotation's calendar day of t as YYYY-MM-DD.
func (r *Rotation) Day(t time.Time) string {
	return t.In(r.Location()).Format(time.DateOnly)
}

// Skip reasons.
const (
	SkipPaused   = "paused"
	SkipDailyCap = "daily_cap"
	// The reasons a member is away (AccountConfig.Away): outside their
	// working hours, on time off, on a holiday of their calendar.
	SkipOutsideHours = "outside_hours"
	SkipOutOfOffice  = "out_of_office"
	SkipHoliday      = "holiday"
	// SkipAtCapacity: the member has RotationMember.MaxOpenLeads open leads.
	SkipAtCapacity = "at_capacity"
)

// Skip says that a member's turn was passed over, why, and how many of its
// turn slots were passed over in one decision.
type Skip struct {
	User   string `json:"user"`
	Reason string `json:"reason"`
	Slots  int    `json:"slots"`
}

// Turn is one decision of a rotation. Assignee is "" when nobody was eligible;
// then nothing was consumed and there is nothing to refund.
type Turn struct {
	RotationID int64
	Assignee   string
	// Seq numbers the rotation's turns; 0 when nobody was eligible.
	Seq     int64
	Skipped []Skip
	// Checkpoint, set on some turns (the first and then every few), is the
	// rotation's state at the turn. The store keeps it with the turn, so
	// that a rotator that loses its state rebuilds it exactly from the last
	// checkpoint and the turns recorded since.
	Checkpoint *Checkpoint
	// Undo is what the rotator that took the turn needs to give it back.
	Undo TurnUndo
}

// Checkpoint is a rotation's state recorded with one of its turns, for a
// rotator that lost its state to rebuild it exactly.
//
// A turn is open from the moment it is taken until its lead is known to be
// stored, or it is given back: at any moment several may be open, and some
// of them will be given back. So the checkpoint leaves them all out:
// Current is each member's current weight in the smooth weighted
// round-robin without the effect of the turns in Open (the checkpoint's own
// turn among them). A rebuild adds back those of Open whose leads the store
// has, with the turns recorded after the checkpoint's.
type Checkpoint struct {
	Current map[string]int64 `json:"w"`
	Open    []int64          `json:"open,omitempty"`
}

// TurnUndo records a turn's effect on the rotation state so that Refund can
// subtract it exactly. Only the Rotator that produced it reads it.
type TurnUndo struct {
	// Epoch identifies the state the turn was taken from; a refund to a state
	// rebuilt since (after its loss) is dropped.
	Epoch string
	// Day is the rotation day whose counter the turn incremented.
	Day string
	// Deltas is what the turn added to each member's current weight.
	Deltas map[string]int64
}

// Rotator decides turns. Implementations make each decision atomic, so that
// concurrent callers, in one process or many, never get the same turn.
type Rotator interface {
	// Next takes the next turn of rot at time now (which decides the day for
	// daily caps). Members are taken from rot, so edits need no migration.
	Next(ctx context.Context, rot *Rotation, now time.Time) (Turn, error)
	// Refund gives back a turn whose lead could not be written.
	Refund(ctx context.Context, rot *Rotation, turn Turn) error
	// Peek returns the next n turns of rot without taking them, and the
	// state they follow from.
	Peek(ctx context.Context, rot *Rotation, now time.Time, n int) (Preview, error)
}

// RotatorProber is implemented by a Rotator that can tell cheaply whether
// its backend answers. While it does not, the Service defers assignments
// without asking the rotator, and probes it in the background instead.
type RotatorProber interface {
	// Probe returns nil when the backend answers.
	Probe(ctx context.Context) error
}

// LoadCounter is implemented by a Rotator that counts the open leads of
// the members with a capacity (RotationMember.MaxOpenLeads) itself, so
// that a turn checks and takes capacity at once: two turns at once never
// both take a member's last place, in any number of processes. A turn
// counts its own lead; the Service reports every other change to a
// member's open leads (a lead assigned otherwise, closed, reopened,
// reassigned, deleted) to each rotation that caps the member.
type LoadCounter interface {
	// AddLoad adds delta to user's open leads as rot counts them, if it
	// counts them yet (else it counts them from the store when needed).
	AddLoad(ctx context.Context, rot *Rotation, user string, delta int) error
	// ForgetLoad drops rot's counts of users: they are counted from the
	// store again before the next turn.
	ForgetLoad(ctx context.Context, rot *Rotation, users []string) error
}

// TurnConfirmer is implemented by a Rotator that keeps each turn open until
// it hears that the turn's lead is stored, so that a turn whose lead never
// reached the store (its process died between the two) can be given back
// later, from any process (see TurnSettler).
type TurnConfirmer interface {
	// ConfirmTurn records that turn's lead is stored.
	ConfirmTurn(rot *Rotation, turn Turn)
}

// StateResyncer is implemented by a Rotator whose state can fall behind the
// turns the store recorded (Redis after a failover that lost its last
// writes). The store refuses a turn number it has already
// (ErrTurnTaken); the Service then calls Resync and takes another turn.
type StateResyncer interface {
	// Resync rebuilds rot's state from the store if it is still the state
	// turn was taken from, so that the next turn has a number the store
	// has not recorded; now decides the day, as in Next.
	Resync(ctx context.Context, rot *Rotation, turn Turn, now time.Time) error
}

// TurnSettler is implemented by a Rotator whose turns can outlive the process
// that took them (Redis).
type TurnSettler interface {
	// SettleTurns gives back the turns of the rotations rotationIDs that
	// have stayed open (neither confirmed nor refunded) for long, and whose
	// leads the store does not have; it returns how many.
	SettleTurns(ctx context.Context, rotationIDs []int64) (int, error)
}

// Preview is what Peek sees of a rotation.
type Preview struct {
	// Seq is the number of the last turn taken.
	Seq int64
	// DayCounts is what each member got on the rotation's current day.
	DayCounts map[string]int64
	// Load is the open leads of each member with a capacity.
	Load map[string]int64
	// Turns are the coming turns in order; fewer than asked (or none) when
	// nobody is eligible.
	Turns []Turn
}

// RotationHistory is what the store remembers of a rotation's turns, used to
// rebuild the rotation's state after the rotator lost it.
type RotationHistory struct {
	// LastAssignee received the lead with the highest turn number.
	LastAssignee string
	// LastTurn is that highest turn number (0 when none).
	LastTurn int64
	// AssignedSince counts, per user, the leads the rotation assigned since the
	// time asked for (the start of the current day).
	AssignedSince map[string]int64
	// Checkpoint is the state recorded with the rotation's latest checkpoint
	// turn, number CheckpointTurn (see Turn.Checkpoint); nil when none.
	Checkpoint     map[string]int64
	CheckpointTurn int64
	// SlotsSince counts, per member, the turn-order slots that the turns
	// recorded after CheckpointTurn charged to it: the turns it got plus the
	// slots it was passed over (paused, capped). Only with a Checkpoint.
	SlotsSince map[string]int64
}
