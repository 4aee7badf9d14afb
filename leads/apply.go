package leads

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Spec is the desired configuration of one account, as a file declares it
// (leadrotor apply -f rotations.yaml). Applying a Spec creates and updates,
// and never deletes: members, teams and lead sources that the Spec does not
// name are kept as they are.
type Spec struct {
	// Account names the account the Spec is for; optional when the caller
	// says, and then it must agree.
	Account string `json:"account,omitempty"`
	// DuplicatePolicy, when set, is the account's duplicate email policy.
	DuplicatePolicy DuplicatePolicy `json:"duplicatePolicy,omitempty"`
	// Members are users that must be members of the account with these roles.
	Members []MemberSpec `json:"members,omitempty"`
	// Teams are teams that must exist, with their lead sources and rotation.
	Teams []TeamSpec `json:"teams,omitempty"`
	// DefaultRotation, when set, is the account's default rotation.
	DefaultRotation *RotationSpec `json:"defaultRotation,omitempty"`
}

// MemberSpec is a user that must be a member of the account with Role.
type MemberSpec struct {
	Email string `json:"email"`
	Role  Role   `json:"role"`
}

// TeamSpec is a team, found by name, that must exist with at least the lead
// sources named (others it has are kept) and, when Rotation is set, with that
// rotation.
type TeamSpec struct {
	Name        string        `json:"name"`
	LeadSources []string      `json:"leadSources,omitempty"`
	Rotation    *RotationSpec `json:"rotation,omitempty"`
}

// RotationSpec is the desired state of a rotation: its settings and its exact
// list of members in turn order. Timezone "" is UTC and a member's weight 0
// is 1, as for Rotation.
type RotationSpec struct {
	Name             string           `json:"name"`
	FallbackAssignee string           `json:"fallbackAssignee,omitempty"`
	Timezone         string           `json:"timezone,omitempty"`
	Members          []RotationMember `json:"members"`
}

// ApplyKind says what applying a Spec does to one object.
type ApplyKind string

// The kinds of plan items.
const (
	// ApplyCreate: the object does not exist and will be created.
	ApplyCreate ApplyKind = "create"
	// ApplyUpdate: the object exists and some of its fields will change.
	ApplyUpdate ApplyKind = "update"
	// ApplyUnchanged: the object exists as the Spec declares it.
	ApplyUnchanged ApplyKind = "unchanged"
	// ApplyKept: the object exists, the Spec does not name it, and it stays.
	ApplyKept ApplyKind = "kept-not-in-file"
)

// symbol is the mark that starts a plan line: + create, ~ update,
// = unchanged, . kept.
func (k ApplyKind) symbol() string {
	switch k {
	case ApplyCreate:
		return "+"
	case ApplyUpdate:
		return "~"
	case ApplyUnchanged:
		return "="
	}
	return "."
}

// ApplyItem is one object of a plan and what applying does to it.
type ApplyItem struct {
	Kind ApplyKind `json:"kind"`
	// Object names the object, e.g. `lead source "Website" of team "Inbound"`.
	Object string `json:"object"`
	// Details are, for an update, the fields that change ("name: \"a\" ->
	// \"b\""), and for a creation the settings that are not defaults.
	Details []string `json:"details,omitempty"`

	// perm is what the actor must be allowed to carry the item out.
	perm Permission
	// apply carries the item out; nil for unchanged and kept items.
	apply func(ctx context.Context, run *applyRun) error
}

// String returns the item as one line of a plan, e.g.
// `~ rotation "Inbound reps" of team "Inbound": fallbackAssignee: "" -> "a@b.com"`.
func (it ApplyItem) String() string {
	line := it.Kind.symbol() + " " + it.Object
	if len(it.Details) > 0 {
		line += ": " + strings.Join(it.Details, "; ")
	}
	if it.Kind == ApplyKept {
		line += " (not in the file: kept)"
	}
	return line
}

// ApplyPlan is what applying a Spec to an account does, item by item, in
// the order Apply carries the changes out.
type ApplyPlan struct {
	AccountID string `json:"accountId"`
	// Version is the configuration version the plan was made from.
	Version int64       `json:"version"`
	Items   []ApplyItem `json:"items"`
	// Applied counts the changes Apply carried out: 0 for a plan or a dry
	// run, fewer than Changes when Apply stopped at an error.
	Applied int `json:"applied"`

	// teamIDs maps the names of the account's existing teams to their IDs.
	teamIDs map[string]int64
}

