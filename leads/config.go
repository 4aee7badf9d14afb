package leads

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// snapshot returns v's JSON form, for the before and after of audit entries.
func snapshot(v any) map[string]any { return toJSONMap(v) }

// configEntry is an audit entry of a configuration change: no lead, the
// object's id (or a member's email) under idKey, and its state before and
// after (nil for none).
func configEntry(actor Actor, event, idKey string, id any, before, after any, now time.Time) AuditEntry {
	data := map[string]any{idKey: id}
	if before != nil {
		data["before"] = snapshot(before)
	}
	if after != nil {
		data["after"] = snapshot(after)
	}
	return newAuditEntry(actor, event, data, now)
}

// renameTo is the change of a rename of a team or lead source T to name at
// now: nothing when the name stays, VALIDATION_ERROR for a bad one, else the
// renamed copy and its audit entry. fields points at T's name and update
// time.
func renameTo[T any, P interface {
	*T
	Validate() error
}](actor Actor, event, idKey string, id int64, name string, now time.Time, fields func(P) (*string, *time.Time)) func(P) (P, []AuditEntry, error) {
	return func(cur P) (P, []AuditEntry, error) {
		next := P(new(T))
		*next = *cur
		nextName, updatedAt := fields(next)
		*nextName = name
		if err := next.Validate(); err != nil {
			return nil, nil, err
		}
		if curName, _ := fields(cur); *nextName == *curName {
			return nil, nil, nil
		}
		*updatedAt = now
		return next, []AuditEntry{configEntry(actor, event, idKey, id, cur, next, now)}, nil
	}
}

// deleteEntry is the audit entry of deleting a team or lead source T at now,
// with the number of leads the deletion detached.
func deleteEntry[T any](actor Actor, event, idKey string, id int64, now time.Time) func(*T, int) AuditEntry {
	return func(cur *T, detached int) AuditEntry {
		e := configEntry(actor, event, idKey, id, cur, nil, now)
		e.Data["detachedLeads"] = detached
		return e
	}
}

// Configuration returns actor's account's current configuration: settings,
// members, teams, lead sources and rotations. The result is shared with
// other callers and must not be modified.
func (s *Service) Configuration(ctx context.Context, actor Actor) (*AccountConfig, error) {
	if err := actor.Require(PermRead); err != nil {
		return nil, err
	}
	check, err := s.store.LeadFacts(ctx, LeadFactsQuery{AccountID: actor.AccountID})
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return s.config(ctx, actor.AccountID, check.ConfigVersion)
}

// CreateTeam adds a team to actor's account; managers and admins only.
// CONFLICT when the account has a team of that name.
func (s *Service) CreateTeam(ctx context.Context, actor Actor, t Team) (*Team, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t.AccountID = actor.AccountID
	t.CreatedAt = s.clock()
	t.UpdatedAt = t.CreatedAt
	entry := func(created *Team) AuditEntry {
		return configEntry(actor, EventTeamCreated, "teamId", created.ID, nil, created, created.CreatedAt)
	}
	if err := s.store.CreateTeam(ctx, &t, entry); err != nil {
		return nil, fmt.Errorf("create team: %w", err)
	}
	return &t, nil
}

// Teams returns actor's account's teams by id.
func (s *Service) Teams(ctx context.Context, actor Actor) ([]Team, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	teams := make([]Team, 0, len(cfg.Teams))
	for _, t := range cfg.Teams {
		teams = append(teams, *t)
	}
	slices.SortFunc(teams, func(a, b Team) int { return cmp.Compare(a.ID, b.ID) })
	return teams, nil
}

// Team returns one of actor's account's teams; NOT_FOUND otherwise.
func (s *Service) Team(ctx context.Context, actor Actor, id int64) (*Team, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	t := cfg.Teams[id]
	if t == nil {
		return nil, notFound("team")
	}
	team := *t
	return &team, nil
}

// RenameTeam renames a team; managers and admins only. NOT_FOUND, CONFLICT
// for a name taken.
func (s *Service) RenameTeam(ctx context.Context, actor Actor, id int64, name string) (*Team, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, err
	}
	t, err := s.store.UpdateTeam(ctx, actor.AccountID, id, renameTo(actor, EventTeamUpdated, "teamId", id, name, s.clock(),
		func(t *Team) (*string, *time.Time) { return &t.Name, &t.UpdatedAt }))
	if err != nil {
		return nil, fmt.Errorf("rename team %d: %w", id, err)
	}
	return t, nil
}

// DeleteTeam deletes a team with its lead sources and rotation; managers and
// admins only. A team with leads is TEAM_IN_USE unless force, which detaches
// the leads from the team and its lead sources.
func (s *Service) DeleteTeam(ctx context.Context, actor Actor, id int64, force bool) error {
	if err := actor.Require(PermWriteConfig); err != nil {
		return err
	}
	err := s.store.DeleteTeam(ctx, actor.AccountID, id, force, deleteEntry[Team](actor, EventTeamDeleted, "teamId", id, s.clock()))
	if err != nil {
		return fmt.Errorf("delete team %d: %w", id, err)
	}
	return nil
}

