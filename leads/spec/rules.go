package spec

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/leadrotor/leadrotor/leads"
)

// RoutingRule is a routing rule, found by name without regard to case (as
// the account keeps rule names unique), that must exist as declared.
type RoutingRule struct {
	Name string `json:"name"`
	// Enabled is true when not given.
	Enabled    *bool           `json:"enabled,omitempty"`
	Conditions leads.Condition `json:"conditions"`
	Action     RuleAction      `json:"action"`
}

// RuleAction is a routing rule's action as a file declares it: its target
// by name, not by id, so that it may be a rotation or team the same file
// creates. Rotation names any rotation of the account (pool, team or
// default) under the name it has once the file is applied; Team a team.
type RuleAction struct {
	Type     leads.RuleActionType `json:"type"`
	Rotation string               `json:"rotation,omitempty"`
	Team     string               `json:"team,omitempty"`
	Assignee string               `json:"assignee,omitempty"`
	Reason   string               `json:"reason,omitempty"`
}

// enabled says whether the rule is enabled: by default, it is.
func (rs RoutingRule) enabled() bool { return rs.Enabled == nil || *rs.Enabled }

// rule returns the leads.RoutingRule rs declares, with the ids of its
// action's rotation and team.
func (rs RoutingRule) rule(rotationID, teamID int64) leads.RoutingRule {
	return leads.RoutingRule{Name: rs.Name, Enabled: rs.enabled(), Conditions: rs.Conditions,
		Action: leads.RuleAction{Type: rs.Action.Type, RotationID: rotationID, TeamID: teamID, Assignee: rs.Action.Assignee, Reason: rs.Action.Reason}}
}

// normalizedRules validates rules as leads.RoutingRule.Validate does and
// returns them normalized (names trimmed, Enabled set, assignees
// lower-cased); errors name fields under routingRules[i], the action's
// targets as the file names them (action.rotation, action.team).
func normalizedRules(rules []RoutingRule) ([]RoutingRule, error) {
	out := make([]RoutingRule, len(rules))
	seen := make(map[string]bool, len(rules))
	for i, rs := range rules {
		path := fmt.Sprintf("routingRules[%d]", i)
		rs.Action.Rotation, rs.Action.Team = strings.TrimSpace(rs.Action.Rotation), strings.TrimSpace(rs.Action.Team)
		// Any id will do for a named target: Validate checks which targets
		// the action's type takes; names are resolved when planning.
		r := rs.rule(placeholderID(rs.Action.Rotation), placeholderID(rs.Action.Team))
		if err := r.Validate(); err != nil {
			return nil, atPath(err, func(field string) string {
				field = strings.NewReplacer("action.rotationId", "action.rotation", "action.teamId", "action.team").Replace(field)
				return path + "." + field
			})
		}
		key := strings.ToLower(r.Name)
		if seen[key] {
			return nil, leads.ValidationError(leads.FieldError{Field: path + ".name", Value: r.Name,
				Message: fmt.Sprintf("Appears twice in routingRules: rule names are compared without regard to case (%q)", r.Name)})
		}
		seen[key] = true
		enabled := r.Enabled
		out[i] = RoutingRule{Name: r.Name, Enabled: &enabled, Conditions: r.Conditions, Action: RuleAction{Type: r.Action.Type,
			Rotation: rs.Action.Rotation, Team: rs.Action.Team, Assignee: r.Action.Assignee, Reason: r.Action.Reason}}
	}
	return out, nil
}

// placeholderID stands for the id of a target the file names: 1 when it
// names one, 0 when it does not.
func placeholderID(name string) int64 {
	if name == "" {
		return 0
	}
	return 1
}

// rotationRef is a rotation as the account has it once the plan is
// applied: an existing one (id) under the name the spec gives it, or one
// the plan creates (id 0; object names its plan item).
type rotationRef struct {
	id     int64
	object string
	name   string
}

// rotationID returns the rotation's id when applying; with run nil, as
// known when planning (0 for one the plan creates).
func (ref rotationRef) rotationID(run *applyRun) int64 {
	if ref.id != 0 || run == nil {
		return ref.id
	}
	return run.rotationIDs[ref.object]
}

// ruleTarget is where a rule of the file sends leads: the ids known when
// planning (0 for a rotation or team the plan creates), and how to find
// them when applying.
type ruleTarget struct {
	rotation *rotationRef
	team     string
	teamID   int64
}

// ids returns the rotation's and team's ids; with run nil, as known when
// planning.
func (t ruleTarget) ids(run *applyRun) (rotationID, teamID int64) {
	switch {
	case t.rotation != nil:
		return t.rotation.rotationID(run), 0
	case t.team != "" && run != nil:
		return 0, run.teamIDs[t.team]
	}
	return 0, t.teamID
}