// Changes returns the number of items that create or update something.
func (p *ApplyPlan) Changes() int {
	n := 0
	for _, it := range p.Items {
		if it.apply != nil {
			n++
		}
	}
	return n
}

// Write prints the plan to w, one line per item.
func (p *ApplyPlan) Write(w io.Writer) error {
	for _, it := range p.Items {
		if _, err := fmt.Fprintln(w, it.String()); err != nil {
			return fmt.Errorf("write plan: %w", err)
		}
	}
	return nil
}

// String returns the plan's lines.
func (p *ApplyPlan) String() string {
	var b strings.Builder
	_ = p.Write(&b)
	return b.String()
}

// applyRun is the state of one Apply: who acts, and the IDs of the teams
// known so far (existing ones, then those created).
type applyRun struct {
	svc     *Service
	actor   Actor
	teamIDs map[string]int64
}

// Plan compares spec with actor's account's configuration and returns the
// changes applying it would make, in order; managers and admins only
// (FORBIDDEN otherwise). It writes nothing. VALIDATION_ERROR names the
// field of the spec at fault (e.g. teams[0].rotation.members[1].user);
// MEMBER_NOT_IN_ACCOUNT when a rotation names a user who is neither a
// member nor in spec's members; LAST_ADMIN when spec's members would leave
// the account without an admin.
func (s *Service) Plan(ctx context.Context, actor Actor, spec Spec) (*ApplyPlan, error) {
	if err := actor.require(PermWriteConfig); err != nil {
		return nil, err
	}
	want, err := spec.normalized(actor.AccountID)
	if err != nil {
		return nil, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	if err := want.checkUsers(cfg); err != nil {
		return nil, err
	}
	p := newPlanner(cfg, actor.AccountID)
	p.planAccount(want.DuplicatePolicy)
	p.planMembers(want.Members)
	for _, t := range want.Teams {
		p.planTeam(t)
	}
	p.planKeptTeams(want.Teams)
	p.planDefaultRotation(want.DefaultRotation)
	return p.plan, nil
}

// Apply plans spec (see Plan) and, unless dryRun, carries out its creations
// and updates in an order that satisfies their dependencies: the account's
// settings, members, then each team, its lead sources and its rotation, then
// the default rotation. It never deletes anything.
//
// Apply is not one transaction: each change is its own, audited as if made
// by hand, and the configuration may change meanwhile. When a change fails,
// Apply stops and returns the plan (Applied says how far it got) with the
// error; the changes made stay, and applying the same spec again carries
// out the rest, since each item is planned from the state it finds.
//
// Before writing anything, Apply checks that actor may make every change:
// members and account settings need an admin (FORBIDDEN otherwise).
func (s *Service) Apply(ctx context.Context, actor Actor, spec Spec, dryRun bool) (*ApplyPlan, error) {
	plan, err := s.Plan(ctx, actor, spec)
	if err != nil || dryRun {
		return plan, err
	}
	if err := plan.permitted(actor); err != nil {
		return plan, err
	}
	run := &applyRun{svc: s, actor: actor, teamIDs: maps.Clone(plan.teamIDs)}
	for _, it := range plan.Items {
		if it.apply == nil {
			continue
		}
		if err := it.apply(ctx, run); err != nil {
			return plan, fmt.Errorf("apply %s: %w", it.Object, err)
		}
		plan.Applied++
	}
	return plan, nil
}

// permitted checks that actor may carry out every change of the plan, so
// that a change it may not make does not stop Apply halfway.
func (p *ApplyPlan) permitted(actor Actor) error {
	for _, it := range p.Items {
		if it.apply == nil {
			continue
		}
		if err := actor.require(it.perm); err != nil {
			return fmt.Errorf("apply %s: %w", it.Object, err)
		}
	}
	return nil
}

// normalized returns a deep copy of spec, validated and normalized as the
// service stores things (lower-case emails, trimmed names, weights and
// timezones defaulted), so that an unchanged file compares equal.
func (spec Spec) normalized(accountID string) (Spec, error) {
	out := Spec{Account: strings.TrimSpace(spec.Account), DuplicatePolicy: spec.DuplicatePolicy}
	if out.Account != "" && out.Account != accountID {
		return out, ValidationError(FieldError{"account", out.Account, fmt.Sprintf("Must be the account applied to (%s)", accountID)})
	}
	if out.DuplicatePolicy != "" && !out.DuplicatePolicy.Valid() {
		return out, ValidationError(FieldError{"duplicatePolicy", string(out.DuplicatePolicy), "Must be reject or allow"})
	}
	var err error
	if out.Members, err = normalizedMembers(spec.Members); err != nil {
		return out, err
	}
	if out.Teams, err = normalizedTeams(spec.Teams); err != nil {
		return out, err
	}
	if spec.DefaultRotation != nil {
		r, err := spec.DefaultRotation.normalized(Rotation{Default: true}, "defaultRotation")
		if err != nil {
			return out, err
		}
		out.DefaultRotation = &r
	}
	return out, nil
}

func normalizedMembers(members []MemberSpec) ([]MemberSpec, error) {
	out := make([]MemberSpec, len(members))
	seen := make(map[string]bool, len(members))
	for i, ms := range members {
		path := fmt.Sprintf("members[%d]", i)
		m := Member{Email: ms.Email, Role: ms.Role}
		if err := m.Validate(); err != nil {
			return nil, atPath(err, func(field string) string { return path + "." + field })
		}
		if seen[m.Email] {
			return nil, ValidationError(FieldError{path + ".email", m.Email, "Appears twice in members"})
		}
		seen[m.Email] = true
		out[i] = MemberSpec{Email: m.Email, Role: m.Role}
	}
	return out, nil
}

func normalizedTeams(teams []TeamSpec) ([]TeamSpec, error) {
	out := make([]TeamSpec, len(teams))
	seen := make(map[string]bool, len(teams))
	for i, ts := range teams {
		path := fmt.Sprintf("teams[%d]", i)
		t := TeamSpec{Name: ts.Name}
		if err := validateName(&t.Name); err != nil {
			return nil, atPath(err, func(string) string { return path + ".name" })
		}
		if seen[t.Name] {
			return nil, ValidationError(FieldError{path + ".name", t.Name, "Appears twice in teams"})
		}
		seen[t.Name] = true
		var err error
		if t.LeadSources, err = normalizedSources(ts.LeadSources, path+".leadSources"); err != nil {
			return nil, err
		}
		if ts.Rotation != nil {
			// Any team ID will do: the rotation is validated, not stored.
			r, err := ts.Rotation.normalized(Rotation{TeamID: 1}, path+".rotation")
			if err != nil {
				return nil, err
			}
			t.Rotation = &r
		}
		out[i] = t
	}
	return out, nil
}

func normalizedSources(names []string, path string) ([]string, error) {
	out := make([]string, len(names))
	seen := make(map[string]bool, len(names))
	for i, name := range names {
		field := fmt.Sprintf("%s[%d]", path, i)
		if err := validateName(&name); err != nil {
			return nil, atPath(err, func(string) string { return field })
		}
		if seen[name] {
			return nil, ValidationError(FieldError{field, name, "Appears twice in the team's lead sources"})
		}
		seen[name] = true
		out[i] = name
	}
	return out, nil
}

// normalized validates the rotation spec as Rotation.Validate does, on a
// copy completed with owner's TeamID or Default, and returns it normalized;
// errors name fields under path.
func (rs RotationSpec) normalized(owner Rotation, path string) (RotationSpec, error) {
	r := rs.rotation(owner)
	if err := r.Validate(); err != nil {
		return rs, atPath(err, func(field string) string { return path + "." + field })
	}
	if r.Members == nil {
		r.Members = []RotationMember{}
	}
	return RotationSpec{Name: r.Name, FallbackAssignee: r.FallbackAssignee, Timezone: r.Timezone, Members: r.Members}, nil
}

// rotation returns the Rotation rs declares, owned as owner is (team or
// default, and ID for an existing one).
func (rs RotationSpec) rotation(owner Rotation) Rotation {
	return Rotation{ID: owner.ID, TeamID: owner.TeamID, Default: owner.Default, Name: rs.Name,
		FallbackAssignee: rs.FallbackAssignee, Timezone: rs.Timezone, Members: slices.Clone(rs.Members)}
}

// atPath returns err with the field of its validation details renamed;
// other errors unchanged.
func atPath(err error, rename func(field string) string) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeValidation {
		return err
	}
	field, _ := e.Details["field"].(string)
	out := *e
	out.Details = maps.Clone(e.Details)
	out.Details["field"] = rename(field)
	return &out
}

