// Package spec makes an account's configuration what a declarative file
// says: a Spec names the members, teams, lead sources, rotations and
// routing rules an account must have; Plan compares it with the account and lists the
// changes, Apply carries them out through the leads Service, audited as if
// made by hand, and Propose makes in memory the configuration Apply would
// make, for trying it out. It is a client of the Service, not part of the
// engine: the leadrotor apply command uses it.
package spec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/leadrotor/leadrotor/leads"
)

// Service is what Plan and Apply need of the leads Service.
type Service interface {
	Configuration(ctx context.Context, actor leads.Actor) (*leads.AccountConfig, error)
	UpdateAccount(ctx context.Context, actor leads.Actor, patch leads.AccountPatch) (*leads.Account, error)
	PutMember(ctx context.Context, actor leads.Actor, m leads.Member) (*leads.Member, error)
	CreateTeam(ctx context.Context, actor leads.Actor, t leads.Team) (*leads.Team, error)
	CreateLeadSource(ctx context.Context, actor leads.Actor, src leads.LeadSource) (*leads.LeadSource, error)
	CreateRotation(ctx context.Context, actor leads.Actor, r leads.Rotation) (*leads.Rotation, error)
	ReplaceRotation(ctx context.Context, actor leads.Actor, r leads.Rotation) (*leads.Rotation, error)
	CreateRoutingRule(ctx context.Context, actor leads.Actor, r leads.RoutingRule, position int) (*leads.RoutingRule, error)
	UpdateRoutingRule(ctx context.Context, actor leads.Actor, id int64, change func(r *leads.RoutingRule) error) (*leads.RoutingRule, error)
	ReorderRoutingRules(ctx context.Context, actor leads.Actor, ids []int64) ([]leads.RoutingRule, error)
	SetSchedule(ctx context.Context, actor leads.Actor, email string, sch *leads.Schedule) (*leads.Schedule, error)
	CreateHolidayCalendar(ctx context.Context, actor leads.Actor, c leads.HolidayCalendar) (*leads.HolidayCalendar, error)
	UpdateHolidayCalendar(ctx context.Context, actor leads.Actor, id int64, change func(c *leads.HolidayCalendar) error) (*leads.HolidayCalendar, error)
	SetMemberCalendar(ctx context.Context, actor leads.Actor, email string, calendarID int64) (*leads.Member, error)
	AddTimeOff(ctx context.Context, actor leads.Actor, email string, off leads.TimeOff) (*leads.TimeOff, error)
}

var _ Service = (*leads.Service)(nil)

// Spec is the desired configuration of one account, as a file declares it
// (leadrotor apply -f rotations.yaml). Applying a Spec creates and updates,
// and never deletes: members, teams, lead sources, rotations and routing
// rules that the Spec does not name are kept as they are.
type Spec struct {
	// Account names the account the Spec is for; optional when the caller
	// says, and then it must agree.
	Account string `json:"account,omitempty"`
	// DuplicatePolicy, when set, is the account's duplicate email policy.
	DuplicatePolicy leads.DuplicatePolicy `json:"duplicatePolicy,omitempty"`
	// OpenStatuses, when set, are the statuses of an open lead, which
	// members' capacities (maxOpenLeads) count.
	OpenStatuses []leads.Status `json:"openStatuses,omitempty"`
	// Returning, when set, is the account's returning-contact policy,
	// whole (leads.ReturningPolicy: matchBy, windowDays, ownerGone).
	Returning *leads.ReturningPolicy `json:"returning,omitempty"`
	// Members are users that must be members of the account with these roles.
	Members []Member `json:"members,omitempty"`
	// Teams are teams that must exist, with their lead sources and rotation.
	Teams []Team `json:"teams,omitempty"`
	// DefaultRotation, when set, is the account's default rotation.
	DefaultRotation *Rotation `json:"defaultRotation,omitempty"`
	// Rotations are pool rotations (neither a team's nor the default), found
	// by name as teams are: rotations only routing rules send leads to.
	Rotations []Rotation `json:"rotations,omitempty"`
	// HolidayCalendars are holiday calendars, found by name, that must
	// exist with exactly these dates; the account's others are kept.
	HolidayCalendars []HolidayCalendar `json:"holidayCalendars,omitempty"`
	// RoutingRules are routing rules, found by name without regard to case,
	// that must exist as declared and come first in the account's order, in
	// this order; the account's other rules are kept, after them.
	RoutingRules []RoutingRule `json:"routingRules,omitempty"`
}

