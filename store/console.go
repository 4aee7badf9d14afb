package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/leadrotor/leadrotor/leads"
)

// The web console's sign-in: members' password hashes, console sessions and
// invites (leads.SessionStore).

// accountRef translates a broken reference to an account into NOT_FOUND;
// what names an account (a session, an invite, an audit entry) has no other
// foreign key.
func accountRef(err error, what string) error {
	if isForeignKey(err) {
		return leads.Errorf(leads.CodeNotFound, "account not found")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// PasswordHash returns the user's password hash; NOT_FOUND when none is set.
func (s *Store) PasswordHash(ctx context.Context, email string) (_ string, err error) {
	defer translate(&err)
	row := new(passwordRow)
	if err := s.db.NewSelect().Model(row).Where("email = ?", email).Scan(ctx); err != nil {
		return "", notFound(err, "password")
	}
	return row.PasswordHash, nil
}

// SetPassword stores the user's password hash, in place of any before, with
// the audit entries.
func (s *Store) SetPassword(ctx context.Context, email, hash string, now time.Time, audit []leads.AuditEntry) (err error) {
	defer translate(&err)
	return s.tx(ctx, func(tx bun.Tx) error {
		if err := putPassword(ctx, tx, email, hash, now); err != nil {
			return err
		}
		return accountAudit(ctx, tx, audit)
	})
}

// putPassword stores a password hash in tx.
func putPassword(ctx context.Context, tx bun.Tx, email, hash string, now time.Time) error {
	_, err := tx.NewInsert().Model(&passwordRow{Email: email, PasswordHash: hash, UpdatedAt: now}).
		On("CONFLICT (email) DO UPDATE").
		Set("password_hash = EXCLUDED.password_hash").
		Set("updated_at = EXCLUDED.updated_at").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("put password: %w", err)
	}
	return nil
}

// accountAudit stores audit entries in tx; NOT_FOUND when one names an
// account that does not exist. The audit log has no foreign key to
// accounts on PostgreSQL (migration 000027: its check ran for every entry
// of every lead), so the accounts these entries name are looked up here,
// and on PostgreSQL locked against deletion until tx ends, as the key's
// check locked them.
func accountAudit(ctx context.Context, tx bun.Tx, entries []leads.AuditEntry) error {
	ids := make([]string, 0, 1)
	for _, e := range entries {
		if !slices.Contains(ids, e.AccountID) {
			ids = append(ids, e.AccountID)
		}
	}
	if len(ids) > 0 {
		q := tx.NewSelect().Model((*accountRow)(nil)).Column("id").Where("id IN (?)", bun.List(ids))
		if tx.Dialect().Name() == dialect.PG {
			q = q.For("KEY SHARE")
		}
		var found []string
		if err := q.Scan(ctx, &found); err != nil {
			return fmt.Errorf("audit: read accounts: %w", err)
		}
		if len(found) != len(ids) {
			return leads.Errorf(leads.CodeNotFound, "account not found")
		}
	}
	if err := insertAudit(ctx, tx, entries...); err != nil {
		return accountRef(err, "audit")
	}
	return nil
}

// AppendAudit stores audit entries that record an event and nothing else;
// NOT_FOUND when one names an account that does not exist.
func (s *Store) AppendAudit(ctx context.Context, entries []leads.AuditEntry) (err error) {
	defer translate(&err)
	return s.tx(ctx, func(tx bun.Tx) error { return accountAudit(ctx, tx, entries) })
}

// CreateSession stores a session; CONFLICT when its hash is taken, NOT_FOUND
// for an unknown account.
func (s *Store) CreateSession(ctx context.Context, st *leads.StoredSession) (err error) {
	defer translate(&err)
	row := &sessionRow{TokenHash: st.Hash, Email: st.Email, AccountID: st.AccountID, CSRFToken: st.CSRFToken,
		TTLMillis: st.TTL.Milliseconds(), CreatedAt: st.CreatedAt, ExpiresAt: st.ExpiresAt}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		if isUnique(err, sessionPK) {
			return leads.Errorf(leads.CodeConflict, "session token taken, try again")
		}
		return accountRef(err, "insert session")
	}
	return nil
}

// Session returns the session stored under hash with its user's role in
// its account, in one query; NOT_FOUND when there is none.
func (s *Store) Session(ctx context.Context, hash string) (_ *leads.StoredSession, err error) {
	defer translate(&err)
	var row struct {
		sessionRow `bun:",extend"`
		Role       sql.NullString `bun:"role"`
	}
	err = s.db.NewSelect().Model(&row).ColumnExpr("cs.*, m.role").
		Join("LEFT JOIN members AS m ON m.account_id = cs.account_id AND m.email = cs.email").
		Where("cs.token_hash = ?", hash).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "session")
	}
	return &leads.StoredSession{Session: row.session(), Hash: row.TokenHash,
		TTL: time.Duration(row.TTLMillis) * time.Millisecond, Role: leads.Role(row.Role.String)}, nil
}

// ExtendSession sets when the session expires.
func (s *Store) ExtendSession(ctx context.Context, hash string, expiresAt time.Time) (err error) {
	defer translate(&err)
	_, err = s.db.NewUpdate().Model((*sessionRow)(nil)).Set("expires_at = ?", expiresAt).Where("token_hash = ?", hash).Exec(ctx)
	if err != nil {
		return fmt.Errorf("extend session: %w", err)
	}
	return nil
}

