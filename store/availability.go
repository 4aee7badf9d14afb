package store

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

// Members' availability: schedules and time off by member, holiday
// calendars by account, and which calendar a member follows (a column of
// members). All of it is configuration: every change bumps the account's
// version, so that the next lead in every process sees it.

var holidayCalendarName = constraint{"holiday_calendars_account_id_name_key", "holiday_calendars.account_id, holiday_calendars.name"}

// ChangeAvailability reads the member and their availability under the
// account's lock, lets apply decide the change, and writes it with its
// audit entries in one transaction.
func (s *Store) ChangeAvailability(ctx context.Context, accountID, email string,
	apply func(m *leads.Member, cur *leads.MemberAvailability) (*leads.AvailabilityChange, error)) (_ *leads.Member, _ *leads.MemberAvailability, err error) {
	defer translate(&err)
	var m *leads.Member
	var out *leads.MemberAvailability
	err = s.tx(ctx, func(tx bun.Tx) error {
		if err := lockAccount(ctx, tx, s.dialect, accountID); err != nil {
			return err
		}
		var err error
		if m, out, err = selectAvailability(ctx, tx, accountID, email); err != nil {
			return err
		}
		change, err := apply(m, out)
		if err != nil || change == nil {
			return err
		}
		if err := bumpConfig(ctx, tx, accountID); err != nil {
			return err
		}
		if err := writeAvailability(ctx, tx, accountID, email, change); err != nil {
			return err
		}
		if change.Audit != nil {
			if err := insertAudit(ctx, tx, change.Audit()...); err != nil {
				return err
			}
		}
		m, out, err = selectAvailability(ctx, tx, accountID, email)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return m, out, nil
}

// writeAvailability writes change of member email's availability in tx.
func writeAvailability(ctx context.Context, tx bun.Tx, accountID, email string, change *leads.AvailabilityChange) error {
	if change.SetSchedule {
		if change.Schedule == nil {
			_, err := tx.NewDelete().Model((*scheduleRow)(nil)).Where("account_id = ?", accountID).Where("email = ?", email).Exec(ctx)
			if err != nil {
				return fmt.Errorf("delete schedule: %w", err)
			}
		} else {
			row := &scheduleRow{AccountID: accountID, Email: email, Schedule: change.Schedule}
			_, err := tx.NewInsert().Model(row).On("CONFLICT (account_id, email) DO UPDATE").
				Set("schedule = EXCLUDED.schedule").Exec(ctx)
			if err != nil {
				return fmt.Errorf("put schedule: %w", err)
			}
		}
	}
	if t := change.AddTimeOff; t != nil {
		row := &timeOffRow{AccountID: accountID, Email: email, StartsAt: t.Start, EndsAt: t.End, Note: t.Note, CreatedAt: t.CreatedAt}
		if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("insert time off: %w", err)
		}
		t.ID = row.ID
	}
	if id := change.DeleteTimeOff; id != 0 {
		res, err := tx.NewDelete().Model((*timeOffRow)(nil)).Where("id = ?", id).
			Where("account_id = ?", accountID).Where("email = ?", email).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete time off: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return leads.Errorf(leads.CodeNotFound, "time off not found")
		}
	}
	if change.SetCalendar {
		if id := change.HolidayCalendarID; id != 0 {
			ok, err := tx.NewSelect().Model((*holidayCalendarRow)(nil)).Where("account_id = ?", accountID).Where("id = ?", id).Exists(ctx)
			if err != nil {
				return fmt.Errorf("check holiday calendar: %w", err)
			}
			if !ok {
				return leads.UnknownHolidayCalendar(id)
			}
		}
		_, err := tx.NewUpdate().Model((*memberRow)(nil)).Set("holiday_calendar_id = ?", nullID(change.HolidayCalendarID)).
			Where("account_id = ?", accountID).Where("email = ?", email).Exec(ctx)
		if err != nil {
			return fmt.Errorf("set holiday calendar: %w", err)
		}
	}
	return nil
}

// nullID is id as a column value: NULL for 0.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// selectAvailability reads, in tx, member email of the account (NOT_FOUND
// when not a member) and their availability.
func selectAvailability(ctx context.Context, tx bun.Tx, accountID, email string) (*leads.Member, *leads.MemberAvailability, error) {
	row := new(memberRow)
	if err := tx.NewSelect().Model(row).Where("account_id = ?", accountID).Where("email = ?", email).Scan(ctx); err != nil {
		return nil, nil, notFound(err, "member")
	}
	m := row.member()
	all, err := selectAvailabilities(ctx, tx, accountID, email)
	if err != nil {
		return nil, nil, err
	}
	a := availabilityIn(all, email)
	a.HolidayCalendarID = m.HolidayCalendarID
	return &m, a, nil
}

// availabilityIn returns the availability of member email in all, added
// empty when missing.
func availabilityIn(all map[string]*leads.MemberAvailability, email string) *leads.MemberAvailability {
	a := all[email]
	if a == nil {
		a = &leads.MemberAvailability{Email: email, TimeOff: []leads.TimeOff{}}
		all[email] = a
	}
	return a
}