// Member is a user that must be a member of the account with Role and,
// when Schedule is set, exactly those working hours (a member's hours the
// file does not declare are kept).
type Member struct {
	Email    string          `json:"email"`
	Role     leads.Role      `json:"role"`
	Schedule *leads.Schedule `json:"schedule,omitempty"`
	// HolidayCalendar, when set, names the holiday calendar the member
	// follows: one of the file's holidayCalendars or of the account's.
	HolidayCalendar string `json:"holidayCalendar,omitempty"`
	// TimeOff are periods out of office that the member must have (the
	// same start and end); the member's others are kept.
	TimeOff []TimeOff `json:"timeOff,omitempty"`
}

// TimeOff is a period out of office, as a file declares it.
type TimeOff struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Note  string    `json:"note,omitempty"`
}

// HolidayCalendar is an account's holiday calendar, found by name, that
// must exist with exactly these dates in this time zone.
type HolidayCalendar struct {
	Name     string   `json:"name"`
	Timezone string   `json:"timezone"`
	Dates    []string `json:"dates"`
}

// Team is a team, found by name, that must exist with at least the lead
// sources named (others it has are kept) and, when Rotation is set, with that
// rotation.
type Team struct {
	Name        string    `json:"name"`
	LeadSources []string  `json:"leadSources,omitempty"`
	Rotation    *Rotation `json:"rotation,omitempty"`
}

// Rotation is the desired state of a rotation: its settings and its exact
// list of members in turn order. Timezone "" is UTC and a member's weight 0
// is 1, as for leads.Rotation.
type Rotation struct {
	Name             string `json:"name"`
	FallbackAssignee string `json:"fallbackAssignee,omitempty"`
	// WhenNobodyEligible is leads.Rotation's: fallback, unassigned, hold,
	// or "" (the fallback assignee if any, else unassigned).
	WhenNobodyEligible string `json:"whenNobodyEligible,omitempty"`
	// SLA is leads.Rotation's; absent for none.
	SLA      *leads.SLA             `json:"sla,omitempty"`
	Timezone string                 `json:"timezone,omitempty"`
	Members  []leads.RotationMember `json:"members"`
}

// normalized returns a deep copy of spec, validated and normalized as the
// service stores things (lower-case emails, trimmed names, weights and
// timezones defaulted), so that an unchanged file compares equal.
func (spec Spec) normalized(accountID string) (Spec, error) {
	out := Spec{Account: strings.TrimSpace(spec.Account), DuplicatePolicy: spec.DuplicatePolicy}
	if out.Account != "" && out.Account != accountID {
		return out, leads.ValidationError(leads.FieldError{Field: "account", Value: out.Account, Message: fmt.Sprintf("Must be the account applied to (%s)", accountID)})
	}
	if out.DuplicatePolicy != "" && !out.DuplicatePolicy.Valid() {
		return out, leads.ValidationError(leads.FieldError{Field: "duplicatePolicy", Value: string(out.DuplicatePolicy), Message: "Must be reject or allow"})
	}
	if len(spec.OpenStatuses) > 0 {
		a := leads.Account{OpenStatuses: slices.Clone(spec.OpenStatuses)}
		if err := a.ValidateOpenStatuses(); err != nil {
			return out, err
		}
		out.OpenStatuses = a.OpenStatuses
	}
	if spec.Returning != nil {
		p := *spec.Returning
		p.MatchBy = slices.Clone(p.MatchBy)
		if err := p.Validate(); err != nil {
			return out, err // its fields are named returning.…
		}
		out.Returning = &p
	}
	var err error
	if out.Members, err = normalizedMembers(spec.Members); err != nil {
		return out, err
	}
	if out.HolidayCalendars, err = normalizedCalendars(spec.HolidayCalendars); err != nil {
		return out, err
	}
	if out.Teams, err = normalizedTeams(spec.Teams); err != nil {
		return out, err
	}
	if spec.DefaultRotation != nil {
		r, err := spec.DefaultRotation.normalized(leads.Rotation{Default: true}, "defaultRotation")
		if err != nil {
			return out, err
		}
		out.DefaultRotation = &r
	}
	if out.Rotations, err = normalizedPools(spec.Rotations); err != nil {
		return out, err
	}
	if out.RoutingRules, err = normalizedRules(spec.RoutingRules); err != nil {
		return out, err
	}
	return out, nil
}