// checkUsers requires every rotation member and fallback assignee of spec to
// be a member of the account or in spec's members, and that spec's roles
// leave the account an admin.
func (spec Spec) checkUsers(cfg *AccountConfig) error {
	roles := make(map[string]Role, len(cfg.Members)+len(spec.Members))
	maps.Copy(roles, cfg.Members)
	for _, m := range spec.Members {
		roles[m.Email] = m.Role
	}
	for i, t := range spec.Teams {
		if err := t.Rotation.checkUsers(roles, fmt.Sprintf("teams[%d].rotation", i)); err != nil {
			return err
		}
	}
	if err := spec.DefaultRotation.checkUsers(roles, "defaultRotation"); err != nil {
		return err
	}
	if cfg.admins() > 0 && !slices.Contains(slices.Collect(maps.Values(roles)), RoleAdmin) {
		return Errorf(CodeLastAdmin, "members would leave the account without an admin")
	}
	return nil
}

func (rs *RotationSpec) checkUsers(roles map[string]Role, path string) error {
	if rs == nil {
		return nil
	}
	for i, m := range rs.Members {
		if roles[m.User] == "" {
			return notMember(m.User, fmt.Sprintf("%s.members[%d].user", path, i))
		}
	}
	if rs.FallbackAssignee != "" && roles[rs.FallbackAssignee] == "" {
		return notMember(rs.FallbackAssignee, path+".fallbackAssignee")
	}
	return nil
}