// resolveTarget resolves the names rule i's action gives: a rotation among
// the account's rotations as the plan leaves them, a team among the
// account's teams and those of teams. VALIDATION_ERROR, naming
// routingRules[i].action.rotation or .team, when no rotation or team has
// the name, or several rotations do.
func (p *planner) resolveTarget(rs RoutingRule, i int, teams []Team) (ruleTarget, error) {
	path := fmt.Sprintf("routingRules[%d].action.", i)
	switch {
	case rs.Action.Rotation != "":
		var found []rotationRef
		for _, ref := range p.rotations {
			if ref.name == rs.Action.Rotation {
				found = append(found, ref)
			}
		}
		switch len(found) {
		case 0:
			return ruleTarget{}, leads.ValidationError(leads.FieldError{Field: path + "rotation", Value: rs.Action.Rotation,
				Message: "Is not the name of a rotation of this account or of the file (names are compared exactly)"})
		case 1:
			return ruleTarget{rotation: &found[0]}, nil
		}
		return ruleTarget{}, leads.ValidationError(leads.FieldError{Field: path + "rotation", Value: rs.Action.Rotation,
			Message: fmt.Sprintf("Names %d rotations of this account; give the one meant a name of its own", len(found))})
	case rs.Action.Team != "":
		id, exists := p.plan.teamIDs[rs.Action.Team]
		if !exists && !slices.ContainsFunc(teams, func(t Team) bool { return t.Name == rs.Action.Team }) {
			return ruleTarget{}, leads.ValidationError(leads.FieldError{Field: path + "team", Value: rs.Action.Team,
				Message: "Is not the name of a team of this account or of the file (names are compared exactly)"})
		}
		return ruleTarget{team: rs.Action.Team, teamID: id}, nil
	}
	return ruleTarget{}, nil
}

// planRules plans the rules of the file, then their order, then lists the
// account's other rules, kept after them. A rule is created at its place in
// the file's order, so that the order needs no change when the account's
// rules already come in it.
func (p *planner) planRules(rules []RoutingRule, teams []Team) error {
	// order is the account's rules, by lower-cased name, as they will be
	// once the file's new rules are created; refs finds each of the file's
	// rules' id when applying.
	byName := make(map[string]*leads.RoutingRule, len(p.cfg.Rules))
	order := make([]string, len(p.cfg.Rules))
	for i := range p.cfg.Rules {
		order[i] = strings.ToLower(p.cfg.Rules[i].Name)
		byName[order[i]] = &p.cfg.Rules[i]
	}
	before := slices.Clone(order)
	refs := make(map[string]func(run *applyRun) int64, len(rules))
	for i, rs := range rules {
		target, err := p.resolveTarget(rs, i, teams)
		if err != nil {
			return err
		}
		key := strings.ToLower(rs.Name)
		cur := byName[key]
		if cur == nil {
			order = slices.Insert(order, min(i, len(order)), key)
		}
		refs[key] = p.planRule(rs, i, cur, target)
	}
	if len(rules) > 0 {
		p.planRuleOrder(rules, before, order, refs)
	}
	for _, r := range p.cfg.Rules {
		if refs[strings.ToLower(r.Name)] == nil {
			it := Item{Kind: Kept, Object: fmt.Sprintf("routing rule %q", r.Name)}
			if len(rules) > 0 {
				it.Details = []string{"after the file's rules"}
			}
			p.add(it)
		}
	}
	return nil
}

// planRule plans rule i of the file: created at position i when cur is
// nil, else updated when they differ. It returns how to find the rule's id
// when applying.
func (p *planner) planRule(rs RoutingRule, i int, cur *leads.RoutingRule, target ruleTarget) func(run *applyRun) int64 {
	it := Item{Kind: Unchanged, Object: fmt.Sprintf("routing rule %q", rs.Name), perm: leads.PermWriteConfig}
	want := func(run *applyRun) leads.RoutingRule { return rs.rule(target.ids(run)) }
	if cur == nil {
		it.Kind, it.Details = Create, ruleSettings(rs)
		it.apply = func(ctx context.Context, run *applyRun) error {
			created, err := run.svc.CreateRoutingRule(ctx, run.actor, want(run), i)
			if err != nil {
				return err
			}
			run.ruleIDs[strings.ToLower(rs.Name)] = created.ID
			return nil
		}
		p.add(it)
		return func(run *applyRun) int64 { return run.ruleIDs[strings.ToLower(rs.Name)] }
	}
	if diff := p.ruleDiff(cur, rs, want(nil)); len(diff) > 0 {
		it.Kind, it.Details = Update, diff
		id := cur.ID
		it.apply = func(ctx context.Context, run *applyRun) error {
			next := want(run)
			_, err := run.svc.UpdateRoutingRule(ctx, run.actor, id, func(r *leads.RoutingRule) error {
				r.Name, r.Enabled, r.Conditions, r.Action = next.Name, next.Enabled, next.Conditions, next.Action
				return nil
			})
			return err
		}
	}
	p.add(it)
	id := cur.ID
	return func(*applyRun) int64 { return id }
}

