package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
)

// The demo account: what `make run` serves and examples/curl.sh walks through.
const (
	demoAccount = "2311"
	demoAdmin   = "admin@example.com"
	// demoPassword is the demo admin's web console password: fixed and
	// printed, since the demo is local.
	demoPassword = "leadrotor-demo"
)

var demoReps = []string{"ana@example.com", "ben@example.com", "cara@example.com"}

func demoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Make the demo account 2311 (a team, a lead source, two rotations of three reps) and print an API key",
		Long: `Make the demo account 2311 (what of it is missing): team "Inbound" with lead source "Website", the team rotation
"Inbound reps" and the default rotation "Everyone", each of ana, ben and cara, and an
API key named "demo" for admin@example.com, whose web console password is
leadrotor-demo. Running it again makes only what is missing and changes nothing that
exists (roles, names, a password set since); it rotates the demo key: it prints a new
one, keeps the one before valid until the next run, revokes older ones, and says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, _ := cmd.Flags().GetBool("env")
			url, _ := cmd.Flags().GetString("url")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				d, err := seedDemo(ctx, m.Service(), m.Store())
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
	cmd.Flags().String("url", defaultBaseURL, "the server's URL, for the printed curl line")
	return cmd
}

type demo struct {
	key string
	// passwordSet says whether this run set the demo admin's console
	// password (the first run does; later ones keep what is there).
	passwordSet bool
	// kept is the prefix of the demo key before this run's, still valid.
	kept string
	// revoked are the prefixes of the older demo keys this run revoked.
	revoked         []string
	team            *leads.Team
	source          *leads.LeadSource
	teamRotation    *leads.Rotation
	defaultRotation *leads.Rotation
}

// demoKeyName names the demo's API key, so that a run can find the one
// before it.
const demoKeyName = "demo"

// seedDemo makes whatever of the demo account is missing and changes nothing
// that exists: a member keeps the role it was given, and a team, lead source
// or rotation renamed since is the demo's still (the team named "Inbound",
// else the account's first; its source named "Website", else its first).
// It sets the demo admin's console password when none is set. Then it
// rotates the demo key (see rotateKey).
func seedDemo(ctx context.Context, svc *leads.Service, hashes passwordReader) (*demo, error) {
	if _, err := svc.CreateAccount(ctx, leads.Account{ID: demoAccount, Name: "Demo Sales"}); err != nil && leads.ErrorCode(err) != leads.CodeConflict {
		return nil, err
	}
	root := leads.SystemActor(demoAccount)
	cfg, err := svc.Configuration(ctx, root)
	if err != nil {
		return nil, err
	}
	members := make([]leads.RotationMember, len(demoReps))
	for i, rep := range demoReps {
		members[i] = leads.RotationMember{User: rep, Weight: 1}
	}
	for _, m := range append([]leads.Member{{Email: demoAdmin, Role: leads.RoleAdmin}}, demoMembers()...) {
		if _, ok := cfg.Members[m.Email]; ok {
			continue
		}
		if _, err := svc.PutMember(ctx, root, m); err != nil {
			return nil, err
		}
	}
	d := &demo{}
	d.team = pick(cfg.Teams, func(t *leads.Team) bool { return t.Name == "Inbound" }, func(t *leads.Team) int64 { return t.ID })
	if d.team == nil {
		if d.team, err = svc.CreateTeam(ctx, root, leads.Team{Name: "Inbound"}); err != nil {
			return nil, err
		}
	}
	teamSources := map[int64]*leads.LeadSource{}
	for id, s := range cfg.LeadSources {
		if s.TeamID == d.team.ID {
			teamSources[id] = s
		}
	}
	d.source = pick(teamSources, func(s *leads.LeadSource) bool { return s.Name == "Website" }, func(s *leads.LeadSource) int64 { return s.ID })
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
	if _, err := hashes.PasswordHash(ctx, demoAdmin); leads.ErrorCode(err) == leads.CodeNotFound {
		if err := svc.SetPassword(ctx, demoAdmin, demoPassword); err != nil {
			return nil, err
		}
		d.passwordSet = true
	} else if err != nil {
		return nil, err
	}
	if err := d.rotateKey(ctx, svc); err != nil {
		return nil, err
	}
	return d, nil
}

// passwordReader reads whether a user has a console password.
type passwordReader interface {
	PasswordHash(ctx context.Context, email string) (string, error)
}

// passwordNote says what the demo admin's console password is.
func (d *demo) passwordNote() string {
	if d.passwordSet {
		return "password " + demoPassword
	}
	return "password " + demoPassword + " unless changed since the first demo run"
}

// demoMembers are the reps, as agents.
func demoMembers() []leads.Member {
	ms := make([]leads.Member, len(demoReps))
	for i, rep := range demoReps {
		ms[i] = leads.Member{Email: rep, Role: leads.RoleAgent}
	}
	return ms
}

// pick returns the object of objs that named matches, else the one of
// lowest id, else nil.
func pick[T any](objs map[int64]*T, named func(*T) bool, id func(*T) int64) *T {
	var first *T
	for _, o := range objs {
		if named(o) {
			return o
		}
		if first == nil || id(o) < id(first) {
			first = o
		}
	}
	return first
}

// rotateKey makes a new demo key for the demo admin, keeps the one before
// it valid (a shell may still use it: examples/curl.sh asks for a key of its
// own while `make run`'s is in use) and revokes the older ones: at most two
// demo keys are valid at a time, and never none.
func (d *demo) rotateKey(ctx context.Context, svc *leads.Service) error {
	keys, err := svc.APIKeys(ctx, demoAdmin)
	if err != nil {
		return err
	}
	secret, _, err := svc.CreateAPIKey(ctx, demoAdmin, demoKeyName)
	if err != nil {
		return err
	}
	d.key = secret
	var live []leads.APIKey
	for _, k := range keys {
		if k.Name == demoKeyName && k.RevokedAt == nil {
			live = append(live, k)
		}
	}
	slices.SortFunc(live, func(a, b leads.APIKey) int { return cmp.Compare(b.ID, a.ID) }) // newest first
	for i, k := range live {
		if i == 0 {
			d.kept = k.Prefix
			continue
		}
		if err := svc.RevokeAPIKey(ctx, k.Prefix); err != nil {
			return fmt.Errorf("rotate the demo key: %w", err)
		}
		d.revoked = append(d.revoked, k.Prefix)
	}
	return nil
}

// keyNote says how the key printed relates to the demo keys before it.
func (d *demo) keyNote() string {
	if d.kept == "" {
		return "the first demo key"
	}
	note := "rotated: the previous demo key " + d.kept + " stays valid until the next run"
	if len(d.revoked) > 0 {
		note += "; " + strings.Join(d.revoked, ", ") + " revoked"
	}
	return note
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

API key for %s (%s), shown this once:
  %s

Web console: %s/console/
  sign in as %s, %s.

Create a lead (run it three times: ana, ben, cara in turn):
  curl -s %s/leads -H 'Authorization: Bearer %s' -H 'x-account-id: %s' \
    -H 'Content-Type: application/json' \
    -d '{"firstName":"Ada","lastName":"Lovelace","teamId":%d,"leadSourceId":%d}'
`, demoAccount, d.team.Name, d.team.ID, d.source.Name, d.source.ID,
		d.teamRotation.Name, users(d.teamRotation), d.defaultRotation.Name, users(d.defaultRotation),
		demoAdmin, d.keyNote(), d.key, url, demoAdmin, d.passwordNote(), url, d.key, demoAccount, d.team.ID, d.source.ID)
}

func (d *demo) printEnv(w io.Writer) {
	fmt.Fprintf(w, "# API key: %s\nexport LEADROTOR_API_KEY='%s'\nexport LEADROTOR_ACCOUNT_ID='%s'\nexport LEADROTOR_TEAM_ID='%d'\nexport LEADROTOR_LEAD_SOURCE_ID='%d'\n",
		d.keyNote(), d.key, demoAccount, d.team.ID, d.source.ID)
}