// CreateLeadSource adds a lead source to a team of actor's account; managers
// and admins only. TEAM_NOT_FOUND when the account has no such team.
func (s *Service) CreateLeadSource(ctx context.Context, actor Actor, src LeadSource) (*LeadSource, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, err
	}
	if err := src.Validate(); err != nil {
		return nil, err
	}
	src.AccountID = actor.AccountID
	src.CreatedAt = s.clock()
	src.UpdatedAt = src.CreatedAt
	entry := func(created *LeadSource) AuditEntry {
		return configEntry(actor, EventLeadSourceCreated, "leadSourceId", created.ID, nil, created, created.CreatedAt)
	}
	if err := s.store.CreateLeadSource(ctx, &src, entry); err != nil {
		return nil, fmt.Errorf("create lead source: %w", err)
	}
	return &src, nil
}

// LeadSources returns a team's lead sources by id; NOT_FOUND for a team not
// in actor's account.
func (s *Service) LeadSources(ctx context.Context, actor Actor, teamID int64) ([]LeadSource, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	if cfg.Teams[teamID] == nil {
		return nil, notFound("team")
	}
	sources := []LeadSource{}
	for _, src := range cfg.LeadSources {
		if src.TeamID == teamID {
			sources = append(sources, *src)
		}
	}
	slices.SortFunc(sources, func(a, b LeadSource) int { return cmp.Compare(a.ID, b.ID) })
	return sources, nil
}

// RenameLeadSource renames a lead source; managers and admins only.
func (s *Service) RenameLeadSource(ctx context.Context, actor Actor, id int64, name string) (*LeadSource, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, err
	}
	src, err := s.store.UpdateLeadSource(ctx, actor.AccountID, id, renameTo(actor, EventLeadSourceUpdated, "leadSourceId", id, name, s.clock(),
		func(src *LeadSource) (*string, *time.Time) { return &src.Name, &src.UpdatedAt }))
	if err != nil {
		return nil, fmt.Errorf("rename lead source %d: %w", id, err)
	}
	return src, nil
}

// DeleteLeadSource deletes a lead source; managers and admins only.
// LEAD_SOURCE_IN_USE while leads name it, unless force detaches them.
func (s *Service) DeleteLeadSource(ctx context.Context, actor Actor, id int64, force bool) error {
	if err := actor.Require(PermWriteConfig); err != nil {
		return err
	}
	err := s.store.DeleteLeadSource(ctx, actor.AccountID, id, force, deleteEntry[LeadSource](actor, EventLeadSourceDeleted, "leadSourceId", id, s.clock()))
	if err != nil {
		return fmt.Errorf("delete lead source %d: %w", id, err)
	}
	return nil
}

// CreateRotation adds a rotation to actor's account; managers and admins only.
// VALIDATION_ERROR for bad fields, TEAM_NOT_FOUND for another account's team,
// MEMBER_NOT_IN_ACCOUNT for a member or fallback who is not a member of the
// account, CONFLICT for a second default rotation or a second one on a team.
func (s *Service) CreateRotation(ctx context.Context, actor Actor, r Rotation) (*Rotation, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	r.AccountID = actor.AccountID
	if err := s.checkRotation(cfg, &r); err != nil {
		return nil, err
	}
	r.CreatedAt = s.clock()
	r.UpdatedAt = r.CreatedAt
	entry := func(created *Rotation) AuditEntry {
		return newAuditEntry(actor, EventRotationCreated, map[string]any{"rotationId": created.ID, "after": snapshot(created.settings())}, created.CreatedAt)
	}
	if err := s.store.CreateRotation(ctx, &r, entry); err != nil {
		return nil, fmt.Errorf("create rotation: %w", err)
	}
	return &r, nil
}

// checkRotation is r.check, and refuses an SLA when the Service has no job
// runner to keep its timers (WithWebhooks), unless it is a draft's, which
// keeps no timer.
func (s *Service) checkRotation(cfg *AccountConfig, r *Rotation) error {
	if err := r.check(cfg); err != nil {
		return err
	}
	if r.SLA != nil && s.dispatcher == nil && !s.draft {
		return ValidationError(FieldError{"sla", nil, "Needs the job runner that keeps SLA timers, which this server runs without"})
	}
	return nil
}

// check validates r and that its members and fallback are members of the
// account.
func (r *Rotation) check(cfg *AccountConfig) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return r.checkRefs(cfg)
}

// checkRefs returns the error that says what r names that cfg's account
// does not have: its team (TEAM_NOT_FOUND), or a member or fallback
// assignee who is not a member (MEMBER_NOT_IN_ACCOUNT naming the field),
// as the SQL store's check in its transaction says it.
func (r *Rotation) checkRefs(cfg *AccountConfig) error {
	if r.TeamID != 0 && cfg.Teams[r.TeamID] == nil {
		return &Error{Code: CodeTeamNotFound, Message: "team not found", Details: map[string]any{"teamId": r.TeamID}}
	}
	for i, m := range r.Members {
		if cfg.Members[m.User] == "" {
			return MemberNotInAccount(m.User, fmt.Sprintf("members[%d].user", i))
		}
	}
	if r.FallbackAssignee != "" && cfg.Members[r.FallbackAssignee] == "" {
		return MemberNotInAccount(r.FallbackAssignee, "fallbackAssignee")
	}
	return nil
}

