package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/leadrotor/leadrotor/leads"
)

// benchRuleTests is how many field tests each rule of --rules holds.
const benchRuleTests = 5

// benchRules are the routing rules --rules n creates, in their order: n
// rules that no bench lead meets, each of which every lead tests in full,
// then one that every lead meets and that sends it to rotation, so that
// the lead still takes a turn of the rotation the load uses without rules.
//
// Each of the n rules holds all of benchRuleTests tests: the first four
// hold for every lead benchBody writes (its email's domain, first name,
// metadata and status, through ends_with, starts_with, eq on a metadata
// path, in), the fifth for none (a company no lead has), so that a lead
// fails every rule at its last test: the worst case of first match wins.
func benchRules(n int, rotation int64) []leads.RoutingRule {
	out := make([]leads.RoutingRule, 0, n+1)
	for i := range n {
		out = append(out, leads.RoutingRule{
			Name:    fmt.Sprintf("bench rule %d", i+1),
			Enabled: true,
			Conditions: leads.Condition{All: []leads.Condition{
				{Field: "emailDomain", Op: leads.OpEndsWith, Value: ".test"},
				{Field: "firstName", Op: leads.OpStartsWith, Value: "load"},
				{Field: "metadata.utm_source", Op: leads.OpEq, Value: "bench"},
				{Field: "status", Op: leads.OpIn, Value: []any{"new", "contacted", "qualified"}},
				{Field: "company", Op: leads.OpEq, Value: fmt.Sprintf("rule %d engines", i+1)},
			}},
			Action: leads.RuleAction{Type: leads.ActionRotation, RotationID: rotation},
		})
	}
	if n > 0 {
		out = append(out, leads.RoutingRule{
			Name:       "bench: every lead",
			Enabled:    true,
			Conditions: leads.Condition{Field: "firstName", Op: leads.OpExists},
			Action:     leads.RuleAction{Type: leads.ActionRotation, RotationID: rotation},
		})
	}
	return out
}

// createBenchRules creates benchRules(n) in the target's account through
// POST /routing-rules, as a manager would, whether leadbench started the
// server or drives one (--url); the rotation is the one the bench leads
// are assigned by (benchRotation).
func createBenchRules(ctx context.Context, t *benchTarget, n int) error {
	if n == 0 {
		return nil
	}
	rot, err := benchRotation(ctx, t)
	if err != nil {
		return fmt.Errorf("routing rules: %w", err)
	}
	for _, r := range benchRules(n, rot.ID) {
		if _, err := t.send(ctx, "POST", "/routing-rules", r, http.StatusCreated); err != nil {
			return fmt.Errorf("create routing rule %q: %w", r.Name, err)
		}
	}
	return nil
}

// send sends body as JSON to the target's API, as its key, and returns
// the answer's body; an answer other than want is an error.
func (t *benchTarget) send(ctx context.Context, method, path string, body any, want int) ([]byte, error) {
	js, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := t.request(ctx, method, t.url+path, bytes.NewReader(js))
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	raw, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != want {
		return raw, fmt.Errorf("%s %s: status %d: %s", method, path, res.StatusCode, raw)
	}
	return raw, nil
}