func notMember(user, path string) *Error {
	return &Error{Code: CodeMemberNotInAccount,
		Message: fmt.Sprintf("%s: %s is not a member of this account nor in the file's members", path, user),
		Details: map[string]any{"user": user, "path": path}}
}

// planner builds a plan from an account's configuration.
type planner struct {
	cfg  *AccountConfig
	plan *ApplyPlan
}

func newPlanner(cfg *AccountConfig, accountID string) *planner {
	ids := make(map[string]int64, len(cfg.Teams))
	for _, t := range cfg.Teams {
		ids[t.Name] = t.ID
	}
	return &planner{cfg: cfg, plan: &ApplyPlan{AccountID: accountID, Version: cfg.Version, Items: []ApplyItem{}, teamIDs: ids}}
}

func (p *planner) add(it ApplyItem) { p.plan.Items = append(p.plan.Items, it) }

func (p *planner) planAccount(policy DuplicatePolicy) {
	if policy == "" {
		return
	}
	it := ApplyItem{Kind: ApplyUnchanged, Object: "account setting duplicatePolicy", perm: PermManageAccount}
	if cur := p.cfg.Account.DuplicatePolicy; cur != policy {
		it.Kind, it.Details = ApplyUpdate, []string{fmt.Sprintf("%s -> %s", cur, policy)}
		it.apply = func(ctx context.Context, run *applyRun) error {
			_, err := run.svc.UpdateAccount(ctx, run.actor, AccountPatch{DuplicatePolicy: &policy})
			return err
		}
	}
	p.add(it)
}

func (p *planner) planMembers(members []MemberSpec) {
	for _, m := range members {
		it := ApplyItem{Kind: ApplyUnchanged, Object: "member " + m.Email, perm: PermManageAccount}
		switch cur, exists := p.cfg.Members[m.Email]; {
		case !exists:
			it.Kind, it.Details = ApplyCreate, []string{"role: " + string(m.Role)}
		case cur != m.Role:
			it.Kind, it.Details = ApplyUpdate, []string{fmt.Sprintf("role: %s -> %s", cur, m.Role)}
		}
		if it.Kind != ApplyUnchanged {
			it.apply = func(ctx context.Context, run *applyRun) error {
				_, err := run.svc.PutMember(ctx, run.actor, Member{Email: m.Email, Role: m.Role})
				return err
			}
		}
		p.add(it)
	}
}

