package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// `leadrotor route test` tries a lead against the live rules and says what
// each made of it, without creating it.
func TestRouteTest(t *testing.T) {
	t.Parallel()
	db := "--database-url=file:" + filepath.Join(t.TempDir(), "route.db")
	_, err := cli(t, "demo", db)
	require.NoError(t, err)
	var rotationID int64
	withDB(t, db, func(ctx context.Context, svc *leads.Service) {
		admin := leads.SystemActor(demoAccount)
		cfg, err := svc.Configuration(ctx, admin)
		require.NoError(t, err)
		rotationID = cfg.DefaultRotation.ID
		for _, r := range []leads.RoutingRule{
			{Name: "Personal email", Enabled: true, Conditions: leads.Condition{Field: "emailDomain", Op: leads.OpIn, Value: []any{"gmail.com"}},
				Action: leads.RuleAction{Type: leads.ActionHold, Reason: "personal address"}},
			{Name: "Big companies", Enabled: true, Conditions: leads.Condition{Field: "numberOfEmployees", Op: leads.OpGte, Value: 500},
				Action: leads.RuleAction{Type: leads.ActionRotation, RotationID: rotationID}},
		} {
			_, err := svc.CreateRoutingRule(ctx, admin, r, -1)
			require.NoError(t, err)
		}
	})
	out, err := cliIn(t, `{"firstName":"Ada","lastName":"Lovelace","email":"ada@analytical.example","numberOfEmployees":800}`,
		"route", "test", "-f", "-", "--account", demoAccount, db)
	require.NoError(t, err, out)
	require.Contains(t, out, `1. "Personal email" (rule 1): not matched: emailDomain in ["gmail.com"] (conditions)`)
	require.Contains(t, out, `2. "Big companies" (rule 2): matched`)
	require.Contains(t, out, "Decision: rule 2: a turn of rotation")

	out, err = cliIn(t, `{"firstName":"Bo","lastName":"Small","email":"bo@gmail.com"}`, "route", "test", "-f", "-", "--json", "--account", demoAccount, db)
	require.NoError(t, err, out)
	var d leads.RuleDecision
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.Equal(t, &leads.RuleAction{Type: leads.ActionHold, Reason: "personal address"}, d.Action)

	_, err = cliIn(t, `{"firstName":"Bo","colour":"red"}`, "route", "test", "-f", "-", "--account", demoAccount, db)
	require.ErrorContains(t, err, `unknown field "colour"`)
	withDB(t, db, func(ctx context.Context, svc *leads.Service) {
		page, err := svc.ListLeads(ctx, leads.SystemActor(demoAccount), leads.ListOptions{})
		require.NoError(t, err)
		require.Empty(t, page.Data, "nothing was created")
	})
}