// SwitchSession sets the session's account and CSRF token; NOT_FOUND when
// there is no such session or account.
func (s *Store) SwitchSession(ctx context.Context, hash, accountID, csrfToken string) (err error) {
	defer translate(&err)
	res, err := s.db.NewUpdate().Model((*sessionRow)(nil)).Set("account_id = ?", accountID).
		Set("csrf_token = ?", csrfToken).Where("token_hash = ?", hash).Exec(ctx)
	if err != nil {
		return accountRef(err, "switch session")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leads.Errorf(leads.CodeNotFound, "session not found")
	}
	return nil
}

// DeleteSession deletes the session with the audit entries entry makes of
// it; NOT_FOUND when there is none (also for the second of two concurrent
// calls, which writes no entry).
func (s *Store) DeleteSession(ctx context.Context, hash string, entry func(cur *leads.Session) []leads.AuditEntry) (err error) {
	defer translate(&err)
	return s.tx(ctx, func(tx bun.Tx) error {
		row := new(sessionRow)
		if err := tx.NewSelect().Model(row).Where("token_hash = ?", hash).Scan(ctx); err != nil {
			return notFound(err, "session")
		}
		res, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("token_hash = ?", hash).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return leads.Errorf(leads.CodeNotFound, "session not found")
		}
		cur := row.session()
		return accountAudit(ctx, tx, entry(&cur))
	})
}

// CreateInvite stores an invite with its audit entries; CONFLICT when its
// hash is taken, NOT_FOUND for an unknown account.
func (s *Store) CreateInvite(ctx context.Context, hash string, inv *leads.Invite, audit []leads.AuditEntry) (err error) {
	defer translate(&err)
	row := &inviteRow{TokenHash: hash, AccountID: inv.AccountID, Email: inv.Email, Role: string(inv.Role), Kind: inv.Kind,
		CreatedBy: inv.CreatedBy, CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, UsedAt: inv.UsedAt}
	return s.tx(ctx, func(tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			if isUnique(err, invitePK) {
				return leads.Errorf(leads.CodeConflict, "invite token taken, try again")
			}
			return accountRef(err, "insert invite")
		}
		return accountAudit(ctx, tx, audit)
	})
}

// Invite returns the invite stored under hash; NOT_FOUND when none.
func (s *Store) Invite(ctx context.Context, hash string) (_ *leads.Invite, err error) {
	defer translate(&err)
	row := new(inviteRow)
	if err := s.db.NewSelect().Model(row).Where("token_hash = ?", hash).Scan(ctx); err != nil {
		return nil, notFound(err, "invite")
	}
	return row.invite(), nil
}

// AcceptInvite marks the invite used and stores what apply decides, in one
// transaction. The mark is a conditional update under the account's lock:
// of concurrent calls, the first to take the lock sets used_at, and the
// others find it set and get NOT_FOUND.
func (s *Store) AcceptInvite(ctx context.Context, hash string, now time.Time, apply func(inv *leads.Invite, cur *leads.Member) (*leads.InviteUse, error)) (_ *leads.Member, err error) {
	defer translate(&err)
	var out *leads.Member
	err = s.tx(ctx, func(tx bun.Tx) error {
		row := new(inviteRow)
		if err := tx.NewSelect().Model(row).Where("token_hash = ?", hash).Scan(ctx); err != nil {
			return notFound(err, "invite")
		}
		if err := lockAccount(ctx, tx, s.dialect, row.AccountID); err != nil {
			return err
		}
		res, err := tx.NewUpdate().Model((*inviteRow)(nil)).Set("used_at = ?", now).
			Where("token_hash = ?", hash).Where("used_at IS NULL").Where("expires_at > ?", now).Exec(ctx)
		if err != nil {
			return fmt.Errorf("use invite: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return leads.Errorf(leads.CodeNotFound, "invite not found")
		}
		row.UsedAt = &now
		cur, err := memberOf(ctx, tx, row.AccountID, row.Email)
		if err != nil {
			return err
		}
		use, err := apply(row.invite(), cur)
		if err != nil {
			return err
		}
		out = cur
		if use.Member != nil {
			if err := putMemberRow(ctx, tx, row.AccountID, use.Member); err != nil {
				return err
			}
			out = use.Member
		}
		if use.PasswordHash != "" {
			if err := putPassword(ctx, tx, row.Email, use.PasswordHash, now); err != nil {
				return err
			}
		}
		if use.EndSessions {
			if _, err := tx.NewDelete().Model((*sessionRow)(nil)).Where("email = ?", row.Email).Exec(ctx); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		return accountAudit(ctx, tx, use.Audit)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// memberOf reads, in tx, the member email of the account; nil when none.
func memberOf(ctx context.Context, tx bun.Tx, accountID, email string) (*leads.Member, error) {
	row := new(memberRow)
	err := tx.NewSelect().Model(row).Where("account_id = ?", accountID).Where("email = ?", email).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("select member: %w", err)
	}
	m := row.member()
	return &m, nil
}

// PurgeExpired deletes the sessions and invites expired at now.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time) (_ int, err error) {
	defer translate(&err)
	n := 0
	for _, model := range []any{(*sessionRow)(nil), (*inviteRow)(nil)} {
		res, err := s.db.NewDelete().Model(model).Where("expires_at <= ?", now).Exec(ctx)
		if err != nil {
			return n, fmt.Errorf("purge expired: %w", err)
		}
		deleted, _ := res.RowsAffected()
		n += int(deleted)
	}
	return n, nil
}