func normalizedMembers(members []Member) ([]Member, error) {
	out := make([]Member, len(members))
	seen := make(map[string]bool, len(members))
	for i, ms := range members {
		path := fmt.Sprintf("members[%d]", i)
		m := leads.Member{Email: ms.Email, Role: ms.Role}
		if err := m.Validate(); err != nil {
			return nil, atPath(err, func(field string) string { return path + "." + field })
		}
		if seen[m.Email] {
			return nil, leads.ValidationError(leads.FieldError{Field: path + ".email", Value: m.Email, Message: "Appears twice in members"})
		}
		seen[m.Email] = true
		out[i] = Member{Email: m.Email, Role: m.Role, HolidayCalendar: strings.TrimSpace(ms.HolidayCalendar)}
		if ms.Schedule != nil {
			sch, err := cloneSchedule(ms.Schedule)
			if err == nil {
				err = sch.Validate()
			}
			if err != nil {
				return nil, atPath(err, func(field string) string { return path + ".schedule." + field })
			}
			out[i].Schedule = sch
		}
		for j, off := range ms.TimeOff {
			t := leads.TimeOff{Start: off.Start, End: off.End, Note: off.Note}
			if err := t.Validate(); err != nil {
				return nil, atPath(err, func(field string) string { return fmt.Sprintf("%s.timeOff[%d].%s", path, j, field) })
			}
			out[i].TimeOff = append(out[i].TimeOff, TimeOff{Start: t.Start, End: t.End, Note: t.Note})
		}
	}
	return out, nil
}

func normalizedCalendars(cals []HolidayCalendar) ([]HolidayCalendar, error) {
	out := make([]HolidayCalendar, len(cals))
	seen := make(map[string]bool, len(cals))
	for i, cs := range cals {
		path := fmt.Sprintf("holidayCalendars[%d]", i)
		c := leads.HolidayCalendar{Name: cs.Name, Timezone: cs.Timezone, Dates: slices.Clone(cs.Dates)}
		if err := c.Validate(); err != nil {
			return nil, atPath(err, func(field string) string { return path + "." + field })
		}
		if seen[c.Name] {
			return nil, leads.ValidationError(leads.FieldError{Field: path + ".name", Value: c.Name, Message: "Appears twice in holidayCalendars"})
		}
		seen[c.Name] = true
		out[i] = HolidayCalendar{Name: c.Name, Timezone: c.Timezone, Dates: c.Dates}
	}
	return out, nil
}

// cloneSchedule returns a deep copy of s.
func cloneSchedule(s *leads.Schedule) (*leads.Schedule, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	out := new(leads.Schedule)
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	return out, nil
}

func normalizedTeams(teams []Team) ([]Team, error) {
	out := make([]Team, len(teams))
	seen := make(map[string]bool, len(teams))
	for i, ts := range teams {
		path := fmt.Sprintf("teams[%d]", i)
		name, err := validName(ts.Name, path+".name")
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, leads.ValidationError(leads.FieldError{Field: path + ".name", Value: name, Message: "Appears twice in teams"})
		}
		seen[name] = true
		t := Team{Name: name}
		if t.LeadSources, err = normalizedSources(ts.LeadSources, path+".leadSources"); err != nil {
			return nil, err
		}
		if ts.Rotation != nil {
			// Any team ID will do: the rotation is validated, not stored.
			r, err := ts.Rotation.normalized(leads.Rotation{TeamID: 1}, path+".rotation")
			if err != nil {
				return nil, err
			}
			t.Rotation = &r
		}
		out[i] = t
	}
	return out, nil
}

func normalizedPools(pools []Rotation) ([]Rotation, error) {
	out := make([]Rotation, len(pools))
	seen := make(map[string]bool, len(pools))
	for i, rs := range pools {
		path := fmt.Sprintf("rotations[%d]", i)
		// The zero owner is neither a team nor the default: a pool.
		r, err := rs.normalized(leads.Rotation{}, path)
		if err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, leads.ValidationError(leads.FieldError{Field: path + ".name", Value: r.Name, Message: "Appears twice in rotations"})
		}
		seen[r.Name] = true
		out[i] = r
	}
	return out, nil
}

