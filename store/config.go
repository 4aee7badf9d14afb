package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

// insertAudit writes audit entries in tx.
func insertAudit(ctx context.Context, tx bun.Tx, entries ...leads.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := auditRows(entries, 0)
	if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
		return fmt.Errorf("insert audit entries: %w", err)
	}
	return nil
}

// lockRow reads the row of model with the given id in the account, locked
// against concurrent writers until tx ends; NOT_FOUND names kind.
func (s *Store) lockRow(ctx context.Context, tx bun.Tx, model any, accountID string, id int64, kind string) error {
	q := tx.NewSelect().Model(model).Where("account_id = ?", accountID).Where("id = ?", id)
	if s.dialect == Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return notFound(err, kind)
	}
	return nil
}

// lockForChange takes the account's lock, then reads the row id of the
// account into model, locked as lockRow does; NOT_FOUND names kind.
func (s *Store) lockForChange(ctx context.Context, tx bun.Tx, model any, accountID string, id int64, kind string) error {
	if err := lockAccount(ctx, tx, s.dialect, accountID); err != nil {
		return err
	}
	return s.lockRow(ctx, tx, model, accountID, id, kind)
}

// insertConfigRow bumps the account's configuration version and inserts
// row, which gets its new id.
func insertConfigRow(ctx context.Context, tx bun.Tx, accountID string, row any) error {
	if err := bumpConfig(ctx, tx, accountID); err != nil {
		return err
	}
	_, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx)
	return err
}

// deleteConfigRow bumps the account's configuration version and deletes the
// row id of model's table; a failure names kind.
func deleteConfigRow(ctx context.Context, tx bun.Tx, accountID string, model any, id int64, kind string) error {
	if err := bumpConfig(ctx, tx, accountID); err != nil {
		return err
	}
	if _, err := tx.NewDelete().Model(model).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("delete %s: %w", kind, err)
	}
	return nil
}

// named says which name and update time of a team or lead source a rename
// writes.
type named[T any] func(*T) (name string, updatedAt time.Time)

// renameRow changes a team or lead source (row type R, domain type T) under
// a row lock: apply sees the row as domain gives it; the name and update
// time of what it returns, when not nil, are written with its audit. It
// returns the result and the name written, for the caller's error.
func renameRow[R, T any](ctx context.Context, s *Store, accountID string, id int64, kind string, domain func(*R) *T, fields named[T],
	apply func(*T) (*T, []leads.AuditEntry, error)) (out *T, name string, err error) {
	err = s.tx(ctx, func(tx bun.Tx) error {
		row := new(R)
		if err := s.lockForChange(ctx, tx, row, accountID, id, kind); err != nil {
			return err
		}
		out = domain(row)
		next, audit, err := apply(out)
		if err != nil || next == nil {
			return err
		}
		var updatedAt time.Time
		name, updatedAt = fields(next)
		if err := bumpConfig(ctx, tx, accountID); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model((*R)(nil)).Set("name = ?", name).Set("updated_at = ?", updatedAt).
			Where("id = ?", id).Exec(ctx)
		if err != nil {
			return err
		}
		out = next
		return insertAudit(ctx, tx, audit...)
	})
	return out, name, err
}

// deleteDetaching deletes a team or lead source (row type R) as detach
// allows: leads naming it by column make it inUse unless force detaches
// them; entry writes the audit of the row and the leads detached.
func deleteDetaching[R any](ctx context.Context, s *Store, accountID string, id int64, force bool, kind, column, inUse string,
	entry func(*R, int) leads.AuditEntry) error {
	return s.tx(ctx, func(tx bun.Tx) error {
		row := new(R)
		if err := s.lockForChange(ctx, tx, row, accountID, id, kind); err != nil {
			return err
		}
		detached, err := s.detach(ctx, tx, accountID, column, id, force, inUse, kind)
		if err != nil {
			return err
		}
		if err := deleteConfigRow(ctx, tx, accountID, (*R)(nil), id, kind); err != nil {
			return err
		}
		return insertAudit(ctx, tx, entry(row, detached))
	})
}