// settings is what the audit log records of a rotation.
func (r *Rotation) settings() map[string]any {
	return map[string]any{"name": r.Name, "teamId": r.TeamID, "default": r.Default, "fallbackAssignee": r.FallbackAssignee,
		"whenNobodyEligible": r.WhenNobodyEligible, "sla": r.SLA, "timezone": r.Timezone, "members": r.Members}
}

// Rotations returns actor's account's rotations by id.
func (s *Service) Rotations(ctx context.Context, actor Actor) ([]Rotation, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	return cfg.Rotations(), nil
}

// Rotation returns one of actor's account's rotations; NOT_FOUND otherwise.
func (s *Service) Rotation(ctx context.Context, actor Actor, id int64) (*Rotation, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	r := cfg.Rotation(id)
	if r == nil {
		return nil, notFound("rotation")
	}
	return r.clone(), nil
}

// clone returns a copy of r that shares no member list or SLA with it.
func (r *Rotation) clone() *Rotation {
	out := *r
	out.Members = slices.Clone(r.Members)
	if r.SLA != nil {
		sla := *r.SLA
		out.SLA = &sla
	}
	return &out
}

// ReplaceRotation replaces a rotation's settings and members with r's (r.ID
// names the rotation); the errors are those of CreateRotation, and NOT_FOUND
// for a rotation not in the account. Members keep their place in the turn
// order across edits.
func (s *Service) ReplaceRotation(ctx context.Context, actor Actor, r Rotation) (*Rotation, error) {
	return s.UpdateRotation(ctx, actor, r.ID, func(cur *Rotation) error {
		cur.Name, cur.TeamID, cur.Default, cur.FallbackAssignee, cur.WhenNobodyEligible, cur.SLA, cur.Timezone, cur.Members =
			r.Name, r.TeamID, r.Default, r.FallbackAssignee, r.WhenNobodyEligible, r.SLA, r.Timezone, slices.Clone(r.Members)
		return nil
	})
}

// UpdateRotation applies change to a copy of the rotation as it is now and
// stores the result, audited as rotation_updated {before, after}; managers
// and admins only. change may return an error to refuse. The change applies
// to the very next lead, in every process. Errors as for ReplaceRotation.
func (s *Service) UpdateRotation(ctx context.Context, actor Actor, id int64, change func(r *Rotation) error) (*Rotation, error) {
	cfg, now, err := s.configForChange(ctx, actor)
	if err != nil {
		return nil, err
	}
	var newlyCapped []string
	r, err := s.store.UpdateRotation(ctx, actor.AccountID, id, func(cur *Rotation) (*Rotation, []AuditEntry, error) {
		next := *cur
		next.Members = slices.Clone(cur.Members)
		if err := change(&next); err != nil {
			return nil, nil, err
		}
		newlyCapped = newlyCappedMembers(cur, &next)
		next.ID, next.AccountID, next.CreatedAt = cur.ID, cur.AccountID, cur.CreatedAt
		if err := s.checkRotation(cfg, &next); err != nil {
			return nil, nil, err
		}
		before, after := snapshot(cur.settings()), snapshot(next.settings())
		if fmt.Sprint(before) == fmt.Sprint(after) {
			return nil, nil, nil
		}
		next.UpdatedAt = now
		e := newAuditEntry(actor, EventRotationUpdated, map[string]any{"rotationId": id, "before": before, "after": after}, now)
		return &next, []AuditEntry{e}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("update rotation %d: %w", id, err)
	}
	s.forgetLoad(ctx, r, newlyCapped)
	return r, nil
}

// DeleteRotation deletes a rotation; managers and admins only. Its leads keep
// their assignees; new leads fall to the default rotation, if any.
func (s *Service) DeleteRotation(ctx context.Context, actor Actor, id int64) error {
	if err := actor.Require(PermWriteConfig); err != nil {
		return err
	}
	now := s.clock()
	err := s.store.DeleteRotation(ctx, actor.AccountID, id, func(cur *Rotation) AuditEntry {
		return newAuditEntry(actor, EventRotationDeleted, map[string]any{"rotationId": id, "before": snapshot(cur.settings())}, now)
	})
	if err != nil {
		return fmt.Errorf("delete rotation %d: %w", id, err)
	}
	return nil
}

// configForChange checks that actor may change the account's
// configuration, and returns the configuration the change is checked
// against and the time it is made at.
func (s *Service) configForChange(ctx context.Context, actor Actor) (*AccountConfig, time.Time, error) {
	if err := actor.Require(PermWriteConfig); err != nil {
		return nil, time.Time{}, err
	}
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, time.Time{}, err
	}
	return cfg, s.clock(), nil
}
