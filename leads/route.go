package leads

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// The decision order. With no assignedTo, a lead's owner is decided by
// the first of these steps that applies, the same in CreateLead (and its
// dry run), AssignLead and the background assigner, by one function
// (AccountConfig.route):
//
//  1. explicit: the input names assignedTo;
//  2. returning: the lead is a returning contact whose owner takes it;
//  3. rule: the first enabled routing rule whose conditions the lead
//     meets, and whose target is still there, routes it to a rotation,
//     assigns it to a member, sets its team (the team's rotation, else the
//     default, then applies) or holds it unassigned;
//  4. team: the lead's team's rotation;
//  5. default: the account's default rotation;
//  6. none: the lead stays unassigned.
const (
	StepExplicit  = "explicit"
	StepReturning = "returning"
	StepRule      = "rule"
	StepTeam      = "team"
	StepDefault   = "default"
	StepNone      = "none"
)

// Assignment reasons of the routing steps.
const (
	AssignReturning = "returning_owner" // the owner of the contact's earlier lead
	AssignRule      = "rule"            // a routing rule assigned the lead to a member
	AssignHeld      = "held"            // a routing rule (or the returning policy) holds the lead unassigned
)

// Outcomes of the returning-contact step (ReturningCheck.Outcome).
const (
	ReturningOwner     = "owner"      // the earlier lead's owner takes the lead
	ReturningOwnerGone = "owner_gone" // its owner is no longer a member: the policy's OwnerGone applies
	ReturningNone      = "none"       // no earlier lead matched
)

// ReturningCheck is what the returning-contact step (see ReturningPolicy)
// made of a lead.
type ReturningCheck struct {
	Outcome string `json:"outcome"`
	// MatchedBy is the key that matched, LeadID the earlier lead and
	// Owner its assignee.
	MatchedBy string `json:"matchedBy,omitempty"`
	LeadID    int64  `json:"leadId,omitempty"`
	Owner     string `json:"owner,omitempty"`
	// OwnerGone is the policy applied when the owner is gone.
	OwnerGone string `json:"ownerGone,omitempty"`
}

// freeMailDomains are email domains shared by unrelated people: a
// returning contact is never recognised by them.
var freeMailDomains = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "yahoo.com": true, "hotmail.com": true, "outlook.com": true,
	"live.com": true, "msn.com": true, "icloud.com": true, "me.com": true, "aol.com": true, "proton.me": true,
	"protonmail.com": true, "gmx.com": true, "gmx.de": true, "mail.com": true, "yandex.ru": true, "web.de": true,
}

// returningKey is l's value of the key by, "" when it has none (or its
// email domain is a free mail one).
func returningKey(l *Lead, by string) string {
	switch by {
	case MatchEmail:
		return EmailKey(l.Email)
	case MatchExternalID:
		return l.ExternalID
	case MatchPhone:
		return PhoneKey(l.Phone)
	case MatchEmailDomain:
		if d := emailDomain(l.Email); !freeMailDomains[d] {
			return d
		}
	}
	return ""
}

// returningCheck looks for an earlier lead of the contact l is from, as
// the account's ReturningPolicy says; nil when the policy is off or l
// names its assignee.
func (s *Service) returningCheck(ctx context.Context, cfg *AccountConfig, l *Lead, now time.Time) (*ReturningCheck, error) {
	p := cfg.Account.Returning
	if len(p.MatchBy) == 0 || l.AssignedTo != "" {
		return nil, nil
	}
	var since time.Time
	if p.WindowDays > 0 {
		since = now.AddDate(0, 0, -p.WindowDays)
	}
	for _, by := range p.MatchBy {
		value := returningKey(l, by)
		if value == "" {
			continue
		}
		find := s.findReturning
		if find == nil {
			find = s.store.ReturningLead
		}
		prev, err := find(ctx, l.AccountID, by, value, since)
		if err != nil {
			return nil, fmt.Errorf("find returning contact: %w", err)
		}
		if prev != nil {
			c := &ReturningCheck{Outcome: ReturningOwner, MatchedBy: by, LeadID: prev.ID, Owner: prev.AssignedTo}
			if _, member := cfg.Members[prev.AssignedTo]; !member {
				c.Outcome, c.OwnerGone = ReturningOwnerGone, p.OwnerGone
			}
			return c, nil
		}
	}
	return &ReturningCheck{Outcome: ReturningNone}, nil
}