// planTeam plans the team, its lead sources and its rotation.
func (p *planner) planTeam(t TeamSpec) {
	teamID, exists := p.plan.teamIDs[t.Name]
	it := ApplyItem{Kind: ApplyUnchanged, Object: fmt.Sprintf("team %q", t.Name), perm: PermWriteConfig}
	if !exists {
		it.Kind = ApplyCreate
		it.apply = func(ctx context.Context, run *applyRun) error {
			created, err := run.svc.CreateTeam(ctx, run.actor, Team{Name: t.Name})
			if err != nil {
				return err
			}
			run.teamIDs[t.Name] = created.ID
			return nil
		}
	}
	p.add(it)
	p.planSources(t, teamID)
	of := fmt.Sprintf(" of team %q", t.Name)
	cur := p.cfg.TeamRotations[teamID] // none for a team yet to be created (ID 0)
	switch {
	case t.Rotation != nil:
		p.planRotation(*t.Rotation, cur, fmt.Sprintf("rotation %q", t.Rotation.Name)+of, func(run *applyRun) Rotation {
			return Rotation{TeamID: run.teamIDs[t.Name]}
		})
	case cur != nil:
		p.add(ApplyItem{Kind: ApplyKept, Object: fmt.Sprintf("rotation %q", cur.Name) + of})
	}
}

// planSources plans the lead sources of team t, whose ID is teamID (0 when
// it is yet to be created): the named ones, then the others it has, kept.
func (p *planner) planSources(t TeamSpec, teamID int64) {
	have := map[string]bool{}
	var others []string
	for _, src := range p.cfg.LeadSources {
		if teamID != 0 && src.TeamID == teamID {
			have[src.Name] = true
			if !slices.Contains(t.LeadSources, src.Name) {
				others = append(others, src.Name)
			}
		}
	}
	for _, name := range t.LeadSources {
		it := ApplyItem{Kind: ApplyUnchanged, Object: fmt.Sprintf("lead source %q of team %q", name, t.Name), perm: PermWriteConfig}
		if !have[name] {
			it.Kind = ApplyCreate
			it.apply = func(ctx context.Context, run *applyRun) error {
				_, err := run.svc.CreateLeadSource(ctx, run.actor, LeadSource{TeamID: run.teamIDs[t.Name], Name: name})
				return err
			}
		}
		p.add(it)
	}
	slices.Sort(others)
	for _, name := range others {
		p.add(ApplyItem{Kind: ApplyKept, Object: fmt.Sprintf("lead source %q of team %q", name, t.Name)})
	}
}

// planKeptTeams lists the account's teams that the spec does not name.
func (p *planner) planKeptTeams(named []TeamSpec) {
	var kept []*Team
	for _, t := range p.cfg.Teams {
		if !slices.ContainsFunc(named, func(ts TeamSpec) bool { return ts.Name == t.Name }) {
			kept = append(kept, t)
		}
	}
	slices.SortFunc(kept, func(a, b *Team) int { return cmp.Compare(a.Name, b.Name) })
	for _, t := range kept {
		p.add(ApplyItem{Kind: ApplyKept, Object: fmt.Sprintf("team %q", t.Name)})
	}
}

func (p *planner) planDefaultRotation(want *RotationSpec) {
	cur := p.cfg.DefaultRotation
	switch {
	case want != nil:
		p.planRotation(*want, cur, fmt.Sprintf("default rotation %q", want.Name), func(*applyRun) Rotation {
			return Rotation{Default: true}
		})
	case cur != nil:
		p.add(ApplyItem{Kind: ApplyKept, Object: fmt.Sprintf("default rotation %q", cur.Name)})
	}
}

