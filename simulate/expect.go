package simulate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/leadrotor/leadrotor/leads"
)

// Want is one value a case expects. Given says the case names it: "" (or
// null, as YAML reads a key with no value) is a value, none, and is
// checked; a key the case leaves out is not.
type Want struct {
	Value string
	Given bool
}

// Expected is the Want of v.
func Expected(v string) Want { return Want{Value: v, Given: true} }

// UnmarshalJSON reads a string, or null for none; either way the value is
// given.
func (w *Want) UnmarshalJSON(b []byte) error {
	w.Given, w.Value = true, ""
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &w.Value); err != nil {
		return fmt.Errorf("must be a string (a name, an email, a step or a status), not %s", b)
	}
	return nil
}

// MarshalJSON writes the value, a string.
func (w Want) MarshalJSON() ([]byte, error) { return json.Marshal(w.Value) }

// IsZero reports whether the value is not given (omitzero leaves it out).
func (w Want) IsZero() bool { return !w.Given }

// Expect is what a case's lead must get. A key not given is not checked;
// a case gives at least one.
type Expect struct {
	// Rotation is the name of the rotation whose turn decided the lead
	// (whoever it gave it to: a member, its fallback assignee, nobody);
	// "" or "none" when no turn was taken. Names are compared without
	// regard to case.
	Rotation Want `json:"rotation,omitzero"`
	// Rule is the name of the routing rule that decided; "" or "none"
	// when no rule did.
	Rule Want `json:"rule,omitzero"`
	// Owner is the email of the lead's assignee; "" when nobody.
	Owner Want `json:"owner,omitzero"`
	// Step is the step of the decision order that decided: explicit,
	// returning, rule, team, default or none.
	Step Want `json:"step,omitzero"`
	// Status is the lead's assignmentStatus: assigned, unassigned or
	// waiting.
	Status Want `json:"status,omitzero"`
}

// The values Expect's Step and Status may take.
var (
	steps    = []string{leads.StepExplicit, leads.StepReturning, leads.StepRule, leads.StepTeam, leads.StepDefault, leads.StepNone}
	statuses = []string{string(leads.AssignmentAssigned), string(leads.AssignmentUnassigned), string(leads.AssignmentWaiting)}
)

// Check returns what is wrong with e, each field named under path (the
// expectation's own path, such as cases[2].expect): no key given, or a
// step or status that is none of theirs.
func (e Expect) Check(path string) []leads.FieldError {
	var errs []leads.FieldError
	if e == (Expect{}) {
		errs = append(errs, leads.FieldError{Field: path, Message: "Gives nothing to check: give one or more of rotation, rule, owner, step, status"})
	}
	for _, k := range []struct {
		key    string
		want   Want
		values []string
	}{{"step", e.Step, steps}, {"status", e.Status, statuses}} {
		if k.want.Given && !slices.Contains(k.values, strings.ToLower(k.want.Value)) {
			errs = append(errs, leads.FieldError{Field: path + "." + k.key, Value: k.want.Value,
				Message: "Must be one of " + strings.Join(k.values, ", ")})
		}
	}
	return errs
}

// Outcome is what a lead got, in Expect's terms ("" for none).
type Outcome struct {
	Rotation string `json:"rotation"`
	Rule     string `json:"rule"`
	Owner    string `json:"owner"`
	Step     string `json:"step"`
	Status   string `json:"status"`
}

// OutcomeOf is what r's lead got.
func OutcomeOf(r leads.Replayed) Outcome {
	a := r.Assignment
	o := Outcome{Rotation: a.RotationName, Owner: r.Lead.AssignedTo, Status: string(r.Lead.AssignmentStatus), Step: leads.StepNone}
	switch d := a.Decision; {
	case d != nil:
		o.Step = d.Step
		if d.Step == leads.StepRule {
			o.Rule = d.RuleName
		}
	case a.Reason == leads.AssignExplicit:
		o.Step = leads.StepExplicit
	}
	return o
}

// Mismatch is a value a case expects that its lead did not get.
type Mismatch struct {
	Key  string `json:"key"`
	Want string `json:"want"`
	Got  string `json:"got"`
}

// Compare returns the values of e that o does not have, in Expect's
// order: names and emails compared without regard to case, "none" the
// same as "" (but for a step, where none is a step).
func (e Expect) Compare(o Outcome) []Mismatch {
	var out []Mismatch
	check := func(key string, w Want, got string, none bool) {
		want := w.Value
		if none && strings.EqualFold(want, "none") {
			want = ""
		}
		if w.Given && !strings.EqualFold(strings.TrimSpace(want), got) {
			out = append(out, Mismatch{Key: key, Want: want, Got: got})
		}
	}
	check("rotation", e.Rotation, o.Rotation, true)
	check("rule", e.Rule, o.Rule, true)
	check("owner", e.Owner, o.Owner, true)
	check("step", e.Step, o.Step, false)
	check("status", e.Status, o.Status, false)
	return out
}