// selectAvailabilities reads, in tx, the schedules and time off of the
// account's members (of member email only, unless it is ""), by email;
// members with neither are missing. The holiday calendar each follows is
// the caller's to set.
func selectAvailabilities(ctx context.Context, tx bun.Tx, accountID, email string) (map[string]*leads.MemberAvailability, error) {
	var schedules []scheduleRow
	var offs []timeOffRow
	qs := tx.NewSelect().Model(&schedules).Where("account_id = ?", accountID)
	qo := tx.NewSelect().Model(&offs).Where("account_id = ?", accountID).Order("email", "starts_at", "id")
	if email != "" {
		qs, qo = qs.Where("email = ?", email), qo.Where("email = ?", email)
	}
	if err := qs.Scan(ctx); err != nil {
		return nil, fmt.Errorf("select schedules: %w", err)
	}
	if err := qo.Scan(ctx); err != nil {
		return nil, fmt.Errorf("select time off: %w", err)
	}
	out := map[string]*leads.MemberAvailability{}
	for i := range schedules {
		availabilityIn(out, schedules[i].Email).Schedule = schedules[i].Schedule
	}
	for i := range offs {
		a := availabilityIn(out, offs[i].Email)
		a.TimeOff = append(a.TimeOff, offs[i].timeOff())
	}
	return out, nil
}

// selectHolidayCalendars reads, in tx, the account's holiday calendars.
func selectHolidayCalendars(ctx context.Context, tx bun.Tx, accountID string) (map[int64]*leads.HolidayCalendar, error) {
	var rows []holidayCalendarRow
	if err := tx.NewSelect().Model(&rows).Where("account_id = ?", accountID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select holiday calendars: %w", err)
	}
	out := make(map[int64]*leads.HolidayCalendar, len(rows))
	for i := range rows {
		out[rows[i].ID] = rows[i].calendar()
	}
	return out, nil
}

// CreateHolidayCalendar stores a holiday calendar under the account's
// lock, so that entry's count of the others holds.
func (s *Store) CreateHolidayCalendar(ctx context.Context, c *leads.HolidayCalendar, entry func(*leads.HolidayCalendar, int) (leads.AuditEntry, error)) (err error) {
	defer translate(&err)
	err = s.tx(ctx, func(tx bun.Tx) error {
		if err := lockAccount(ctx, tx, s.dialect, c.AccountID); err != nil {
			return err
		}
		others, err := tx.NewSelect().Model((*holidayCalendarRow)(nil)).Where("account_id = ?", c.AccountID).Count(ctx)
		if err != nil {
			return fmt.Errorf("count holiday calendars: %w", err)
		}
		row := newHolidayCalendarRow(c)
		row.ID = 0
		if err := insertConfigRow(ctx, tx, c.AccountID, row); err != nil {
			return err
		}
		c.ID = row.ID
		e, err := entry(c, int(others))
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, e)
	})
	if err != nil {
		c.ID = 0
		return holidayCalendarError(err, c.Name)
	}
	return nil
}

func holidayCalendarError(err error, name string) error {
	switch {
	case leads.ErrorCode(err) != leads.CodeInternal:
		return err
	case isUnique(err, holidayCalendarName):
		return leads.NameTaken(leads.KindHolidayCalendar, name)
	}
	return fmt.Errorf("write holiday calendar: %w", err)
}

// UpdateHolidayCalendar changes a holiday calendar under a row lock.
func (s *Store) UpdateHolidayCalendar(ctx context.Context, accountID string, id int64,
	apply func(*leads.HolidayCalendar) (*leads.HolidayCalendar, []leads.AuditEntry, error)) (_ *leads.HolidayCalendar, err error) {
	defer translate(&err)
	var out *leads.HolidayCalendar
	err = s.tx(ctx, func(tx bun.Tx) error {
		row := new(holidayCalendarRow)
		if err := s.lockForChange(ctx, tx, row, accountID, id, "holiday calendar"); err != nil {
			return err
		}
		out = row.calendar()
		next, audit, err := apply(out)
		if err != nil || next == nil {
			return err
		}
		out = next
		if err := bumpConfig(ctx, tx, accountID); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model(newHolidayCalendarRow(next)).Column("name", "timezone", "dates", "updated_at").
			WherePK().Where("account_id = ?", accountID).Exec(ctx)
		if err != nil {
			return err
		}
		return insertAudit(ctx, tx, audit...)
	})
	if err != nil {
		name := ""
		if out != nil {
			name = out.Name
		}
		return nil, holidayCalendarError(err, name)
	}
	return out, nil
}

// DeleteHolidayCalendar deletes a holiday calendar; its followers first
// stop following it (the foreign key from members refuses the deletion
// otherwise).
func (s *Store) DeleteHolidayCalendar(ctx context.Context, accountID string, id int64, entry func(*leads.HolidayCalendar, []string) leads.AuditEntry) (err error) {
	defer translate(&err)
	return s.tx(ctx, func(tx bun.Tx) error {
		row := new(holidayCalendarRow)
		if err := s.lockForChange(ctx, tx, row, accountID, id, "holiday calendar"); err != nil {
			return err
		}
		followers := []string{}
		err := tx.NewSelect().Model((*memberRow)(nil)).Column("email").Where("account_id = ?", accountID).
			Where("holiday_calendar_id = ?", id).Order("email").Scan(ctx, &followers)
		if err != nil {
			return fmt.Errorf("select followers of holiday calendar: %w", err)
		}
		_, err = tx.NewUpdate().Model((*memberRow)(nil)).Set("holiday_calendar_id = NULL").
			Where("account_id = ?", accountID).Where("holiday_calendar_id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("detach followers of holiday calendar: %w", err)
		}
		if err := deleteConfigRow(ctx, tx, accountID, (*holidayCalendarRow)(nil), id, "holiday calendar"); err != nil {
			return err
		}
		return insertAudit(ctx, tx, entry(row.calendar(), followers))
	})
}
