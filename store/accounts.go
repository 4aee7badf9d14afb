package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/leadrotor/leadrotor/leads"
)

// CreateAccount stores a new account; CONFLICT when the ID is taken.
func (s *Store) CreateAccount(ctx context.Context, a *leads.Account) (err error) {
	defer translate(&err)
	row := &accountRow{ID: a.ID, Name: a.Name, DuplicatePolicy: string(a.DuplicatePolicy), Returning: a.Returning, OpenStatuses: formatStatuses(a.OpenStatuses), ActivityAccepts: a.AcceptsOnActivity(), ConfigVersion: 1,
		CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if _, err := s.db.NewInsert().Model(row).Exec(ctx); err != nil {
		if isUnique(err, accountPK) {
			return leads.Errorf(leads.CodeConflict, "account %s already exists", a.ID)
		}
		return fmt.Errorf("insert account: %w", err)
	}
	return nil
}

// Account returns an account; NOT_FOUND when unknown.
func (s *Store) Account(ctx context.Context, id string) (_ *leads.Account, err error) {
	defer translate(&err)
	row := new(accountRow)
	if err := s.db.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, notFound(err, "account")
	}
	return row.account(), nil
}

// UpdateAccount changes an account's settings under the account's lock.
// The duplicate policy is part of the configuration, so the version moves.
func (s *Store) UpdateAccount(ctx context.Context, id string, apply func(*leads.Account) (*leads.Account, []leads.AuditEntry, error)) (_ *leads.Account, err error) {
	defer translate(&err)
	var out *leads.Account
	err = s.tx(ctx, func(tx bun.Tx) error {
		if err := lockAccount(ctx, tx, s.dialect, id); err != nil {
			return err
		}
		row := new(accountRow)
		if err := tx.NewSelect().Model(row).Where("id = ?", id).Scan(ctx); err != nil {
			return notFound(err, "account")
		}
		out = row.account()
		next, audit, err := apply(out)
		if err != nil || next == nil {
			return err
		}
		if err := bumpConfig(ctx, tx, id); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model((*accountRow)(nil)).Set("name = ?", next.Name).
			Set("duplicate_policy = ?", string(next.DuplicatePolicy)).Set("returning_policy = ?", jsonArg(next.Returning, false)).
			Set("open_statuses = ?", formatStatuses(next.OpenStatuses)).Set("activity_accepts = ?", next.AcceptsOnActivity()).
			Set("updated_at = ?", next.UpdatedAt).
			Where("id = ?", id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("update account: %w", err)
		}
		out = next
		return insertAudit(ctx, tx, audit...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// memberAndAdmins reads, in tx, the member email of the account (nil when
// none) and the number of the account's admins.
func memberAndAdmins(ctx context.Context, tx bun.Tx, accountID, email string) (*leads.Member, int, error) {
	var rows []memberRow
	err := tx.NewSelect().Model(&rows).Where("account_id = ?", accountID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("email = ?", email).WhereOr("role = ?", string(leads.RoleAdmin))
		}).Scan(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("select members: %w", err)
	}
	var cur *leads.Member
	admins := 0
	for i := range rows {
		if rows[i].Role == string(leads.RoleAdmin) {
			admins++
		}
		if rows[i].Email == email {
			m := rows[i].member()
			cur = &m
		}
	}
	return cur, admins, nil
}

// PutMember adds a member to an account or changes its role, as apply
// decides on the member as it is and the number of admins, both read under
// the account's lock; NOT_FOUND for an unknown account. Members are part of
// the account's configuration.
func (s *Store) PutMember(ctx context.Context, accountID, email string, apply func(cur *leads.Member, admins int) (*leads.Member, []leads.AuditEntry, error)) (_ *leads.Member, err error) {
	defer translate(&err)
	var out *leads.Member
	err = s.tx(ctx, func(tx bun.Tx) error {
		if err := lockAccount(ctx, tx, s.dialect, accountID); err != nil {
			return err
		}
		cur, admins, err := memberAndAdmins(ctx, tx, accountID, email)
		if err != nil {
			return err
		}
		out = cur
		next, audit, err := apply(cur, admins)
		if err != nil || next == nil {
			return err
		}
		if err := putMemberRow(ctx, tx, accountID, next); err != nil {
			return err
		}
		out = next
		return insertAudit(ctx, tx, audit...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// putMemberRow stores m as a member of the account in tx, or changes its
// role, and moves the account's configuration version.
func putMemberRow(ctx context.Context, tx bun.Tx, accountID string, m *leads.Member) error {
	if err := bumpConfig(ctx, tx, accountID); err != nil {
		return err
	}
	row := &memberRow{AccountID: accountID, Email: m.Email, Role: string(m.Role), CreatedAt: m.CreatedAt}
	_, err := tx.NewInsert().Model(row).
		On("CONFLICT (account_id, email) DO UPDATE").
		Set("role = EXCLUDED.role").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("put member: %w", err)
	}
	return nil
}

// RemoveMember removes a member, as apply allows on the member, the number
// of admins and the rotations naming the member, all read under the
// account's lock; the schema removes it from rotations, and rotations that
// fall back to it fall back to nobody. NOT_FOUND when not a member.
func (s *Store) RemoveMember(ctx context.Context, accountID, email string, apply func(cur *leads.Member, admins int, rotations []int64) (leads.AuditEntry, error)) (err error) {
	defer translate(&err)
	return s.tx(ctx, func(tx bun.Tx) error {
		if err := lockAccount(ctx, tx, s.dialect, accountID); err != nil {
			return err
		}
		cur, admins, err := memberAndAdmins(ctx, tx, accountID, email)
		if err != nil {
			return err
		}
		if cur == nil {
			return leads.Errorf(leads.CodeNotFound, "member not found")
		}
		var rotations []int64
		err = tx.NewSelect().Model((*rotationRow)(nil)).Column("id").Where("account_id = ?", accountID).
			WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
				return q.Where("fallback_assignee = ?", email).
					WhereOr("id IN (SELECT rotation_id FROM rotation_members WHERE account_id = ? AND email = ?)", accountID, email)
			}).Order("id").Scan(ctx, &rotations)
		if err != nil {
			return fmt.Errorf("select rotations of member: %w", err)
		}
		entry, err := apply(cur, admins, rotations)
		if err != nil {
			return err
		}
		if err := bumpConfig(ctx, tx, accountID); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*memberRow)(nil)).Where("account_id = ?", accountID).Where("email = ?", email).Exec(ctx); err != nil {
			return fmt.Errorf("delete member: %w", err)
		}
		_, err = tx.NewUpdate().Model((*rotationRow)(nil)).Set("fallback_assignee = ''").
			Where("account_id = ?", accountID).Where("fallback_assignee = ?", email).Exec(ctx)
		if err != nil {
			return fmt.Errorf("clear fallback: %w", err)
		}
		return insertAudit(ctx, tx, entry)
	})
}

// Members returns the members of an account, ordered by email.
func (s *Store) Members(ctx context.Context, accountID string) (_ []leads.Member, err error) {
	defer translate(&err)
	return s.selectMembers(ctx, "account_id", accountID, "email")
}

// selectMembers returns the member rows whose column is value, ordered by
// the column order.
func (s *Store) selectMembers(ctx context.Context, column, value, order string) ([]leads.Member, error) {
	var rows []memberRow
	if err := s.db.NewSelect().Model(&rows).Where("? = ?", bun.Ident(column), value).Order(order).Scan(ctx); err != nil {
		return nil, fmt.Errorf("select members: %w", err)
	}
	out := make([]leads.Member, len(rows))
	for i := range rows {
		out[i] = rows[i].member()
	}
	return out, nil
}

// Accounts returns every account, by id: an operator's listing (the
// leads.Store port has no use for it).
func (s *Store) Accounts(ctx context.Context) (_ []leads.Account, err error) {
	defer translate(&err)
	var rows []accountRow
	if err := s.db.NewSelect().Model(&rows).Order("id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("select accounts: %w", err)
	}
	out := make([]leads.Account, len(rows))
	for i := range rows {
		out[i] = *rows[i].account()
	}
	return out, nil
}

// Memberships returns the memberships of the user email in every account,
// by account id: an operator's listing, and how the CLI refuses a key for
// a user of no account.
func (s *Store) Memberships(ctx context.Context, email string) (_ []leads.Member, err error) {
	defer translate(&err)
	return s.selectMembers(ctx, "email", email, "account_id")
}

// Member returns a member of an account; NOT_FOUND when not a member.
func (s *Store) Member(ctx context.Context, accountID, email string) (_ *leads.Member, err error) {
	defer translate(&err)
	row := new(memberRow)
	err = s.db.NewSelect().Model(row).Where("account_id = ?", accountID).Where("email = ?", email).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "member")
	}
	m := row.member()
	return &m, nil
}

