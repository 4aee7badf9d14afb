package console

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/leadrotor/leadrotor/leads"
)

// sampleLead is what the test forms hold until something else is typed.
const sampleLead = `{
  "firstName": "Ada",
  "lastName": "L",
  "email": "ada@acme.com",
  "metadata": {"utm": {"campaign": "spring"}}
}`

// ruleTargets are what a rule's action may name, from one reading of the
// account's configuration, and the names the pages say them by.
type ruleTargets struct {
	Rotations []leads.Rotation
	Teams     []leads.Team
	Members   []string
	// rotationNames and teamNames name the rotations and teams by id.
	rotationNames, teamNames map[int64]string
}

func newRuleTargets(cfg *leads.AccountConfig) ruleTargets {
	t := ruleTargets{Rotations: cfg.Rotations(), Members: slices.Sorted(maps.Keys(cfg.Members)),
		rotationNames: map[int64]string{}, teamNames: map[int64]string{}}
	for _, rot := range t.Rotations {
		t.rotationNames[rot.ID] = rot.Name
	}
	for _, team := range cfg.Teams {
		t.Teams = append(t.Teams, *team)
		t.teamNames[team.ID] = team.Name
	}
	slices.SortFunc(t.Teams, func(a, b leads.Team) int { return cmp.Compare(a.Name, b.Name) })
	return t
}

// actionText says what an action does: "Rotation: Hot leads", "Assign to
// ann@x.com", "Team: Sales", "Hold: reason". A target that is gone is
// said so (the rule is skipped when leads are routed).
func (t *ruleTargets) actionText(a leads.RuleAction) string {
	switch a.Type {
	case leads.ActionRotation:
		return "Rotation: " + named(t.rotationNames, a.RotationID)
	case leads.ActionAssign:
		return "Assign to " + a.Assignee
	case leads.ActionTeam:
		return "Team: " + named(t.teamNames, a.TeamID)
	case leads.ActionHold:
		return "Hold: " + a.Reason
	}
	return string(a.Type)
}

// named is the name of id, or says it is gone.
func named(names map[int64]string, id int64) string {
	if name, ok := names[id]; ok {
		return name
	}
	return fmt.Sprintf("#%d, which is gone", id)
}

// decisionView is what the rules made of a test lead, as the pages show it.
type decisionView struct {
	Tried []ruleTry
	// Rule and Action are the deciding rule's name and action in words;
	// Rule is "" when none matched.
	Rule, Action string
}

// ruleTry is one rule tried: its outcome and, when it did not match, the
// condition that decided it (words and path). Edited marks the rule as the
// form holds it, not as saved.
type ruleTry struct {
	Name, Outcome, Condition, Path string
	Edited                         bool
}

// decision puts d in words; edited is the id of the rule tried as edited
// (0 for a new rule), -1 when all are the saved ones.
func (t *ruleTargets) decision(d *leads.RuleDecision, edited int64) *decisionView {
	v := &decisionView{}
	for _, r := range d.Rules {
		try := ruleTry{Name: r.Name, Outcome: r.Outcome, Condition: r.Condition, Path: r.FailedCondition, Edited: r.RuleID == edited}
		v.Tried = append(v.Tried, try)
		if r.RuleID == d.RuleID && r.Outcome == leads.RuleMatched {
			v.Rule = r.Name
		}
	}
	if d.Action != nil {
		v.Action = t.actionText(*d.Action)
	}
	return v
}

type rulesData struct {
	Rules []ruleRow
	// Lead is the test form's lead, Decision what the live rules made of it.
	Lead     string
	Decision *decisionView
}

// ruleRow is a rule as the list shows it.
type ruleRow struct {
	ID                 int64
	Name               string
	Enabled            bool
	Position           int
	First, Last        bool
	Conditions, Action string
}

// rules lists the account's routing rules in their order, each with its
// conditions and action in words; managers move, enable, disable, edit and
// delete them, and try a lead against them.
func (c *Console) rules(ctx context.Context, r *request) (any, error) {
	cfg, err := c.svc.Configuration(ctx, r.actor)
	if err != nil {
		return nil, err
	}
	return newRulesData(cfg, nil), nil
}