// CreateTeam stores a team and sets its ID; CONFLICT when the account has a
// team of that name, NOT_FOUND for an unknown account.
func (s *Store) CreateTeam(ctx context.Context, t *leads.Team, entry func(*leads.Team) leads.AuditEntry) (err error) {
	defer translate(&err)
	err = s.tx(ctx, func(tx bun.Tx) error {
		row := &teamRow{AccountID: t.AccountID, Name: t.Name, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
		if err := insertConfigRow(ctx, tx, t.AccountID, row); err != nil {
			return err
		}
		t.ID = row.ID
		return insertAudit(ctx, tx, entry(t))
	})
	if err != nil {
		t.ID = 0
		return teamError(err, t.Name)
	}
	return nil
}

func teamError(err error, name string) error {
	switch {
	case leads.ErrorCode(err) != leads.CodeInternal:
		return err
	case isUnique(err, teamName):
		return leads.NameTaken(leads.KindTeam, name)
	}
	return fmt.Errorf("write team: %w", err)
}

// UpdateTeam changes a team under a row lock.
func (s *Store) UpdateTeam(ctx context.Context, accountID string, id int64, apply func(*leads.Team) (*leads.Team, []leads.AuditEntry, error)) (_ *leads.Team, err error) {
	defer translate(&err)
	out, name, err := renameRow(ctx, s, accountID, id, "team", (*teamRow).team,
		func(t *leads.Team) (string, time.Time) { return t.Name, t.UpdatedAt }, apply)
	if err != nil {
		return nil, teamError(err, name)
	}
	return out, nil
}

// DeleteTeam deletes a team; its lead sources and rotation go with it (the
// schema cascades). Leads naming it make it TEAM_IN_USE unless force, which
// detaches them from the team and its lead sources first.
func (s *Store) DeleteTeam(ctx context.Context, accountID string, id int64, force bool, entry func(*leads.Team, int) leads.AuditEntry) (err error) {
	defer translate(&err)
	return deleteDetaching(ctx, s, accountID, id, force, "team", "team_id", leads.CodeTeamInUse,
		func(row *teamRow, detached int) leads.AuditEntry { return entry(row.team(), detached) })
}

// detach counts the account's leads whose column names the object id and,
// with force, clears it (and, for a team, the lead source too); without
// force, leads naming it make the deletion fail with inUse.
func (s *Store) detach(ctx context.Context, tx bun.Tx, accountID, column string, id int64, force bool, inUse, kind string) (int, error) {
	n, err := tx.NewSelect().Model((*leadRow)(nil)).Where("account_id = ?", accountID).Where("? = ?", bun.Ident(column), id).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count leads: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	if !force {
		msg := fmt.Sprintf("the %s has %d leads: delete with force=true to detach them", kind, n)
		if n == 1 {
			msg = fmt.Sprintf("the %s has 1 lead: delete with force=true to detach it", kind)
		}
		return 0, &leads.Error{Code: inUse, Message: msg,
			Details: map[string]any{"leads": n}}
	}
	q := tx.NewUpdate().Model((*leadRow)(nil)).Set("lead_source_id = NULL").Set("updated_at = ?", s.now().UTC()).
		Where("account_id = ?", accountID).Where("? = ?", bun.Ident(column), id)
	if column == "team_id" {
		q = q.Set("team_id = NULL")
	}
	if _, err := q.Exec(ctx); err != nil {
		return 0, fmt.Errorf("detach leads: %w", err)
	}
	return int(n), nil
}

// CreateLeadSource stores a lead source of an existing team of the account
// and sets its ID; TEAM_NOT_FOUND otherwise, CONFLICT when the name is taken.
func (s *Store) CreateLeadSource(ctx context.Context, src *leads.LeadSource, entry func(*leads.LeadSource) leads.AuditEntry) (err error) {
	defer translate(&err)
	err = s.tx(ctx, func(tx bun.Tx) error {
		row := &leadSourceRow{AccountID: src.AccountID, TeamID: src.TeamID, Name: src.Name, CreatedAt: src.CreatedAt, UpdatedAt: src.UpdatedAt}
		if err := insertConfigRow(ctx, tx, src.AccountID, row); err != nil {
			return err
		}
		src.ID = row.ID
		return insertAudit(ctx, tx, entry(src))
	})
	if err != nil {
		src.ID = 0
		if isForeignKey(err) {
			return &leads.Error{Code: leads.CodeTeamNotFound, Message: "team not found", Details: map[string]any{"teamId": src.TeamID}}
		}
		return leadSourceError(err, src.Name)
	}
	return nil
}

func leadSourceError(err error, name string) error {
	switch {
	case leads.ErrorCode(err) != leads.CodeInternal:
		return err
	case isUnique(err, leadSourceName):
		return leads.NameTaken(leads.KindLeadSource, name)
	}
	return fmt.Errorf("write lead source: %w", err)
}

// UpdateLeadSource changes a lead source under a row lock.
func (s *Store) UpdateLeadSource(ctx context.Context, accountID string, id int64, apply func(*leads.LeadSource) (*leads.LeadSource, []leads.AuditEntry, error)) (_ *leads.LeadSource, err error) {
	defer translate(&err)
	out, name, err := renameRow(ctx, s, accountID, id, "lead source", (*leadSourceRow).leadSource,
		func(src *leads.LeadSource) (string, time.Time) { return src.Name, src.UpdatedAt }, apply)
	if err != nil {
		return nil, leadSourceError(err, name)
	}
	return out, nil
}

// DeleteLeadSource deletes a lead source; leads naming it make it
// LEAD_SOURCE_IN_USE unless force, which detaches them first.
func (s *Store) DeleteLeadSource(ctx context.Context, accountID string, id int64, force bool, entry func(*leads.LeadSource, int) leads.AuditEntry) (err error) {
	defer translate(&err)
	return deleteDetaching(ctx, s, accountID, id, force, "lead source", "lead_source_id", leads.CodeLeadSourceInUse,
		func(row *leadSourceRow, detached int) leads.AuditEntry { return entry(row.leadSource(), detached) })
}

// CreateRotation stores a rotation with its members and sets its ID.
func (s *Store) CreateRotation(ctx context.Context, r *leads.Rotation, entry func(*leads.Rotation) leads.AuditEntry) (err error) {
	defer translate(&err)
	err = s.tx(ctx, func(tx bun.Tx) error {
		r.ID = 0
		row := newRotationRow(r)
		if err := bumpConfig(ctx, tx, r.AccountID); err != nil {
			return err
		}
		if err := checkRotationRefs(ctx, tx, r.AccountID, r); err != nil {
			return err
		}
		if err := checkRotationName(ctx, tx, r.AccountID, r); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
			return err
		}
		r.ID = row.ID
		if err := insertRotationMembers(ctx, tx, r); err != nil {
			return err
		}
		return insertAudit(ctx, tx, entry(r))
	})
	if err != nil {
		r.ID = 0
		return rotationError(err, r)
	}
	return nil
}