// CreateAPIKey stores a key under the hash of its secret and sets its ID;
// CONFLICT in the unlikely event that its public prefix is taken.
func (s *Store) CreateAPIKey(ctx context.Context, k *leads.APIKey, hash string) (err error) {
	defer translate(&err)
	row := &apiKeyRow{Email: k.Email, Prefix: k.Prefix, Hash: hash, Name: k.Name, CreatedAt: k.CreatedAt}
	if _, err := s.db.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		if isUnique(err, apiKeyPrefix) {
			return leads.Errorf(leads.CodeConflict, "API key prefix taken, try again")
		}
		return fmt.Errorf("insert api key: %w", err)
	}
	k.ID = row.ID
	return nil
}

// Credential returns the key whose secret hashes to hash and its user's role
// in the account, in one query; NOT_FOUND when there is no such key.
func (s *Store) Credential(ctx context.Context, hash, accountID string) (_ *leads.Credential, err error) {
	defer translate(&err)
	if s.dialect == Postgres {
		return s.credentialPostgres(ctx, hash, accountID)
	}
	var row struct {
		apiKeyRow `bun:",extend"`
		Role      sql.NullString `bun:"role"`
	}
	err = s.db.NewSelect().Model(&row).ColumnExpr("api_key_row.*, m.role").
		Join("LEFT JOIN members AS m ON m.account_id = ? AND m.email = api_key_row.email", accountID).
		Where("api_key_row.hash = ?", hash).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "API key")
	}
	return &leads.Credential{Key: *row.apiKeyRow.apiKey(), Hash: row.Hash, Role: leads.Role(row.Role.String)}, nil
}