// newRulesData is the rules page of cfg, with dec, when not nil, what the
// rules made of a test lead.
func newRulesData(cfg *leads.AccountConfig, dec *leads.RuleDecision) rulesData {
	t := newRuleTargets(cfg)
	d := rulesData{Lead: sampleLead}
	for i, rule := range cfg.Rules {
		d.Rules = append(d.Rules, ruleRow{ID: rule.ID, Name: rule.Name, Enabled: rule.Enabled, Position: i + 1,
			First: i == 0, Last: i == len(cfg.Rules)-1, Conditions: rule.Conditions.String(), Action: t.actionText(rule.Action)})
	}
	if dec != nil {
		d.Decision = t.decision(dec, -1)
	}
	return d
}

// testRules tries the lead typed into the test form against the live
// rules, and shows the rules page with what each rule made of it.
func (c *Console) testRules(ctx context.Context, r *request) (string, error) {
	in, err := readLead(r.PostFormValue("lead"))
	if err != nil {
		return "", err
	}
	dec, err := c.svc.EvaluateRoutingRules(ctx, r.actor, in)
	if err != nil {
		return "", err
	}
	cfg, err := c.svc.Configuration(ctx, r.actor)
	if err != nil {
		return "", err
	}
	d := newRulesData(cfg, dec)
	d.Lead = r.PostFormValue("lead")
	c.render(r.w, r, "rules", http.StatusOK, d)
	return "", errShowLink
}

// readLead decodes a lead as POST /leads takes it; a refusal names the
// test form's field.
func readLead(text string) (leads.LeadInput, error) {
	var in leads.LeadInput
	if err := decodeJSON(text, &in); err != nil {
		return in, leads.ValidationError(leads.FieldError{Field: "lead", Value: nil, Message: "Must be a lead as POST /leads takes it, in JSON: " + err.Error()})
	}
	return in, nil
}

