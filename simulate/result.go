package simulate

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// Side is a count as it happened (Actual) and as the replay has it
// (Replay).
type Side struct {
	Actual int64 `json:"actual"`
	Replay int64 `json:"replay"`
}

// Result is a simulation's outcome beside what happened.
type Result struct {
	AccountID string    `json:"accountId"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	// Leads is how many leads were replayed.
	Leads int `json:"leads"`
	// Reps are the leads each rep got, in order of email; "" is nobody.
	Reps []RepOutcome `json:"reps"`
	// Rotations are, per rotation of the configuration that took turns,
	// each member's turns against the share its weight targets.
	Rotations []RotationOutcome `json:"rotations"`
	// Rules are, per routing rule, how many leads it decided.
	Rules []RuleOutcome `json:"rules"`
	// Reasons counts the leads by how their owner was decided
	// (leads.Assignment Reason: rotation, rule, returning_owner, explicit,
	// fallback, held, waiting, no_eligible, no_rotation, deferred).
	Reasons map[string]Side `json:"reasons"`
	// Waiting is how long the leads the replay leaves waiting for their
	// rotation would have waited.
	Waiting WaitOutcome `json:"waiting"`
	// Tiers split the leads of each hot-score tier among the reps.
	Tiers []TierOutcome `json:"tiers"`
	// Changed counts the leads whose owner would change; ChangedSample
	// lists the first of them.
	Changed       int64         `json:"changed"`
	ChangedSample []ChangedLead `json:"changedSample"`
	// Differences says where the replay cannot be what happened, and how
	// many leads each concerns.
	Differences []Difference `json:"differences"`
}

// RepOutcome is one rep's leads.
type RepOutcome struct {
	User  string `json:"user"`
	Leads Side   `json:"leads"`
}

// RotationOutcome is one rotation's turns.
type RotationOutcome struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Turns are the leads the rotation's turns gave its members.
	Turns   Side            `json:"turns"`
	Members []MemberOutcome `json:"members"`
}

// MemberOutcome is a rotation member's turns against its weighted share
// of the replay's turns.
type MemberOutcome struct {
	User   string `json:"user"`
	Weight int    `json:"weight"`
	Turns  Side   `json:"turns"`
	// Target is the replay's turns times the member's share of the
	// weights; Deviation is Turns.Replay minus it. A member paused, away
	// or capped gets less than its target by design.
	Target    float64 `json:"target"`
	Deviation float64 `json:"deviation"`
}

// RuleOutcome is how many leads one routing rule decided.
type RuleOutcome struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Matched Side   `json:"matched"`
}

// WaitOutcome is how long the replay's waiting leads (nobody of their
// rotation could take them, and the rotation holds them) would have waited
// for one of its members who is not paused to be available again, by
// working hours, time off and holidays (a daily cap or capacity may make
// it longer). Leads held by a rule wait for a person and are not counted.
type WaitOutcome struct {
	Leads int64          `json:"leads"`
	P50   leads.Duration `json:"p50"`
	P90   leads.Duration `json:"p90"`
	Max   leads.Duration `json:"max"`
	// Never counts those nobody would take within 400 days.
	Never int64 `json:"never"`
}

// TierOutcome splits one hot-score tier's leads among the reps.
type TierOutcome struct {
	// Tier is hot (a hot score of 70 or more), warm (40 to 69), cold
	// (under 40) or unscored.
	Tier  string       `json:"tier"`
	Leads Side         `json:"leads"`
	Reps  []RepOutcome `json:"reps"`
}

// ChangedLead is a lead whose owner would change.
type ChangedLead struct {
	LeadID    int64     `json:"leadId"`
	CreatedAt time.Time `json:"createdAt"`
	Actual    string    `json:"actual"`
	Replay    string    `json:"replay"`
	// Reason and Rule say how the replay decided (Rule: the deciding
	// rule's name, when one did).
	Reason string `json:"reason"`
	Rule   string `json:"rule,omitempty"`
}

// Difference is a way in which the replay differs from what happened by
// necessity, with the leads it concerns (0 when it concerns every lead
// only possibly).
type Difference struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Leads   int64  `json:"leads"`
}

// The hot-score tiers of TierOutcome.
const (
	TierHot      = "hot"
	TierWarm     = "warm"
	TierCold     = "cold"
	TierUnscored = "unscored"
)

// tierOf is the tier of a lead with hot score s.
func tierOf(s *int64) string {
	switch {
	case s == nil:
		return TierUnscored
	case *s >= 70:
		return TierHot
	case *s >= 40:
		return TierWarm
	}
	return TierCold
}

// summary sums up a replay lead by lead.
type summary struct {
	cfg     *leads.AccountConfig
	sample  int
	res     Result
	reps    map[string]*Side
	reasons map[string]*Side
	rots    map[int64]map[string]*Side
	rules   map[int64]*Side
	tiers   map[string]map[string]*Side
	// explicit, deferred and moved count the leads of those differences.
	explicit, deferred, moved int64
	// waits are the waiting leads' waits.
	waits []time.Duration
	// last is the creation time of the lead before; sameInstant counts
	// the leads created at the same instant as the one before them.
	last        time.Time
	sameInstant int64
}

func newSummary(cfg *leads.AccountConfig, opts Options) *summary {
	sample := opts.Sample
	if sample <= 0 {
		sample = 20
	}
	return &summary{cfg: cfg, sample: sample,
		res:  Result{AccountID: opts.AccountID, From: opts.From.UTC(), To: opts.To.UTC(), Reasons: map[string]Side{}, ChangedSample: []ChangedLead{}},
		reps: map[string]*Side{}, reasons: map[string]*Side{}, rots: map[int64]map[string]*Side{}, rules: map[int64]*Side{}, tiers: map[string]map[string]*Side{}}
}

// side returns m's count for key, made on first use.
func side[K comparable](m map[K]*Side, key K) *Side {
	s := m[key]
	if s == nil {
		s = &Side{}
		m[key] = s
	}
	return s
}

// inner returns m's map for key, made on first use.
func inner[K comparable](m map[K]map[string]*Side, key K) map[string]*Side {
	in := m[key]
	if in == nil {
		in = map[string]*Side{}
		m[key] = in
	}
	return in
}

// actualOwner is who got h's lead when it was created: the recorded
// decision's assignee, or, for an assignment deferred then, who got it
// when the deferral was settled (its owner now, if that is not recorded).
func actualOwner(h leads.HistoricLead) string {
	if h.Actual.Event == leads.EventAssignmentDeferred && h.Actual.Assignee == "" {
		return h.Lead.AssignedTo
	}
	return h.Actual.Assignee
}

// actualReason is the recorded decision's reason, no_rotation when none
// was recorded.
func actualReason(h leads.HistoricLead) string {
	if h.Actual.Event == "" {
		return leads.AssignNoRotation
	}
	return h.Actual.Reason
}

func (s *summary) add(h leads.HistoricLead, r leads.Replayed) {
	if s.res.Leads > 0 && h.Lead.CreatedAt.Equal(s.last) {
		s.sameInstant++
	}
	s.last = h.Lead.CreatedAt
	s.res.Leads++
	actual, replay := actualOwner(h), r.Lead.AssignedTo
	side(s.reps, actual).Actual++
	side(s.reps, replay).Replay++
	tier := tierOf(h.Lead.HotScore)
	side(inner(s.tiers, tier), actual).Actual++
	side(inner(s.tiers, tier), replay).Replay++
	side(s.reasons, actualReason(h)).Actual++
	side(s.reasons, r.Assignment.Reason).Replay++
	if (h.Actual.Reason == leads.AssignRotation || h.Actual.Event == leads.EventAssignmentDeferred) && h.Actual.RotationID != 0 && actual != "" {
		side(inner(s.rots, h.Actual.RotationID), actual).Actual++
	}
	if a := r.Assignment; a.Reason == leads.AssignRotation && a.RotationID != 0 {
		side(inner(s.rots, a.RotationID), replay).Replay++
	}
	if h.Actual.Step == leads.StepRule && h.Actual.RuleID != 0 {
		side(s.rules, h.Actual.RuleID).Actual++
	}
	var rule string
	if d := r.Assignment.Decision; d != nil && d.Step == leads.StepRule && d.RuleID != 0 {
		side(s.rules, d.RuleID).Replay++
		rule = d.RuleName
	}

	if a := r.Assignment; a.Reason == leads.AssignWaiting {
		s.res.Waiting.Leads++
		if rot := s.cfg.Rotation(a.RotationID); rot != nil {
			if at, ok := s.cfg.AvailableAgain(rot, r.Lead.CreatedAt); ok {
				s.waits = append(s.waits, at.Sub(r.Lead.CreatedAt))
			} else {
				s.res.Waiting.Never++
			}
		}
	}
	switch {
	case h.Actual.Reason == leads.AssignExplicit:
		s.explicit++
	case h.Actual.Event == leads.EventAssignmentDeferred:
		s.deferred++
	}
	if h.Lead.AssignedTo != actual {
		s.moved++
	}
	if actual != replay {
		s.res.Changed++
		if len(s.res.ChangedSample) < s.sample {
			s.res.ChangedSample = append(s.res.ChangedSample, ChangedLead{LeadID: h.Lead.ID, CreatedAt: h.Lead.CreatedAt,
				Actual: actual, Replay: replay, Reason: r.Assignment.Reason, Rule: rule})
		}
	}
}

// repOutcomes lists m's reps in order of email.
func repOutcomes(m map[string]*Side) []RepOutcome {
	out := make([]RepOutcome, 0, len(m))
	for _, user := range slices.Sorted(maps.Keys(m)) {
		out = append(out, RepOutcome{User: user, Leads: *m[user]})
	}
	return out
}

func (s *summary) result() *Result {
	res := s.res
	res.Reps = repOutcomes(s.reps)
	for reason, side := range s.reasons {
		res.Reasons[reason] = *side
	}
	res.Rotations = []RotationOutcome{}
	for _, id := range slices.Sorted(maps.Keys(s.rots)) {
		res.Rotations = append(res.Rotations, s.rotationOutcome(id))
	}
	res.Rules = []RuleOutcome{}
	names := map[int64]string{}
	for _, r := range s.cfg.Rules {
		names[r.ID] = r.Name
	}
	for _, id := range slices.Sorted(maps.Keys(s.rules)) {
		res.Rules = append(res.Rules, RuleOutcome{ID: id, Name: names[id], Matched: *s.rules[id]})
	}
	res.Tiers = []TierOutcome{}
	for _, tier := range []string{TierHot, TierWarm, TierCold, TierUnscored} {
		m := s.tiers[tier]
		if m == nil {
			continue
		}
		t := TierOutcome{Tier: tier, Reps: repOutcomes(m)}
		for _, r := range t.Reps {
			t.Leads.Actual += r.Leads.Actual
			t.Leads.Replay += r.Leads.Replay
		}
		res.Tiers = append(res.Tiers, t)
	}
	if n := len(s.waits); n > 0 {
		slices.Sort(s.waits)
		at := func(q float64) leads.Duration { return leads.Duration(s.waits[min(n-1, int(q*float64(n)))]) }
		res.Waiting.P50, res.Waiting.P90, res.Waiting.Max = at(0.5), at(0.9), leads.Duration(s.waits[n-1])
	}
	res.Differences = s.differences()
	return &res
}

// rotationOutcome is rotation id's turns, its members' targets by the
// configuration's weights (a rotation it no longer has: none).
func (s *summary) rotationOutcome(id int64) RotationOutcome {
	turns := s.rots[id]
	out := RotationOutcome{ID: id, Members: []MemberOutcome{}}
	for _, t := range turns {
		out.Turns.Actual += t.Actual
		out.Turns.Replay += t.Replay
	}
	rot := s.cfg.Rotation(id)
	seen := map[string]bool{}
	if rot != nil {
		out.Name = rot.Name
		var total int
		for _, m := range rot.Members {
			total += max(m.Weight, 1)
		}
		for _, m := range rot.Members {
			seen[m.User] = true
			mo := MemberOutcome{User: m.User, Weight: max(m.Weight, 1)}
			if t := turns[m.User]; t != nil {
				mo.Turns = *t
			}
			mo.Target = float64(out.Turns.Replay) * float64(mo.Weight) / float64(total)
			mo.Deviation = float64(mo.Turns.Replay) - mo.Target
			out.Members = append(out.Members, mo)
		}
	}
	// Who had turns and is no longer a member.
	for _, user := range slices.Sorted(maps.Keys(turns)) {
		if !seen[user] {
			out.Members = append(out.Members, MemberOutcome{User: user, Turns: *turns[user]})
		}
	}
	return out
}

// differences states what the replay cannot reproduce.
func (s *summary) differences() []Difference {
	out := []Difference{{Code: "fields_now", Message: "leads are replayed with their fields, team and status as they are now, not as they were sent"}}
	if s.explicit > 0 {
		out = append(out, Difference{Code: "explicit_owner", Leads: s.explicit,
			Message: "leads whose input named their owner keep that owner (routed instead when the owner is not a member under this configuration)"})
	}
	if s.deferred > 0 {
		out = append(out, Difference{Code: "deferred", Leads: s.deferred,
			Message: "leads stored while their rotation could not answer were assigned later; the replay assigns them when created, and counts who got them then as what happened"})
	}
	if s.moved > 0 {
		out = append(out, Difference{Code: "reassigned", Leads: s.moved,
			Message: "leads whose owner changed after they were created (reassigned, SLA expiry, by hand): what happened is their first owner; the turns that moved them are taken again where they were taken, each by the member who got it, so that the rotation goes on as it did"})
	}
	if s.sameInstant > 0 {
		out = append(out, Difference{Code: "same_instant", Leads: s.sameInstant,
			Message: "leads created at the same instant as the one before them: a rotation's are replayed in the order of their turns, others in the order they were stored, which for leads of different rotations created on several servers at once may not be the order they were decided in"})
	}
	if s.hasCapacity() {
		out = append(out, Difference{Code: "capacity",
			Message: "open leads are counted from the statuses leads have now: a lead closed since counts as never open, so capacities bind less than they did; a lead created in the window and moved on in it counts as its first owner's"})
	}
	slices.SortStableFunc(out, func(a, b Difference) int { return cmp.Compare(b.Leads, a.Leads) })
	return out
}

// hasCapacity reports whether a rotation of the configuration caps open
// leads.
func (s *summary) hasCapacity() bool {
	for _, r := range s.cfg.Rotations() {
		for _, m := range r.Members {
			if m.MaxOpenLeads > 0 {
				return true
			}
		}
	}
	return false
}