// planRuleOrder plans putting the file's rules first, in the file's order:
// order is the account's rules (by lower-cased name) once the file's new
// ones are created, before as they are now.
func (p *planner) planRuleOrder(rules []RoutingRule, before, order []string, refs map[string]func(run *applyRun) int64) {
	want := make([]string, 0, len(order))
	for _, rs := range rules {
		want = append(want, strings.ToLower(rs.Name))
	}
	for _, key := range order {
		if !slices.Contains(want, key) {
			want = append(want, key)
		}
	}
	it := Item{Kind: Unchanged, Object: "order of routing rules", perm: leads.PermWriteConfig}
	if !slices.Equal(order, want) {
		names := p.ruleNames(rules)
		it.Kind, it.Details = Update, []string{fmt.Sprintf("%s -> %s", names(before), names(want))}
		it.apply = func(ctx context.Context, run *applyRun) error {
			ids := make([]int64, len(rules))
			for i, rs := range rules {
				ids[i] = refs[strings.ToLower(rs.Name)](run)
			}
			_, err := run.svc.ReorderRoutingRules(ctx, run.actor, ids)
			return err
		}
	}
	p.add(it)
}

// ruleNames returns a function that writes a list of rules, given by
// lower-cased name, under the names they will have: ["A", "B"].
func (p *planner) ruleNames(rules []RoutingRule) func(keys []string) string {
	names := make(map[string]string, len(p.cfg.Rules)+len(rules))
	for _, r := range p.cfg.Rules {
		names[strings.ToLower(r.Name)] = r.Name
	}
	for _, rs := range rules {
		names[strings.ToLower(rs.Name)] = rs.Name
	}
	return func(keys []string) string {
		quoted := make([]string, len(keys))
		for i, k := range keys {
			quoted[i] = fmt.Sprintf("%q", names[k])
		}
		return "[" + strings.Join(quoted, ", ") + "]"
	}
}

// ruleSettings describes a rule to create: whether it is disabled, its
// conditions and its action.
func ruleSettings(rs RoutingRule) []string {
	var out []string
	if !rs.enabled() {
		out = append(out, "enabled: false")
	}
	return append(out, "conditions: "+rs.Conditions.String(), "action: "+rs.Action.String())
}

// ruleDiff describes what changes from cur to rs, whose rule with the
// targets known when planning is want; nothing when they agree. The
// action's target is compared by id: a rotation the same file renames is
// still the same rotation, and one it creates is a change.
func (p *planner) ruleDiff(cur *leads.RoutingRule, rs RoutingRule, want leads.RoutingRule) []string {
	var action fieldChange
	if cur.Action != want.Action {
		action = fieldChange{"action", p.fileAction(cur.Action).String(), rs.Action.String()}
		if action.from == action.to {
			// A rotation this file creates, named as the one it renames.
			action.to += " (another one)"
		}
	}
	return fieldDiffs(
		quoted("name", cur.Name, want.Name),
		fieldChange{"enabled", strconv.FormatBool(cur.Enabled), strconv.FormatBool(want.Enabled)},
		fieldChange{"conditions", cur.Conditions.String(), want.Conditions.String()},
		action,
	)
}

// fileAction returns an account's rule action as a file declares it, its
// targets under their names now (or their ids, when they are gone).
func (p *planner) fileAction(a leads.RuleAction) RuleAction {
	out := RuleAction{Type: a.Type, Assignee: a.Assignee, Reason: a.Reason}
	if a.RotationID != 0 {
		out.Rotation = fmt.Sprintf("#%d, which is gone", a.RotationID)
		if r := p.cfg.Rotation(a.RotationID); r != nil {
			out.Rotation = r.Name
		}
	}
	if a.TeamID != 0 {
		out.Team = fmt.Sprintf("#%d, which is gone", a.TeamID)
		if t := p.cfg.Teams[a.TeamID]; t != nil {
			out.Team = t.Name
		}
	}
	return out
}

// String writes the action as a plan shows it: rotation "Hot leads",
// team "Inbound", assign ann@example.com, hold "looks like spam".
func (a RuleAction) String() string {
	switch a.Type {
	case leads.ActionRotation:
		return fmt.Sprintf("rotation %q", a.Rotation)
	case leads.ActionTeam:
		return fmt.Sprintf("team %q", a.Team)
	case leads.ActionAssign:
		return "assign " + a.Assignee
	case leads.ActionHold:
		return fmt.Sprintf("hold %q", a.Reason)
	}
	return string(a.Type)
}