// planRotation plans a rotation from want: created when cur is nil, else
// updated when they differ. owner says, at apply time, whose rotation it is.
func (p *planner) planRotation(want RotationSpec, cur *Rotation, object string, owner func(run *applyRun) Rotation) {
	it := ApplyItem{Kind: ApplyUnchanged, Object: object, perm: PermWriteConfig}
	if cur == nil {
		it.Kind, it.Details = ApplyCreate, rotationSettings(want)
		it.apply = func(ctx context.Context, run *applyRun) error {
			_, err := run.svc.CreateRotation(ctx, run.actor, want.rotation(owner(run)))
			return err
		}
	} else if diff := rotationDiff(cur, want); len(diff) > 0 {
		it.Kind, it.Details = ApplyUpdate, diff
		id, teamID, isDefault := cur.ID, cur.TeamID, cur.Default
		it.apply = func(ctx context.Context, run *applyRun) error {
			_, err := run.svc.UpdateRotation(ctx, run.actor, want.rotation(Rotation{ID: id, TeamID: teamID, Default: isDefault}))
			return err
		}
	}
	p.add(it)
}

// rotationSettings describes a rotation to create: its members with their
// settings, and the settings that are not defaults.
func rotationSettings(r RotationSpec) []string {
	members := make([]string, len(r.Members))
	for i, m := range r.Members {
		members[i] = m.User
		if s := memberSettings(m); s != "" {
			members[i] += " (" + s + ")"
		}
	}
	out := []string{"members: [" + strings.Join(members, ", ") + "]"}
	if r.FallbackAssignee != "" {
		out = append(out, fmt.Sprintf("fallbackAssignee: %q", r.FallbackAssignee))
	}
	if r.Timezone != "UTC" {
		out = append(out, fmt.Sprintf("timezone: %q", r.Timezone))
	}
	return out
}

// memberSettings describes a member's settings that are not defaults, e.g.
// "weight 2, paused, dailyCap 10".
func memberSettings(m RotationMember) string {
	var out []string
	if m.Weight != 1 {
		out = append(out, fmt.Sprintf("weight %d", m.Weight))
	}
	if m.Paused {
		out = append(out, "paused")
	}
	if m.DailyCap > 0 {
		out = append(out, fmt.Sprintf("dailyCap %d", m.DailyCap))
	}
	return strings.Join(out, ", ")
}

// rotationDiff describes what changes from cur to want, field by field and
// member by member; nothing when they agree.
func rotationDiff(cur *Rotation, want RotationSpec) []string {
	var out []string
	for _, f := range []struct{ name, from, to string }{
		{"name", cur.Name, want.Name},
		{"fallbackAssignee", cur.FallbackAssignee, want.FallbackAssignee},
		{"timezone", cur.Timezone, want.Timezone},
	} {
		if f.from != f.to {
			out = append(out, fmt.Sprintf("%s: %q -> %q", f.name, f.from, f.to))
		}
	}
	if from, to := memberUsers(cur.Members), memberUsers(want.Members); !slices.Equal(from, to) {
		out = append(out, fmt.Sprintf("members: %v -> %v", from, to))
	}
	return append(out, memberDiffs(cur.Members, want.Members)...)
}

func memberUsers(ms []RotationMember) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.User
	}
	return out
}

// memberDiffs describes, for each member of want, how its settings differ
// from those it has in cur, or its settings when it is new.
func memberDiffs(cur, want []RotationMember) []string {
	var out []string
	for _, m := range want {
		i := slices.IndexFunc(cur, func(c RotationMember) bool { return c.User == m.User })
		if i < 0 {
			if s := memberSettings(m); s != "" {
				out = append(out, fmt.Sprintf("%s (new): %s", m.User, s))
			}
			continue
		}
		if d := memberDiff(cur[i], m); d != "" {
			out = append(out, m.User+": "+d)
		}
	}
	return out
}

// memberDiff describes how a member's settings change, e.g.
// "paused false -> true, dailyCap none -> 10".
func memberDiff(from, to RotationMember) string {
	var out []string
	if from.Weight != to.Weight {
		out = append(out, fmt.Sprintf("weight %d -> %d", from.Weight, to.Weight))
	}
	if from.Paused != to.Paused {
		out = append(out, fmt.Sprintf("paused %t -> %t", from.Paused, to.Paused))
	}
	if from.DailyCap != to.DailyCap {
		out = append(out, fmt.Sprintf("dailyCap %s -> %s", dailyCap(from.DailyCap), dailyCap(to.DailyCap)))
	}
	return strings.Join(out, ", ")
}

func dailyCap(n int) string {
	if n <= 0 {
		return "none"
	}
	return fmt.Sprint(n)
}
