package leads

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchRoutingRules returns n enabled routing rules that every lead of
// BenchRuleLead fails, each at the last of its 5 tests (so that each lead
// runs all n×5 of them: first match wins at its worst), then, when n > 0,
// one rule that every lead meets and that sends it to rotation. Issue 13's
// targets are set on 100 such rules. It is exported for the benchmarks of
// package leads_test.
func BenchRoutingRules(n int, rotation int64) []RoutingRule {
	out := make([]RoutingRule, 0, n+1)
	for i := range n {
		out = append(out, RoutingRule{
			ID:      int64(i + 1),
			Name:    fmt.Sprintf("bench rule %d", i+1),
			Enabled: true,
			Conditions: Condition{All: []Condition{
				{Field: "emailDomain", Op: OpEndsWith, Value: ".test"},
				{Field: "firstName", Op: OpStartsWith, Value: "bench"},
				{Field: "numberOfEmployees", Op: OpGte, Value: 100},
				{Field: "metadata.utm_source", Op: OpEq, Value: "bench"},
				{Field: "company", Op: OpEq, Value: fmt.Sprintf("rule %d engines", i+1)},
			}},
			Action: RuleAction{Type: ActionRotation, RotationID: rotation},
		})
	}
	if n > 0 {
		out = append(out, RoutingRule{
			ID:         int64(n + 1),
			Name:       "bench: every lead",
			Enabled:    true,
			Conditions: Condition{Field: "firstName", Op: OpExists},
			Action:     RuleAction{Type: ActionRotation, RotationID: rotation},
		})
	}
	return out
}

// BenchRuleLead is the i-th lead of the rules benchmarks: BenchRoutingRules
// tests it in full.
func BenchRuleLead(i int64) LeadInput {
	employees := int64(250)
	return LeadInput{FirstName: "Bench", LastName: "Lead", Email: fmt.Sprintf("b%d@bench.test", i), Company: "Bench Corp",
		NumberOfEmployees: &employees, Metadata: map[string]any{"utm_source": "bench", "campaign": "load"}}
}

// BenchmarkRoute decides one lead's route as CreateLead does (route: the
// rules tried in order, a trace of each, the deciding rule's target looked
// up), under a configuration whose rules are compiled, with no rules and
// with issue 13's 100 rules of 5 tests that the lead fails at the last. The
// "and its JSON" cases also encode the decision, as the lead's audit entry
// and the response carry it, and report its size. Issue 13's target: under
// 20 µs a lead.
func BenchmarkRoute(b *testing.B) {
	rot := &Rotation{ID: 1, Name: "bench", Default: true, Members: []RotationMember{{User: "rep1@bench.test", Weight: 1}}}
	in := BenchRuleLead(1)
	in.Normalize()
	for _, n := range []int{0, 100} {
		cfg := &AccountConfig{Account: Account{ID: "bench"}, DefaultRotation: rot, Rules: BenchRoutingRules(n, rot.ID), RulesVersion: 1}
		cfg.compileRules()
		l := newLead("bench", in, time.Time{})
		rt, err := cfg.route(&l, nil)
		if err != nil {
			b.Fatal(err)
		}
		traces := describeTried(rt.decision.Tried, cfg.Rules, cfg.conditionWords)
		for _, r := range traces[:max(n, 1)-1] {
			if r.FailedCondition != "conditions.all[4]" {
				b.Fatalf("rule %d failed at %q, not at its last test", r.RuleID, r.FailedCondition)
			}
		}
		for _, encode := range []bool{false, true} {
			name := fmt.Sprintf("rules=%d", n)
			if encode {
				name += " and its JSON"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					l := newLead("bench", in, time.Time{})
					rt, err := cfg.route(&l, nil)
					if err != nil || rt.rot != rot || (n > 0 && strings.Count(rt.decision.Tried, " ")+1 != len(cfg.Rules)) {
						b.Fatalf("route: %v, %+v", err, rt)
					}
					if encode {
						if _, err := json.Marshal(rt.decision); err != nil {
							b.Fatal(err)
						}
					}
				}
				if encode {
					// What a lead's audit entry and response carry of it
					// (after the loop, which resets reported metrics).
					js, _ := json.Marshal(rt.decision)
					b.ReportMetric(float64(len(js)), "decision-bytes")
				}
			})
		}
	}
}
