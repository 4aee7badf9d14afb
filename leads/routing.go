package leads

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxRoutingRules bounds an account's routing rules.
const MaxRoutingRules = 200

// RuleActionType is what a routing rule does with a lead it matches.
type RuleActionType string

// The actions.
const (
	// ActionRotation gives the lead a turn of the rule's rotation.
	ActionRotation RuleActionType = "rotation"
	// ActionAssign assigns the lead to a member.
	ActionAssign RuleActionType = "assign"
	// ActionTeam sets the lead's team; the team's rotation then applies.
	ActionTeam RuleActionType = "team"
	// ActionHold leaves the lead unassigned, with the rule's reason.
	ActionHold RuleActionType = "hold"
)

// RuleAction is a routing rule's action and its target.
type RuleAction struct {
	Type       RuleActionType `json:"type"`
	RotationID int64          `json:"rotationId,omitempty"`
	Assignee   string         `json:"assignee,omitempty"`
	TeamID     int64          `json:"teamId,omitempty"`
	Reason     string         `json:"reason,omitempty"`
}

// RoutingRule sends the leads that meet its conditions somewhere. An
// account's rules are ordered; the first enabled rule whose conditions a
// lead meets decides.
type RoutingRule struct {
	ID         int64      `json:"id"`
	AccountID  string     `json:"accountId"`
	Name       string     `json:"name"`
	Enabled    bool       `json:"enabled"`
	Conditions Condition  `json:"conditions"`
	Action     RuleAction `json:"action"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
}

// Validate normalizes and checks the rule alone: a name, conditions that
// compile, and an action with the target its type needs and no other.
// Refusals name the field (name, conditions.all[1].op, action.teamId).
func (r *RoutingRule) Validate() error {
	r.Name = strings.TrimSpace(r.Name)
	if r.Name == "" {
		return ValidationError(FieldError{"name", r.Name, "Is required"})
	}
	if err := checkText("name", r.Name, MaxShortTextLength); err != nil {
		return err
	}
	if _, err := CompileCondition(r.Conditions, "conditions"); err != nil {
		return err
	}
	a := &r.Action
	a.Assignee, a.Reason = EmailKey(a.Assignee), strings.TrimSpace(a.Reason)
	targets := map[RuleActionType]string{ActionRotation: "rotationId", ActionAssign: "assignee", ActionTeam: "teamId", ActionHold: "reason"}
	need, ok := targets[a.Type]
	if !ok {
		return ValidationError(FieldError{"action.type", string(a.Type), "Must be rotation, assign, team or hold"})
	}
	given := map[string]bool{"rotationId": a.RotationID != 0, "assignee": a.Assignee != "", "teamId": a.TeamID != 0, "reason": a.Reason != ""}
	for _, f := range []string{"rotationId", "assignee", "teamId", "reason"} {
		switch {
		case f == need && !given[f]:
			return ValidationError(FieldError{"action." + f, nil, fmt.Sprintf("Is required by a %s action", a.Type)})
		case f != need && given[f]:
			return ValidationError(FieldError{"action." + f, nil, fmt.Sprintf("Is not taken by a %s action", a.Type)})
		}
	}
	switch {
	case a.RotationID < 0:
		return ValidationError(FieldError{"action.rotationId", a.RotationID, "Must be a rotation's id"})
	case a.TeamID < 0:
		return ValidationError(FieldError{"action.teamId", a.TeamID, "Must be a team's id"})
	case a.Assignee != "" && !ValidEmail(a.Assignee):
		return ValidationError(FieldError{"action.assignee", a.Assignee, "Must be a valid email address"})
	}
	return checkText("action.reason", a.Reason, MaxShortTextLength)
}

// checkTargets refuses a rule whose action names a rotation, team or
// member that is not the account's (a rule saved earlier whose target has
// gone since is kept, and skipped when leads are routed).
func (r *RoutingRule) checkTargets(cfg *AccountConfig) error {
	const at = "action."
	switch a := r.Action; a.Type {
	case ActionRotation:
		if cfg.Rotation(a.RotationID) == nil {
			return ValidationError(FieldError{at + "rotationId", a.RotationID, "Is not a rotation of this account"})
		}
	case ActionTeam:
		if cfg.Teams[a.TeamID] == nil {
			return ValidationError(FieldError{at + "teamId", a.TeamID, "Is not a team of this account"})
		}
	case ActionAssign:
		if _, ok := cfg.Members[a.Assignee]; !ok {
			return MemberNotInAccount(a.Assignee, at+"assignee")
		}
	}
	return nil
}

// RoutingRules returns actor's account's routing rules, in their order.
func (s *Service) RoutingRules(ctx context.Context, actor Actor) ([]RoutingRule, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	return slices.Clone(cfg.Rules), nil
}

// Rule outcomes in a RuleTrace.
const (
	RuleMatched       = "matched"
	RuleNotMatched    = "not_matched"
	RuleDisabled      = "disabled"
	RuleTargetMissing = "target_missing"
)

// RuleTrace is what one rule made of a lead.
type RuleTrace struct {
	RuleID int64  `json:"ruleId"`
	Name   string `json:"name"`
	// Outcome is matched, not_matched, disabled, or target_missing (it
	// matched, but its rotation, team or member is gone: skipped).
	Outcome string `json:"outcome"`
	// FailedCondition is the path of the condition that decided a
	// not_matched (conditions.all[1]), Condition its words.
	FailedCondition string `json:"failedCondition,omitempty"`
	Condition       string `json:"condition,omitempty"`
}

// RuleDecision is what an account's rules make of a lead: each rule tried
// in order up to the first that matched, and that rule's action.
type RuleDecision struct {
	Rules []RuleTrace `json:"rules,omitempty"`
	// RuleID, RuleName and Action are the deciding rule's; 0, "" and nil
	// when none matched (the team's rotation, else the default, then
	// applies).
	RuleID   int64       `json:"ruleId,omitempty"`
	RuleName string      `json:"ruleName,omitempty"`
	Action   *RuleAction `json:"action,omitempty"`
}

// EvaluateRoutingRules tries actor's account's live rules, in order, on the
// lead in would be, without creating it: what `leadrotor route test` and a
// rules page show. The lead is normalized as CreateLead does; it is not
// validated.
func (s *Service) EvaluateRoutingRules(ctx context.Context, actor Actor, in LeadInput) (*RuleDecision, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	return EvaluateRules(cfg, cfg.Rules, in)
}

// EvaluateRules is EvaluateRoutingRules over rules of one's own instead of
// the account's live ones, their targets looked up in cfg: the console
// tries an edit before it is saved by passing the account's rules with the
// edited one in its place. The lead is normalized as CreateLead does; it is
// not validated. A rule whose conditions do not compile is refused with
// CompileCondition's VALIDATION_ERROR.
func EvaluateRules(cfg *AccountConfig, rules []RoutingRule, in LeadInput) (*RuleDecision, error) {
	in.Normalize()
	with := *cfg
	with.Rules, with.matchers = rules, nil
	return evaluateRules(&with, &Lead{AccountID: cfg.Account.ID, LeadInput: in})
}

// evaluateRules tries cfg's rules on l, in order, up to the first match
// whose target is there, and describes each rule tried. A stored rule
// always compiles (it was checked when saved); one that does not is an
// internal error.
func evaluateRules(cfg *AccountConfig, l *Lead) (*RuleDecision, error) {
	tried, decided, err := cfg.tryRules(l)
	if err != nil {
		return nil, err
	}
	d := &RuleDecision{Rules: describeTried(tried, cfg.Rules, cfg.conditionWords)}
	if decided >= 0 {
		r := &cfg.Rules[decided]
		d.RuleID, d.RuleName, d.Action = r.ID, r.Name, &r.Action
	}
	return d, nil
}

// tryRules tries cfg's rules on l, in order, up to the first match whose
// target is there (decided, its index; -1 when none), and says what each
// rule tried made of l in the compact form a lead's decision keeps
// (RoutingDecision.Tried): the create path writes no more than that.
func (c *AccountConfig) tryRules(l *Lead) (tried string, decided int, err error) {
	if len(c.Rules) == 0 {
		return "", -1, nil
	}
	var b strings.Builder
	b.Grow(8 * len(c.Rules))
	view := NewLeadView(l)
	for i := range c.Rules {
		if i > 0 {
			b.WriteByte(' ')
		}
		r := &c.Rules[i]
		if !r.Enabled {
			b.WriteByte(triedDisabled)
			continue
		}
		m, err := c.matcher(i)
		if err != nil {
			return "", -1, fmt.Errorf("routing rule %d: %w", r.ID, err)
		}
		ok, failed := m.Match(view)
		switch {
		case !ok:
			if p := strings.TrimPrefix(strings.TrimPrefix(failed, "conditions"), "."); p != "" {
				b.WriteString(p)
			} else {
				b.WriteByte(triedRoot)
			}
		case r.checkTargets(c) != nil:
			b.WriteByte(triedTargetMissing)
		default:
			b.WriteByte(triedMatched)
			return b.String(), i, nil
		}
	}
	return b.String(), -1, nil
}

// The one-byte tokens of a compact list of rules tried; any other token is
// the path of the condition that failed, under conditions.
const (
	triedMatched       = 'm'
	triedDisabled      = 'd'
	triedTargetMissing = 'x'
	triedRoot          = '.' // conditions itself failed
)

// describeTried reads a compact list of rules tried (see tryRules) back
// into traces, against rules, the rules it was tried on; words gives a
// condition of rule i as a person reads it. It returns nil when the list
// does not fit the rules.
func describeTried(tried string, rules []RoutingRule, words func(i int, path string) string) []RuleTrace {
	tokens := strings.Fields(tried)
	if len(tokens) > len(rules) {
		return nil
	}
	traces := make([]RuleTrace, len(tokens))
	for i, tok := range tokens {
		r := &rules[i]
		t := RuleTrace{RuleID: r.ID, Name: r.Name}
		switch tok {
		case string(triedMatched):
			t.Outcome = RuleMatched
		case string(triedDisabled):
			t.Outcome = RuleDisabled
		case string(triedTargetMissing):
			t.Outcome = RuleTargetMissing
		default:
			t.Outcome, t.FailedCondition = RuleNotMatched, "conditions"
			if tok != string(triedRoot) {
				t.FailedCondition += "." + tok
			}
			t.Condition = words(i, t.FailedCondition)
		}
		traces[i] = t
	}
	return traces
}

// conditionWords is the condition at path of rule i as a person reads it.
func (c *AccountConfig) conditionWords(i int, path string) string {
	m, err := c.matcher(i)
	if err != nil {
		return ""
	}
	return m.ConditionAt(path)
}

// compileRules compiles the configuration's rules once, when it is
// loaded, for every lead routed under it.
func (c *AccountConfig) compileRules() {
	c.matchers = make([]*Matcher, len(c.Rules))
	for i, r := range c.Rules {
		if m, err := CompileCondition(r.Conditions, "conditions"); err == nil {
			c.matchers[i] = m
		}
	}
}

// matcher returns rule i's compiled conditions: compiled when the
// configuration was loaded, or now (a configuration made otherwise, or a
// rule that did not compile, which then says why).
func (c *AccountConfig) matcher(i int) (*Matcher, error) {
	if i < len(c.matchers) && c.matchers[i] != nil && len(c.matchers) == len(c.Rules) {
		return c.matchers[i], nil
	}
	return CompileCondition(c.Rules[i].Conditions, "conditions")
}

// RoutingRule returns rule id of actor's account; NOT_FOUND when it has none.
func (s *Service) RoutingRule(ctx context.Context, actor Actor, id int64) (*RoutingRule, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(cfg.Rules, func(r RoutingRule) bool { return r.ID == id })
	if i < 0 {
		return nil, notFound("routing rule")
	}
	r := cfg.Rules[i]
	return &r, nil
}

// CreateRoutingRule adds a rule to actor's account at position (0 first,
// the number of rules or a negative one last); managers and admins.
// VALIDATION_ERROR names what is wrong (as Validate, a position past the
// last, a target that is not the account's, and more than MaxRoutingRules
// rules); CONFLICT when another rule has the name.
func (s *Service) CreateRoutingRule(ctx context.Context, actor Actor, r RoutingRule, position int) (*RoutingRule, error) {
	pos := position
	rules, err := s.changeRules(ctx, actor, func(cfg *AccountConfig, rules []RoutingRule, now time.Time) ([]RoutingRule, []AuditEntry, error) {
		r.ID, r.AccountID, r.CreatedAt, r.UpdatedAt = 0, actor.AccountID, now, now
		if err := r.Validate(); err != nil {
			return nil, nil, err
		}
		if err := checkStatusValues(r.Conditions, "conditions"); err != nil {
			return nil, nil, err
		}
		if err := r.checkTargets(cfg); err != nil {
			return nil, nil, err
		}
		if len(rules) >= MaxRoutingRules {
			return nil, nil, ValidationError(FieldError{"rules", len(rules), fmt.Sprintf("An account has at most %d routing rules", MaxRoutingRules)})
		}
		switch {
		case pos < 0:
			pos = len(rules)
		case pos > len(rules):
			// Taken as last, a position past the end put the rule where the
			// caller did not say; a member's is refused the same way.
			return nil, nil, ValidationError(FieldError{"position", pos, fmt.Sprintf("Must be from 0 to %d (the number of rules: last)", len(rules))})
		}
		e := newAuditEntry(actor, EventRoutingRuleCreated, map[string]any{"position": pos, "after": snapshot(r)}, now)
		return slices.Insert(slices.Clone(rules), pos, r), []AuditEntry{e}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("create routing rule: %w", err)
	}
	return &rules[pos], nil
}

// UpdateRoutingRule changes rule id as change decides (its ID, account and
// times are kept), audited with before and after; NOT_FOUND when the
// account has no such rule, and the refusals of CreateRoutingRule (the
// action's target only when the change changes the action).
func (s *Service) UpdateRoutingRule(ctx context.Context, actor Actor, id int64, change func(r *RoutingRule) error) (*RoutingRule, error) {
	rules, err := s.changeRules(ctx, actor, func(cfg *AccountConfig, rules []RoutingRule, now time.Time) ([]RoutingRule, []AuditEntry, error) {
		i := slices.IndexFunc(rules, func(r RoutingRule) bool { return r.ID == id })
		if i < 0 {
			return nil, nil, notFound("routing rule")
		}
		cur := rules[i]
		next := cur
		if err := change(&next); err != nil {
			return nil, nil, err
		}
		next.ID, next.AccountID, next.CreatedAt = cur.ID, cur.AccountID, cur.CreatedAt
		if err := next.Validate(); err != nil {
			return nil, nil, err
		}
		if next.Conditions.String() != cur.Conditions.String() {
			if err := checkStatusValues(next.Conditions, "conditions"); err != nil {
				return nil, nil, err
			}
		}
		// The target is checked when the edit changes the action: a rule
		// whose target has gone since it was saved is kept (and skipped),
		// and may be disabled or renamed without naming a new one.
		if next.Action != cur.Action {
			if err := next.checkTargets(cfg); err != nil {
				return nil, nil, err
			}
		}
		next.UpdatedAt = cur.UpdatedAt
		before, after := snapshot(cur), snapshot(next)
		if fmt.Sprint(before) == fmt.Sprint(after) {
			return nil, nil, nil
		}
		next.UpdatedAt = now
		rules = slices.Clone(rules)
		rules[i] = next
		e := newAuditEntry(actor, EventRoutingRuleUpdated, map[string]any{"ruleId": id, "before": before, "after": snapshot(next)}, now)
		return rules, []AuditEntry{e}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("update routing rule %d: %w", id, err)
	}
	i := slices.IndexFunc(rules, func(r RoutingRule) bool { return r.ID == id })
	return &rules[i], nil
}

// DeleteRoutingRule deletes rule id; NOT_FOUND when the account has none.
func (s *Service) DeleteRoutingRule(ctx context.Context, actor Actor, id int64) error {
	_, err := s.changeRules(ctx, actor, func(_ *AccountConfig, rules []RoutingRule, now time.Time) ([]RoutingRule, []AuditEntry, error) {
		i := slices.IndexFunc(rules, func(r RoutingRule) bool { return r.ID == id })
		if i < 0 {
			return nil, nil, notFound("routing rule")
		}
		e := newAuditEntry(actor, EventRoutingRuleDeleted, map[string]any{"ruleId": id, "before": snapshot(rules[i])}, now)
		return slices.Delete(slices.Clone(rules), i, i+1), []AuditEntry{e}, nil
	})
	if err != nil {
		return fmt.Errorf("delete routing rule %d: %w", id, err)
	}
	return nil
}

// ReorderRoutingRules moves the rules ids names to the front, in that
// order; the others follow in the order they had. Naming every rule sets
// the whole order; a rule another manager added meanwhile is kept, last.
// VALIDATION_ERROR (field "ids") for an id that is not one of the
// account's rules, or named twice.
func (s *Service) ReorderRoutingRules(ctx context.Context, actor Actor, ids []int64) ([]RoutingRule, error) {
	rules, err := s.changeRules(ctx, actor, func(_ *AccountConfig, rules []RoutingRule, now time.Time) ([]RoutingRule, []AuditEntry, error) {
		byID := make(map[int64]RoutingRule, len(rules))
		for _, r := range rules {
			byID[r.ID] = r
		}
		next := make([]RoutingRule, 0, len(rules))
		for _, id := range ids {
			r, ok := byID[id]
			if !ok {
				return nil, nil, ValidationError(FieldError{"ids", ids, fmt.Sprintf("Must name rules of this account, each once; %d is not one, or is named twice", id)})
			}
			delete(byID, id)
			next = append(next, r)
		}
		for _, r := range rules {
			if _, rest := byID[r.ID]; rest {
				next = append(next, r)
			}
		}
		before, after := ruleIDs(rules), ruleIDs(next)
		if slices.Equal(before, after) {
			return nil, nil, nil
		}
		e := newAuditEntry(actor, EventRoutingRulesReordered, map[string]any{"before": before, "after": after}, now)
		return next, []AuditEntry{e}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reorder routing rules: %w", err)
	}
	return rules, nil
}

func ruleIDs(rules []RoutingRule) []int64 {
	out := make([]int64, len(rules))
	for i, r := range rules {
		out[i] = r.ID
	}
	return out
}

// changeRules runs apply on the account's rules, read under the account's
// lock, and stores the list it returns (nil: no change) with its audit
// entries; it returns the rules as stored. The configuration apply sees
// is the one of the request, read before the lock: a target deleted in
// between is caught when leads are routed (the rule is skipped).
func (s *Service) changeRules(ctx context.Context, actor Actor, apply func(cfg *AccountConfig, rules []RoutingRule, now time.Time) ([]RoutingRule, []AuditEntry, error)) ([]RoutingRule, error) {
	cfg, now, err := s.configForChange(ctx, actor)
	if err != nil {
		return nil, err
	}
	return s.store.ChangeRoutingRules(ctx, actor.AccountID, func(cur []RoutingRule) ([]RoutingRule, []AuditEntry, error) {
		next, entries, err := apply(cfg, cur, now)
		if err != nil || next == nil {
			return next, entries, err
		}
		names := make(map[string]bool, len(next))
		for _, r := range next {
			key := strings.ToLower(r.Name)
			if names[key] {
				return nil, nil, NameTaken(KindRoutingRule, r.Name)
			}
			names[key] = true
		}
		return next, entries, nil
	})
}

// ConditionFieldKind says what values a condition's field holds, and so how
// a form reads a value typed for it: "text", "number", "boolean", "time",
// "metadata" for a metadata path (the value's own JSON type decides), or ""
// for a field conditions may not name.
func ConditionFieldKind(field string) string {
	if f, ok := conditionFields[field]; ok {
		return f.kind.String()
	}
	if strings.HasPrefix(field, metadataPrefix) && len(field) > len(metadataPrefix) {
		return kindAny.String()
	}
	return ""
}