// UpdateRotation changes a rotation's settings and member list under a lock.
func (s *Store) UpdateRotation(ctx context.Context, accountID string, id int64, apply func(*leads.Rotation) (*leads.Rotation, []leads.AuditEntry, error)) (_ *leads.Rotation, err error) {
	defer translate(&err)
	var out *leads.Rotation
	err = s.tx(ctx, func(tx bun.Tx) error {
		cur, err := s.lockRotation(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		out = cur
		name := cur.Name
		next, audit, err := apply(cur)
		if err != nil || next == nil {
			return err
		}
		out = next
		if err := checkRotationRefs(ctx, tx, accountID, next); err != nil {
			return err
		}
		if err := bumpConfig(ctx, tx, accountID); err != nil {
			return err
		}
		// Only a new name is checked: rotations named alike before names
		// were unique stay editable.
		if next.Name != name {
			if err := checkRotationName(ctx, tx, accountID, next); err != nil {
				return err
			}
		}
		_, err = tx.NewUpdate().Model(newRotationRow(next)).
			Column("team_id", "is_default", "name", "fallback_assignee", "when_nobody_eligible", "sla", "timezone", "updated_at").
			Where("id = ?", id).Exec(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*rotationMemberRow)(nil)).Where("rotation_id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if err := insertRotationMembers(ctx, tx, next); err != nil {
			return err
		}
		return insertAudit(ctx, tx, audit...)
	})
	if err != nil {
		return nil, rotationError(err, out)
	}
	return out, nil
}

// DeleteRotation deletes a rotation; its leads keep their assignees and lose
// the reference to it.
func (s *Store) DeleteRotation(ctx context.Context, accountID string, id int64, entry func(*leads.Rotation) leads.AuditEntry) (err error) {
	defer translate(&err)
	return s.tx(ctx, func(tx bun.Tx) error {
		cur, err := s.lockRotation(ctx, tx, accountID, id)
		if err != nil {
			return err
		}
		if err := deleteConfigRow(ctx, tx, accountID, (*rotationRow)(nil), id, "rotation"); err != nil {
			return err
		}
		return insertAudit(ctx, tx, entry(cur))
	})
}