func normalizedSources(names []string, path string) ([]string, error) {
	out := make([]string, len(names))
	seen := make(map[string]bool, len(names))
	for i, name := range names {
		field := fmt.Sprintf("%s[%d]", path, i)
		name, err := validName(name, field)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, leads.ValidationError(leads.FieldError{Field: field, Value: name, Message: "Appears twice in the team's lead sources"})
		}
		seen[name] = true
		out[i] = name
	}
	return out, nil
}

// validName returns name as a team or lead source stores it (trimmed), or
// the VALIDATION_ERROR of a bad one, naming field.
func validName(name, field string) (string, error) {
	t := leads.Team{Name: name}
	if err := t.Validate(); err != nil {
		return "", atPath(err, func(string) string { return field })
	}
	return t.Name, nil
}

// normalized validates the rotation spec as leads.Rotation.Validate does, on
// a copy completed with owner's TeamID or Default, and returns it
// normalized; errors name fields under path.
func (rs Rotation) normalized(owner leads.Rotation, path string) (Rotation, error) {
	r := rs.rotation(owner)
	if err := r.Validate(); err != nil {
		return rs, atPath(err, func(field string) string { return path + "." + field })
	}
	if r.Members == nil {
		r.Members = []leads.RotationMember{}
	}
	return Rotation{Name: r.Name, FallbackAssignee: r.FallbackAssignee, WhenNobodyEligible: r.WhenNobodyEligible,
		SLA: r.SLA, Timezone: r.Timezone, Members: r.Members}, nil
}

// rotation returns the leads.Rotation rs declares, owned as owner is (team
// or default, and ID for an existing one).
func (rs Rotation) rotation(owner leads.Rotation) leads.Rotation {
	return leads.Rotation{ID: owner.ID, TeamID: owner.TeamID, Default: owner.Default, Name: rs.Name,
		FallbackAssignee: rs.FallbackAssignee, WhenNobodyEligible: rs.WhenNobodyEligible, SLA: cloneSLA(rs.SLA),
		Timezone: rs.Timezone, Members: slices.Clone(rs.Members)}
}

// cloneSLA returns a copy of sla (nil for nil), so that normalizing one
// rotation changes no other.
func cloneSLA(sla *leads.SLA) *leads.SLA {
	if sla == nil {
		return nil
	}
	c := *sla
	return &c
}

// atPath returns err with the field of its validation details renamed;
// other errors unchanged.
func atPath(err error, rename func(field string) string) error {
	var e *leads.Error
	if !errors.As(err, &e) || e.Code != leads.CodeValidation {
		return err
	}
	field, _ := e.Details["field"].(string)
	out := *e
	out.Details = maps.Clone(e.Details)
	out.Details["field"] = rename(field)
	return &out
}

// checkUsers requires every rotation member, fallback assignee and rule
// assignee of spec to be a member of the account or in spec's members, and
// that spec's roles leave the account an admin.
func (spec Spec) checkUsers(cfg *leads.AccountConfig) error {
	roles := make(map[string]leads.Role, len(cfg.Members)+len(spec.Members))
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
	for i, rs := range spec.Rotations {
		if err := rs.checkUsers(roles, fmt.Sprintf("rotations[%d]", i)); err != nil {
			return err
		}
	}
	for i, r := range spec.RoutingRules {
		if a := r.Action.Assignee; a != "" && roles[a] == "" {
			return notMember(a, fmt.Sprintf("routingRules[%d].action.assignee", i))
		}
	}
	hadAdmin := slices.Contains(slices.Collect(maps.Values(cfg.Members)), leads.RoleAdmin)
	if hadAdmin && !slices.Contains(slices.Collect(maps.Values(roles)), leads.RoleAdmin) {
		return leads.Errorf(leads.CodeLastAdmin, "members would leave the account without an admin")
	}
	return nil
}

func (rs *Rotation) checkUsers(roles map[string]leads.Role, path string) error {
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

func notMember(user, path string) *leads.Error {
	return &leads.Error{Code: leads.CodeMemberNotInAccount,
		Message: fmt.Sprintf("%s: %s is not a member of this account nor in the file's members", path, user),
		Details: map[string]any{"user": user, "path": path}}
}