// decodeJSON reads text, one JSON value with no key v does not have, into v.
func decodeJSON(text string, v any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// moveRule moves a rule one place up or down.
func (c *Console) moveRule(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	rules, err := c.svc.RoutingRules(ctx, r.actor)
	if err != nil {
		return "", err
	}
	ids := make([]int64, len(rules))
	for i, rule := range rules {
		ids[i] = rule.ID
	}
	i := slices.Index(ids, id)
	if i < 0 {
		return "", leads.Errorf(leads.CodeNotFound, "routing rule not found")
	}
	j := i - 1
	if r.PostFormValue("op") == "down" {
		j = i + 1
	}
	done := "no_changes"
	if j >= 0 && j < len(ids) {
		ids[i], ids[j], done = ids[j], ids[i], "saved"
	}
	// Asked even for no move, so that the Service's role rules answer.
	if _, err := c.svc.ReorderRoutingRules(ctx, r.actor, ids); err != nil {
		return "", withField(err, "rule:"+r.PathValue("id"))
	}
	return "/rules?done=" + done, nil
}

// toggleRule enables or disables a rule.
func (c *Console) toggleRule(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	enabled := r.PostFormValue("enabled") == "true"
	_, err = c.svc.UpdateRoutingRule(ctx, r.actor, id, func(rule *leads.RoutingRule) error {
		rule.Enabled = enabled
		return nil
	})
	if err != nil {
		return "", withField(err, "rule:"+r.PathValue("id"))
	}
	return "/rules?done=saved", nil
}

func (c *Console) deleteRule(ctx context.Context, r *request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	if err := c.svc.DeleteRoutingRule(ctx, r.actor, id); err != nil {
		return "", withField(err, "rule:"+r.PathValue("id"))
	}
	return "/rules?done=deleted", nil
}

// metadataChoice is the field select's option for a metadata path, which
// is typed beside it.
const metadataChoice = "metadata"

// ruleForm is the rule form as typed: what a round trip (a row added or
// removed, a test) shows again, and what a save sends to the Service.
type ruleForm struct {
	// ID is the rule edited; 0 for a new one, which goes at Position.
	ID       int64
	Position int
	Name     string
	Enabled  bool
	// Match is "all" or "any": what the rows must meet.
	Match string
	Rows  []conditionRow
	// UseJSON says the conditions are edited as JSON text: a rule whose
	// groups nest, which rows cannot show.
	UseJSON bool
	JSON    string
	// Action is the action's type; each target is kept, whichever type is
	// chosen, so that choosing another and back loses nothing.
	Action     leads.RuleActionType
	RotationID int64
	Assignee   string
	TeamID     int64
	Reason     string
}

// conditionRow is one test of a field, as typed: Field is one of
// leads.ConditionFields or metadataChoice (Path is then the metadata path),
// Value a text (a comma-separated list for in and not_in).
type conditionRow struct {
	Field, Path, Op, Value string
}

// maxRows bounds the rows read from a form; the Service's own bound,
// leads.MaxConditions, is what refuses a rule.
const maxRows = 2 * leads.MaxConditions

func rowKey(name string, i int) string { return name + "." + strconv.Itoa(i) }

// readRuleForm reads the rule form as it was sent.
func readRuleForm(v url.Values, id int64) ruleForm {
	f := ruleForm{ID: id, Position: -1, Name: v.Get("name"), Enabled: v.Get("enabled") == "on", Match: v.Get("match"),
		UseJSON: v.Get("mode") == "json", JSON: v.Get("conditions"), Action: leads.RuleActionType(v.Get("action")),
		Assignee: v.Get("assignee"), Reason: v.Get("reason")}
	// The selects offer ids only: anything else reads as none, which the
	// Service refuses when the action needs it.
	f.RotationID, _ = strconv.ParseInt(v.Get("rotationId"), 10, 64)
	f.TeamID, _ = strconv.ParseInt(v.Get("teamId"), 10, 64)
	if p, err := strconv.Atoi(v.Get("position")); err == nil {
		f.Position = p
	}
	for i := 0; i < maxRows && v.Has(rowKey("op", i)); i++ {
		f.Rows = append(f.Rows, conditionRow{Field: v.Get(rowKey("field", i)), Path: v.Get(rowKey("path", i)),
			Op: v.Get(rowKey("op", i)), Value: v.Get(rowKey("value", i))})
	}
	return f
}

// formOfRule is the form of a saved rule: its conditions as rows when
// they are tests under one group (or a single test), else as JSON.
func formOfRule(r leads.RoutingRule) ruleForm {
	a := r.Action
	f := ruleForm{ID: r.ID, Name: r.Name, Enabled: r.Enabled, Match: "all", Action: a.Type,
		RotationID: a.RotationID, Assignee: a.Assignee, TeamID: a.TeamID, Reason: a.Reason}
	tests := []leads.Condition{r.Conditions}
	switch {
	case r.Conditions.Any != nil:
		f.Match, tests = "any", r.Conditions.Any
	case r.Conditions.All != nil:
		tests = r.Conditions.All
	}
	for _, c := range tests {
		row, ok := rowOf(c)
		if !ok {
			f.Rows, f.UseJSON, f.JSON = nil, true, conditionJSON(r.Conditions)
			break
		}
		f.Rows = append(f.Rows, row)
	}
	return f
}

// rowOf is the row of a test, and whether the row reads back as the same
// test (not a group; no list item with a comma or surrounding space).
func rowOf(c leads.Condition) (conditionRow, bool) {
	if c.All != nil || c.Any != nil {
		return conditionRow{}, false
	}
	kind := leads.ConditionFieldKind(c.Field)
	row := conditionRow{Field: c.Field, Op: string(c.Op)}
	if kind == "metadata" {
		row.Field, row.Path = metadataChoice, strings.TrimPrefix(c.Field, "metadata.")
	}
	items := []any{c.Value}
	if list, ok := c.Value.([]any); ok {
		items = list
	}
	texts := make([]string, 0, len(items))
	for _, v := range items {
		s := valueText(kind, v)
		if s != strings.TrimSpace(s) || (len(items) > 1 && strings.Contains(s, ",")) {
			return conditionRow{}, false
		}
		texts = append(texts, s)
	}
	row.Value = strings.Join(texts, ", ")
	return row, true
}

// valueText is a condition's value as the form shows it: text as it is
// (quoted as JSON for a metadata path where it would read as a number or
// true or false), anything else as JSON.
func valueText(kind string, v any) string {
	if s, ok := v.(string); ok && (kind != "metadata" || typedValue(kind, s) == any(s)) {
		return s
	}
	if v == nil {
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// typedValue is what a value typed for a field of kind is: a number for
// a number field, true or false for a boolean one, and for a metadata
// path a JSON number, true, false or "quoted text" when it is one; text
// otherwise (a text that does not fit the field is the Service's to refuse).
func typedValue(kind, s string) any {
	switch kind {
	case "number":
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
	case "boolean":
		if b, err := strconv.ParseBool(s); err == nil {
			return b
		}
	case "metadata":
		var v any
		if err := json.Unmarshal([]byte(s), &v); err == nil {
			switch v.(type) {
			case string, float64, bool:
				return v
			}
		}
	}
	return s
}

// condition is the test a row says.
func (row conditionRow) condition() leads.Condition {
	c := leads.Condition{Field: row.Field, Op: leads.Op(row.Op)}
	if row.Field == metadataChoice {
		c.Field = "metadata." + strings.TrimPrefix(strings.TrimSpace(row.Path), "metadata.")
	}
	kind := leads.ConditionFieldKind(c.Field)
	value := strings.TrimSpace(row.Value)
	switch c.Op {
	case leads.OpExists, leads.OpNotExists:
	case leads.OpIn, leads.OpNotIn:
		list := []any{}
		for _, s := range strings.Split(value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				list = append(list, typedValue(kind, s))
			}
		}
		c.Value = list
	case leads.OpMatches:
		c.Value = value
	default:
		c.Value = typedValue(kind, value)
	}
	return c
}

// conditions are the conditions the form says: the rows under one group,
// or the JSON text.
func (f *ruleForm) conditions() (leads.Condition, error) {
	var c leads.Condition
	if f.UseJSON {
		if err := decodeJSON(f.JSON, &c); err != nil {
			return c, leads.ValidationError(leads.FieldError{Field: "conditions", Value: nil, Message: "Must be conditions in JSON: " + err.Error()})
		}
		return c, nil
	}
	tests := make([]leads.Condition, 0, len(f.Rows))
	for _, row := range f.Rows {
		tests = append(tests, row.condition())
	}
	if f.Match == "any" {
		c.Any = tests
	} else {
		c.All = tests
	}
	return c, nil
}

// rule is the rule the form says; the action takes the target of its type
// only.
func (f *ruleForm) rule() (leads.RoutingRule, error) {
	cond, err := f.conditions()
	r := leads.RoutingRule{ID: f.ID, Name: f.Name, Enabled: f.Enabled, Conditions: cond, Action: leads.RuleAction{Type: f.Action}}
	switch f.Action {
	case leads.ActionRotation:
		r.Action.RotationID = f.RotationID
	case leads.ActionAssign:
		r.Action.Assignee = f.Assignee
	case leads.ActionTeam:
		r.Action.TeamID = f.TeamID
	case leads.ActionHold:
		r.Action.Reason = f.Reason
	}
	return r, err
}

// conditionJSON is c as the JSON textarea shows it.
func conditionJSON(c leads.Condition) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	_ = enc.Encode(c) // a Condition read from JSON encodes
	return strings.TrimSpace(b.String())
}

// opChoice is an op as the form's select offers it.
type opChoice struct {
	Op    leads.Op
	Label string
}

// opChoices are the ops in the order the form offers them.
var opChoices = []opChoice{
	{leads.OpEq, "equals"}, {leads.OpNeq, "does not equal"}, {leads.OpIn, "is one of"}, {leads.OpNotIn, "is none of"},
	{leads.OpContains, "contains"}, {leads.OpStartsWith, "starts with"}, {leads.OpEndsWith, "ends with"},
	{leads.OpMatches, "matches the pattern"}, {leads.OpGt, "is more than"}, {leads.OpGte, "is at least"},
	{leads.OpLt, "is less than"}, {leads.OpLte, "is at most"}, {leads.OpExists, "is given"}, {leads.OpNotExists, "is not given"},
}

type ruleFormData struct {
	ruleTargets
	Form      ruleForm
	Fields    []string
	Ops       []opChoice
	MaxRows   int
	Positions []positionChoice
	// Lead is the test lead, Decision what the rules with this edit made of it.
	Lead     string
	Decision *decisionView
}

// positionChoice is a place a new rule may go.
type positionChoice struct {
	Value int
	Label string
}

// ruleOf reads the configuration and the rule the page names (nil on
// /rules/new); NOT_FOUND when the account has no such rule.
func (c *Console) ruleOf(ctx context.Context, r *request) (*leads.AccountConfig, *leads.RoutingRule, error) {
	cfg, err := c.svc.Configuration(ctx, r.actor)
	if err != nil {
		return nil, nil, err
	}
	if r.PathValue("id") == "" {
		return cfg, nil, nil
	}
	id, err := pathID(r)
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(cfg.Rules, func(rule leads.RoutingRule) bool { return rule.ID == id })
	if i < 0 {
		return nil, nil, leads.Errorf(leads.CodeNotFound, "routing rule not found")
	}
	return cfg, &cfg.Rules[i], nil
}

// ruleEditor is the form of a new rule (/rules/new) or of a saved one,
// for managers and admins; after a refused save, as it was typed.
func (c *Console) ruleEditor(ctx context.Context, r *request) (any, error) {
	if !r.can(leads.PermWriteConfig) {
		return nil, leads.Errorf(leads.CodeForbidden, "only managers and admins change routing rules")
	}
	cfg, rule, err := c.ruleOf(ctx, r)
	if err != nil {
		return nil, err
	}
	var f ruleForm
	switch {
	case r.form != nil:
		f = readRuleForm(r.form, 0)
	case rule != nil:
		f = formOfRule(*rule)
	default:
		f = ruleForm{Position: len(cfg.Rules), Enabled: true, Match: "all", Action: leads.ActionRotation,
			Rows: []conditionRow{{Op: string(leads.OpEq)}}}
	}
	if rule != nil {
		f.ID = rule.ID
	}
	return newRuleFormData(cfg, f, cmp.Or(r.form.Get("lead"), sampleLead), nil), nil
}

func newRuleFormData(cfg *leads.AccountConfig, f ruleForm, lead string, d *decisionView) ruleFormData {
	data := ruleFormData{ruleTargets: newRuleTargets(cfg), Form: f, Fields: leads.ConditionFields(), Ops: opChoices,
		MaxRows: leads.MaxConditions, Lead: lead, Decision: d}
	if f.ID == 0 {
		data.Positions = append(data.Positions, positionChoice{0, "First"})
		for i, rule := range cfg.Rules {
			data.Positions = append(data.Positions, positionChoice{i + 1, fmt.Sprintf("After %d. %s", i+1, rule.Name)})
		}
	}
	return data
}

// saveRule answers the rule form's buttons: add or remove a condition
// row, edit the conditions as JSON, or test the edit (each shows the
// form again, as typed), else save the rule.
func (c *Console) saveRule(ctx context.Context, r *request) (string, error) {
	cfg, saved, err := c.ruleOf(ctx, r)
	if err != nil {
		return "", err
	}
	var id int64
	if saved != nil {
		id = saved.ID
	}
	f := readRuleForm(r.PostForm, id)
	lead := cmp.Or(r.PostFormValue("lead"), sampleLead)
	show := func(d *decisionView) error {
		c.render(r.w, r, "rule", http.StatusOK, newRuleFormData(cfg, f, lead, d))
		return errShowLink
	}
	op := r.PostFormValue("op")
	switch {
	case op == "add":
		f.Rows = append(f.Rows, conditionRow{Op: string(leads.OpEq)})
		return "", show(nil)
	case strings.HasPrefix(op, "remove:"):
		if i, err := strconv.Atoi(strings.TrimPrefix(op, "remove:")); err == nil && i >= 0 && i < len(f.Rows) {
			f.Rows = slices.Delete(f.Rows, i, i+1)
		}
		return "", show(nil)
	case op == "json" && !f.UseJSON:
		cond, _ := f.conditions() // rows always make conditions
		f.UseJSON, f.JSON = true, conditionJSON(cond)
		return "", show(nil)
	}
	rule, err := f.rule()
	if err == nil && op == "test" {
		var d *leads.RuleDecision
		if d, err = c.tryEdit(cfg, rule, f.Position, lead); err == nil {
			t := newRuleTargets(cfg)
			return "", show(t.decision(d, id))
		}
	}
	if err != nil {
		return "", ruleField(err, f.UseJSON)
	}
	if saved == nil {
		if _, err := c.svc.CreateRoutingRule(ctx, r.actor, rule, f.Position); err != nil {
			return "", ruleField(err, f.UseJSON)
		}
		return "/rules?done=created", nil
	}
	_, err = c.svc.UpdateRoutingRule(ctx, r.actor, id, func(cur *leads.RoutingRule) error {
		cur.Name, cur.Enabled, cur.Conditions, cur.Action = rule.Name, rule.Enabled, rule.Conditions, rule.Action
		return nil
	})
	if err != nil {
		return "", ruleField(err, f.UseJSON)
	}
	return "/rules?done=saved", nil
}

// tryEdit tries the lead typed against the account's rules with rule in
// the place it would have once saved: in place of the saved one, or, new,
// at position. The rule is checked as a save would check it, so that what
// is refused is said on its field.
func (c *Console) tryEdit(cfg *leads.AccountConfig, rule leads.RoutingRule, position int, lead string) (*leads.RuleDecision, error) {
	if err := rule.Validate(); err != nil {
		return nil, err
	}
	in, err := readLead(lead)
	if err != nil {
		return nil, err
	}
	rules := slices.Clone(cfg.Rules)
	if i := slices.IndexFunc(rules, func(r leads.RoutingRule) bool { return r.ID == rule.ID }); rule.ID != 0 && i >= 0 {
		rules[i] = rule
	} else {
		if position < 0 || position > len(rules) {
			position = len(rules)
		}
		rules = slices.Insert(rules, position, rule)
	}
	d, err := leads.EvaluateRules(cfg, rules, in)
	if err != nil {
		return nil, fmt.Errorf("try routing rule edit: %w", err)
	}
	return d, nil
}

// rowFieldRE reads the path of a row's test in a refusal:
// conditions.all[2].value is the third row's value.
var rowFieldRE = regexp.MustCompile(`^conditions\.(?:all|any)\[(\d+)\](?:\.(field|op|value))?$`)

// ruleField points a refusal of a rule at the form's input: a row's
// field, op or value (field.2, op.2, value.2; row.2 for the whole test),
// "conditions" for the group, or the JSON text with the path in its
// message; a duplicate name at the name. Names and action fields (name,
// action.teamId) are the form's own already.
func ruleField(err error, useJSON bool) error {
	field, _ := leads.ErrorDetails(err)["field"].(string)
	switch {
	case leads.ErrorCode(err) == leads.CodeConflict:
		return withField(err, "name")
	case !strings.HasPrefix(field, "conditions"):
		return err
	case useJSON && field != "conditions":
		return withFieldText(err, "conditions", field+": "+errorText(err))
	}
	if m := rowFieldRE.FindStringSubmatch(field); m != nil && !useJSON {
		part := cmp.Or(m[2], "row")
		return withField(err, part+"."+m[1])
	}
	return withField(err, "conditions")
}