// lockRotation reads, under the account's lock and a row lock, the rotation
// id of the account with its members in turn order.
func (s *Store) lockRotation(ctx context.Context, tx bun.Tx, accountID string, id int64) (*leads.Rotation, error) {
	row := new(rotationRow)
	if err := s.lockForChange(ctx, tx, row, accountID, id, "rotation"); err != nil {
		return nil, err
	}
	cur := row.rotation()
	var members []rotationMemberRow
	if err := tx.NewSelect().Model(&members).Where("rotation_id = ?", id).Order("position").Scan(ctx); err != nil {
		return nil, fmt.Errorf("select rotation members: %w", err)
	}
	for _, m := range members {
		cur.Members = append(cur.Members, m.member())
	}
	return cur, nil
}

// checkRotationName refuses, in tx, which holds the account's lock
// (bumpConfig), a name another of the account's rotations has (CONFLICT,
// leads.NameTaken). A check rather than a unique index: accounts may have
// rotations named alike from before, which a migration could not rename
// without changing what their YAML and simulations name.
func checkRotationName(ctx context.Context, tx bun.Tx, accountID string, r *leads.Rotation) error {
	taken, err := tx.NewSelect().Model((*rotationRow)(nil)).Where("account_id = ?", accountID).
		Where("name = ?", r.Name).Where("id <> ?", r.ID).Exists(ctx)
	if err != nil {
		return fmt.Errorf("check rotation name: %w", err)
	}
	if taken {
		return leads.NameTaken(leads.KindRotation, r.Name)
	}
	return nil
}

// checkRotationRefs returns, in tx, which holds the account's lock, the
// error that says what r names that the account does not have: its team
// (TEAM_NOT_FOUND) or a member or fallback assignee who is not a member of
// the account (MEMBER_NOT_IN_ACCOUNT, naming the user and the field). The
// Service checks the same on its cached configuration; this check is the
// one that holds when a member is removed at the same moment.
func checkRotationRefs(ctx context.Context, tx bun.Tx, accountID string, r *leads.Rotation) error {
	if r.TeamID != 0 {
		ok, err := tx.NewSelect().Model((*teamRow)(nil)).Where("account_id = ?", accountID).Where("id = ?", r.TeamID).Exists(ctx)
		if err != nil {
			return fmt.Errorf("check rotation team: %w", err)
		}
		if !ok {
			return &leads.Error{Code: leads.CodeTeamNotFound, Message: "team not found", Details: map[string]any{"teamId": r.TeamID}}
		}
	}
	users := make([]string, 0, len(r.Members)+1)
	for _, m := range r.Members {
		users = append(users, m.User)
	}
	if r.FallbackAssignee != "" {
		users = append(users, r.FallbackAssignee)
	}
	if len(users) == 0 {
		return nil
	}
	var found []string
	err := tx.NewSelect().Model((*memberRow)(nil)).Column("email").Where("account_id = ?", accountID).
		Where("email IN (?)", bun.List(users)).Scan(ctx, &found)
	if err != nil {
		return fmt.Errorf("check rotation members: %w", err)
	}
	member := make(map[string]bool, len(found))
	for _, email := range found {
		member[email] = true
	}
	for i, m := range r.Members {
		if !member[m.User] {
			return leads.MemberNotInAccount(m.User, fmt.Sprintf("members[%d].user", i))
		}
	}
	if r.FallbackAssignee != "" && !member[r.FallbackAssignee] {
		return leads.MemberNotInAccount(r.FallbackAssignee, "fallbackAssignee")
	}
	return nil
}

func insertRotationMembers(ctx context.Context, tx bun.Tx, r *leads.Rotation) error {
	rows := rotationMemberRows(r)
	if len(rows) == 0 {
		return nil
	}
	_, err := tx.NewInsert().Model(&rows).Exec(ctx)
	return err
}

func rotationError(err error, r *leads.Rotation) error {
	switch {
	case leads.ErrorCode(err) != leads.CodeInternal:
		return err
	case isUnique(err, rotationDefault):
		return leads.Errorf(leads.CodeConflict, "the account already has a default rotation")
	case isUnique(err, rotationPerTeam):
		return leads.Errorf(leads.CodeConflict, "team %d already has a rotation", r.TeamID)
	case isForeignKeyOn(err, rotationMemberUser):
		// checkRotationRefs ran under the account's lock, so this is not
		// expected; if it happens, it still says what broke.
		return leads.Errorf(leads.CodeMemberNotInAccount, "a member of the rotation is not a member of this account")
	case isForeignKeyOn(err, rotationTeam):
		return &leads.Error{Code: leads.CodeTeamNotFound, Message: "team not found", Details: map[string]any{"teamId": r.TeamID}}
	}
	return fmt.Errorf("write rotation: %w", err)
}