// RoutingDecision is "why this rep": how a lead's owner was decided, kept
// with the lead (in the data of the audit entry that records the
// assignment, under "decision") and answered by a dry run.
type RoutingDecision struct {
	// Step is the step of the decision order that decided (StepRule…).
	Step string `json:"step"`
	// Returning is what the returning-contact step found, when the
	// account recognises returning contacts.
	Returning *ReturningCheck `json:"returning,omitempty"`
	// RuleDecision: the rules tried, in order, with the outcome of each
	// and the first condition that failed; the deciding rule and its
	// action.
	RuleDecision
	// RulesVersion is the configuration version of the rules tried
	// (AccountConfig.RulesVersion), which the store keeps them under.
	RulesVersion int64 `json:"rulesVersion,omitempty"`
	// Tried is how a lead's decision keeps Rules: one token per rule
	// tried, in order, against the rules of RulesVersion ("m" matched,
	// "d" disabled, "x" target missing, else the path of the condition
	// that failed under conditions: "all[4]", "." for conditions itself),
	// a few bytes where Rules take hundreds a rule. The create path makes
	// and stores only this; LeadRouting and dry runs describe Rules from
	// it (and leave it empty).
	Tried string `json:"tried,omitempty"`
	// TeamID is the team a rule's team action set.
	TeamID int64 `json:"teamId,omitempty"`
	// HoldReason is a hold action's reason.
	HoldReason string `json:"holdReason,omitempty"`
	// Eligible lists the rotation's members who could take a turn when
	// it was taken: not paused, and not passed over for their daily cap.
	// Who was passed over, and why, is the assignment's skipped.
	Eligible []string `json:"eligible,omitempty"`
}

// routing is where a lead goes before any turn is taken: decided already
// (assignment), or by a turn of rot.
type routing struct {
	decision   *RoutingDecision
	assignment Assignment
	rot        *Rotation
	// teamID is the team a rule's team action gives the lead; 0 for no change.
	teamID int64
}

// route decides, in the decision order, where lead l goes: to an
// assignee already known, nowhere, or to a turn of a rotation, which the
// caller takes. It reads l and changes nothing. A rule that cannot be
// evaluated (a stored rule always can) is an internal error.
func (c *AccountConfig) route(l *Lead, ret *ReturningCheck) (routing, error) {
	if l.AssignedTo != "" {
		return routing{assignment: Assignment{Assignee: l.AssignedTo, Reason: AssignExplicit}}, nil
	}
	d := &RoutingDecision{Returning: ret, RulesVersion: c.RulesVersion}
	if ret != nil && (ret.Outcome == ReturningOwner || ret.OwnerGone == OwnerGoneHold) {
		d.Step = StepReturning
		if ret.Outcome == ReturningOwner {
			return routing{decision: d, assignment: Assignment{Assignee: ret.Owner, Reason: AssignReturning}}, nil
		}
		d.HoldReason = "the returning contact's owner is no longer a member"
		return routing{decision: d, assignment: Assignment{Reason: AssignHeld}}, nil
	}
	rt, err := c.routeByRules(l, d)
	if err == nil && rt.rot != nil && ret != nil && ret.OwnerGone == OwnerGoneFallback && rt.rot.FallbackAssignee != "" {
		rt.assignment = Assignment{Assignee: rt.rot.FallbackAssignee, RotationID: rt.rot.ID, RotationName: rt.rot.Name, Reason: AssignFallback}
		rt.rot = nil
	}
	return rt, err
}

// routeByRules is route from the rules on: the rules, then the team's
// rotation, then the default one.
func (c *AccountConfig) routeByRules(l *Lead, d *RoutingDecision) (routing, error) {
	tried, decided, err := c.tryRules(l)
	if err != nil {
		return routing{}, err
	}
	d.Tried = tried
	if c.RulesVersion == 0 {
		// No store keeps these rules (a configuration made by hand): the
		// decision describes them now, not when it is read.
		d.describe(c.Rules, c.conditionWords)
	}
	if decided >= 0 {
		r := &c.Rules[decided]
		d.RuleID, d.RuleName, d.Action = r.ID, r.Name, &r.Action
	}
	teamID := l.TeamID
	rt := routing{decision: d}
	if a := d.Action; a != nil {
		d.Step = StepRule
		switch a.Type {
		case ActionRotation:
			rt.rot = c.Rotation(a.RotationID)
			return rt, nil
		case ActionAssign:
			rt.assignment = Assignment{Assignee: a.Assignee, Reason: AssignRule}
			return rt, nil
		case ActionHold:
			d.HoldReason = a.Reason
			rt.assignment = Assignment{Reason: AssignHeld}
			return rt, nil
		case ActionTeam:
			d.TeamID, rt.teamID, teamID = a.TeamID, a.TeamID, a.TeamID
		}
	}
	if r := c.TeamRotations[teamID]; r != nil && teamID != 0 {
		rt.rot = r
		if d.Step == "" {
			d.Step = StepTeam
		}
		return rt, nil
	}
	if c.DefaultRotation != nil {
		rt.rot = c.DefaultRotation
		if d.Step == "" {
			d.Step = StepDefault
		}
		return rt, nil
	}
	if d.Step == "" {
		d.Step = StepNone
	}
	rt.assignment = Assignment{Reason: AssignNoRotation}
	return rt, nil
}

// applyTeam gives l the team a rule's team action set: its lead source is
// dropped when it is another team's.
func (c *AccountConfig) applyTeam(l *Lead, teamID int64) {
	if teamID == 0 || teamID == l.TeamID {
		return
	}
	l.TeamID = teamID
	if src := c.LeadSources[l.LeadSourceID]; src != nil && src.TeamID != teamID {
		l.LeadSourceID = 0
	}
}

