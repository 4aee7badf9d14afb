package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/leads"
)

// The demo account: what `make run` serves and examples/curl.sh walks through.
const (
	demoAccount = "2311"
	demoAdmin   = "admin@example.com"
)

var demoReps = []string{"ana@example.com", "ben@example.com", "cara@example.com"}

func demoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Seed the demo account 2311 (a team, a lead source, two rotations of three reps) and print an API key",
		Long: `Seed the demo account 2311: team "Inbound" with lead source "Website", the team rotation
"Inbound reps" and the default rotation "Everyone", each of ana, ben and cara. Running it
again changes nothing but prints a new API key for admin@example.com.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, _ := cmd.Flags().GetBool("env")
			url, _ := cmd.Flags().GetString("url")
			return withService(cmd, func(ctx context.Context, m *Main) error {
				d, err := seedDemo(ctx, m.svc)
				if err != nil {
					return err
				}
				if env {
					d.printEnv(cmd.OutOrStdout())
				} else {
					d.print(cmd.OutOrStdout(), url)
				}
				return nil
			})
		},
	}
	cmd.Flags().Bool("env", false, "print shell export lines (LEADROTOR_API_KEY, …) instead of prose")
	cmd.Flags().String("url", "http://localhost:8080", "the server's URL, for the printed curl line")
	return cmd
}

type demo struct {
	key             string
	team            *leads.Team
	source          *leads.LeadSource
	teamRotation    *leads.Rotation
	defaultRotation *leads.Rotation
}

// seedDemo makes whatever of the demo account is missing and a new API key.
func seedDemo(ctx context.Context, svc *leads.Service) (*demo, error) {
	if _, err := svc.CreateAccount(ctx, leads.Account{ID: demoAccount, Name: "Demo Sales"}); err != nil && leads.ErrorCode(err) != leads.CodeConflict {
		return nil, err
	}
	root := leads.SystemActor(demoAccount)
	if _, err := svc.PutMember(ctx, root, leads.Member{Email: demoAdmin, Role: leads.RoleAdmin}); err != nil {
		return nil, err
	}
	members := make([]leads.RotationMember, len(demoReps))
	for i, rep := range demoReps {
		if _, err := svc.PutMember(ctx, root, leads.Member{Email: rep, Role: leads.RoleAgent}); err != nil {
			return nil, err
		}
		members[i] = leads.RotationMember{User: rep, Weight: 1}
	}
	cfg, err := svc.Configuration(ctx, root)
	if err != nil {
		return nil, err
	}
	d := &demo{}
	for _, t := range cfg.Teams {
		if t.Name == "Inbound" {
			d.team = t
		}
	}
	if d.team == nil {
		if d.team, err = svc.CreateTeam(ctx, root, leads.Team{Name: "Inbound"}); err != nil {
			return nil, err
		}
	}
	for _, s := range cfg.LeadSources {
		if s.TeamID == d.team.ID && s.Name == "Website" {
			d.source = s
		}
	}
	if d.source == nil {
		if d.source, err = svc.CreateLeadSource(ctx, root, leads.LeadSource{TeamID: d.team.ID, Name: "Website"}); err != nil {
			return nil, err
		}
	}
	if d.teamRotation = cfg.TeamRotations[d.team.ID]; d.teamRotation == nil {
		if d.teamRotation, err = svc.CreateRotation(ctx, root, leads.Rotation{Name: "Inbound reps", TeamID: d.team.ID, Members: members}); err != nil {
			return nil, err
		}
	}
	if d.defaultRotation = cfg.DefaultRotation; d.defaultRotation == nil {
		if d.defaultRotation, err = svc.CreateRotation(ctx, root, leads.Rotation{Name: "Everyone", Default: true, Members: members}); err != nil {
			return nil, err
		}
	}
	if d.key, _, err = svc.CreateAPIKey(ctx, demoAdmin, "demo"); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *demo) print(w io.Writer, url string) {
	users := func(r *leads.Rotation) string {
		var out []string
		for _, m := range r.Members {
			out = append(out, m.User)
		}
		return strings.Join(out, ", ")
	}
	fmt.Fprintf(w, `Demo account %s is ready:
  team %q (id %d) with lead source %q (id %d)
  team rotation %q: %s
  default rotation %q: %s

API key for %s, shown this once:
  %s

Create a lead (run it three times: ana, ben, cara in turn):
  curl -s %s/leads -H 'Authorization: Bearer %s' -H 'x-account-id: %s' \
    -H 'Content-Type: application/json' \
    -d '{"firstName":"Ada","lastName":"Lovelace","teamId":%d,"leadSourceId":%d}'
`, demoAccount, d.team.Name, d.team.ID, d.source.Name, d.source.ID,
		d.teamRotation.Name, users(d.teamRotation), d.defaultRotation.Name, users(d.defaultRotation),
		demoAdmin, d.key, url, d.key, demoAccount, d.team.ID, d.source.ID)
}

func (d *demo) printEnv(w io.Writer) {
	fmt.Fprintf(w, "export LEADROTOR_API_KEY='%s'\nexport LEADROTOR_ACCOUNT_ID='%s'\nexport LEADROTOR_TEAM_ID='%d'\nexport LEADROTOR_LEAD_SOURCE_ID='%d'\n",
		d.key, demoAccount, d.team.ID, d.source.ID)
}