// AccountConfig returns a consistent snapshot of the account's settings,
// members, teams, lead sources, rotations, routing rules and members'
// availability; NOT_FOUND for an unknown account.
func (s *Store) AccountConfig(ctx context.Context, accountID string) (_ *leads.AccountConfig, err error) {
	defer translate(&err)
	var cfg *leads.AccountConfig
	// Repeatable read: the version and everything it versions come from one
	// snapshot, so a cached configuration is never newer than its version.
	opts := &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	if s.dialect == SQLite {
		opts = nil // SQLite transactions are serializable; it knows no levels
	}
	err = s.db.RunInTx(ctx, opts, func(ctx context.Context, tx bun.Tx) error {
		var err error
		cfg, err = loadConfig(ctx, tx, accountID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func loadConfig(ctx context.Context, tx bun.Tx, accountID string) (*leads.AccountConfig, error) {
	account := new(accountRow)
	if err := tx.NewSelect().Model(account).Where("id = ?", accountID).Scan(ctx); err != nil {
		return nil, notFound(err, "account")
	}
	var teams []teamRow
	var sources []leadSourceRow
	var rotations []rotationRow
	var members []rotationMemberRow
	var accountMembers []memberRow
	if err := tx.NewSelect().Model(&teams).Where("account_id = ?", accountID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select teams: %w", err)
	}
	if err := tx.NewSelect().Model(&sources).Where("account_id = ?", accountID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select lead sources: %w", err)
	}
	if err := tx.NewSelect().Model(&rotations).Where("account_id = ?", accountID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select rotations: %w", err)
	}
	if err := tx.NewSelect().Model(&members).Where("account_id = ?", accountID).Order("rotation_id", "position").Scan(ctx); err != nil {
		return nil, fmt.Errorf("select rotation members: %w", err)
	}
	if err := tx.NewSelect().Model(&accountMembers).Column("email", "role", "holiday_calendar_id").Where("account_id = ?", accountID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select members: %w", err)
	}

	rules, err := selectRoutingRules(ctx, tx, accountID)
	if err != nil {
		return nil, err
	}
	rulesAt, err := rulesVersion(ctx, tx, accountID)
	if err != nil {
		return nil, err
	}
	availability, err := selectAvailabilities(ctx, tx, accountID, "")
	if err != nil {
		return nil, err
	}
	calendars, err := selectHolidayCalendars(ctx, tx, accountID)
	if err != nil {
		return nil, err
	}
	subscribed, err := subscribedEvents(ctx, tx, accountID)
	if err != nil {
		return nil, err
	}
	cfg := &leads.AccountConfig{
		Subscribed:       subscribed,
		Rules:            rules,
		RulesVersion:     rulesAt,
		Account:          *account.account(),
		Version:          account.ConfigVersion,
		Teams:            make(map[int64]*leads.Team, len(teams)),
		LeadSources:      make(map[int64]*leads.LeadSource, len(sources)),
		TeamLeadSources:  make(map[int64]int, len(teams)),
		TeamRotations:    make(map[int64]*leads.Rotation),
		PoolRotations:    make(map[int64]*leads.Rotation),
		Members:          make(map[string]leads.Role, len(accountMembers)),
		Availability:     availability,
		HolidayCalendars: calendars,
	}
	for _, m := range accountMembers {
		cfg.Members[m.Email] = leads.Role(m.Role)
		if m.HolidayCalendarID != 0 {
			availabilityIn(availability, m.Email).HolidayCalendarID = m.HolidayCalendarID
		}
	}
	for i := range teams {
		cfg.Teams[teams[i].ID] = teams[i].team()
	}
	for i := range sources {
		cfg.LeadSources[sources[i].ID] = sources[i].leadSource()
		cfg.TeamLeadSources[sources[i].TeamID]++
	}
	byID := make(map[int64]*leads.Rotation, len(rotations))
	for i := range rotations {
		r := rotations[i].rotation()
		byID[r.ID] = r
		switch {
		case r.Default:
			cfg.DefaultRotation = r
		case r.TeamID != 0:
			cfg.TeamRotations[r.TeamID] = r
		default:
			cfg.PoolRotations[r.ID] = r
		}
	}
	for _, m := range members {
		if r := byID[m.RotationID]; r != nil {
			r.Members = append(r.Members, m.member())
		}
	}
	return cfg, nil
}