// eligibleMembers lists rot's members who could take a turn: not paused,
// not away (see availableView), and not passed over by it.
func eligibleMembers(rot *Rotation, skipped []Skip) []string {
	out := make([]string, 0, len(rot.Members))
	for _, m := range rot.Members {
		if m.Paused || m.Away != "" || slices.ContainsFunc(skipped, func(s Skip) bool { return s.User == m.User }) {
			continue
		}
		out = append(out, m.User)
	}
	return out
}

// decided is the assignment when no turn decides: the one route made,
// or none when a rotation applies but there is no rotator to take its turn.
func (rt routing) decided() Assignment {
	a := rt.assignment
	if rt.rot != nil {
		a = Assignment{Reason: AssignNoRotation}
	}
	a.Decision = rt.decision
	return a
}

// withTurn is a, which a turn of view (rt's rotation as the turn saw it)
// gave, with the decision that led to it, completed by who was eligible.
func (rt routing) withTurn(view *Rotation, a Assignment) Assignment {
	if d := rt.decision; d != nil {
		d.Eligible = eligibleMembers(view, a.Skipped)
	}
	a.Decision = rt.decision
	return a
}

// reassignable refuses, for AssignLead, a routing that gives the lead no
// new owner: NO_ROTATION when a rule holds it (naming the rule and its
// reason), or when no rotation applies (or there is no rotator to take
// its turn).
func (rt routing) reassignable(haveRotator bool) error {
	switch {
	case rt.rot != nil && haveRotator:
		return nil
	case rt.assignment.Reason == AssignRule:
		return nil
	case rt.assignment.Reason == AssignHeld:
		d := rt.decision
		return &Error{Code: CodeNoRotation, Message: fmt.Sprintf("routing rule %q holds this lead: %s", d.RuleName, d.HoldReason),
			Details: map[string]any{"ruleId": d.RuleID}}
	}
	return Errorf(CodeNoRotation, "no rotation applies to this lead")
}

// RoutingRecord is one decision of a lead's owner, as kept in its audit
// log: who was given the lead (or why nobody), by which step of the
// decision order, and why.
type RoutingRecord struct {
	// AuditID is the audit entry that records it.
	AuditID int64 `json:"auditId"`
	// Event is lead_assigned, lead_not_assigned, lead_reassigned or
	// assignment_deferred.
	Event string    `json:"event"`
	At    time.Time `json:"at"`
	// By is who made the decision happen: the creator, the user who
	// reassigned, or "system" (the background assigner).
	By string `json:"by"`
	// Deferred is set when the background assigner settled a lead that
	// had waited for its rotation.
	Deferred bool `json:"deferred,omitempty"`
	Assignment
}

// routingEvents are the audit events that record a decision of a lead's owner.
var routingEvents = []string{EventLeadAssigned, EventLeadNotAssigned, EventLeadReassigned, EventAssignmentDeferred}

// LeadRouting returns the decisions of lead id's owner, oldest first, as
// they were made and kept (history, not a recomputation under today's
// rules); NOT_FOUND for a lead not in actor's account.
func (s *Service) LeadRouting(ctx context.Context, actor Actor, id int64) ([]RoutingRecord, error) {
	lead, err := s.Lead(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	out := []RoutingRecord{}
	versions := map[int64][]RoutingRule{} // the rules of each version, read once
	for _, e := range lead.AuditLog {
		if !slices.Contains(routingEvents, e.Event) {
			continue
		}
		r := RoutingRecord{AuditID: e.ID, Event: e.Event, At: e.Created, By: e.User, Assignment: assignmentOf(e)}
		r.Deferred, _ = e.Data["deferred"].(bool)
		if d := r.Decision; d != nil && d.Tried != "" {
			rules, ok := versions[d.RulesVersion]
			if !ok {
				rules, err = s.store.RoutingRulesAt(ctx, actor.AccountID, d.RulesVersion)
				if err != nil && ErrorCode(err) != CodeNotFound {
					return nil, fmt.Errorf("routing of lead %d: %w", id, err)
				}
				versions[d.RulesVersion] = rules
			}
			d.describe(rules, func(i int, path string) string {
				if m, err := CompileCondition(rules[i].Conditions, "conditions"); err == nil {
					return m.ConditionAt(path)
				}
				return ""
			})
		}
		out = append(out, r)
	}
	return out, nil
}

// describe reads Rules back from Tried against rules, the rules it was
// tried on (see describeTried); d stays as it is when they do not fit.
func (d *RoutingDecision) describe(rules []RoutingRule, words func(i int, path string) string) {
	if traces := describeTried(d.Tried, rules, words); traces != nil {
		d.Rules, d.Tried = traces, ""
	}
}

// assignmentOf reads the Assignment an audit entry of routingEvents
// records (a reassignment's to as its assignee).
func assignmentOf(e AuditEntry) Assignment {
	var a Assignment
	if b, err := json.Marshal(e.Data); err == nil {
		_ = json.Unmarshal(b, &a) // the entry was written from an Assignment
	}
	if to, ok := e.Data["to"].(string); ok && e.Event == EventLeadReassigned {
		a.Assignee = to
	}
	return a
}