// RevokeAPIKey marks the live key with the given prefix revoked; NOT_FOUND
// when there is none.
func (s *Store) RevokeAPIKey(ctx context.Context, prefix string, now time.Time) (err error) {
	defer translate(&err)
	res, err := s.db.NewUpdate().Model((*apiKeyRow)(nil)).
		Set("revoked_at = ?", now).
		Where("prefix = ?", prefix).
		Where("revoked_at IS NULL").
		Exec(ctx)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return leads.Errorf(leads.CodeNotFound, "API key not found")
	}
	return nil
}

// TouchAPIKey records that the key was used at now.
func (s *Store) TouchAPIKey(ctx context.Context, id int64, now time.Time) (err error) {
	defer translate(&err)
	_, err = s.db.NewUpdate().Model((*apiKeyRow)(nil)).Set("last_used_at = ?", now).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	return nil
}

// APIKeys returns the keys of the user email, or of every user when email
// is "", revoked ones included, by id.
func (s *Store) APIKeys(ctx context.Context, email string) (_ []leads.APIKey, err error) {
	defer translate(&err)
	var rows []apiKeyRow
	q := s.db.NewSelect().Model(&rows).Order("id")
	if email != "" {
		q = q.Where("email = ?", email)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("select api keys: %w", err)
	}
	out := make([]leads.APIKey, len(rows))
	for i := range rows {
		out[i] = *rows[i].apiKey()
	}
	return out, nil
}
