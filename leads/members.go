package leads

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Members returns actor's account's members by email; admins only.
func (s *Service) Members(ctx context.Context, actor Actor) ([]Member, error) {
	if err := actor.Require(PermManageAccount); err != nil {
		return nil, err
	}
	ms, err := s.store.Members(ctx, actor.AccountID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return ms, nil
}

// Assignees returns the emails of actor's account's members, sorted: whom
// a lead may be assigned to or a rotation may hold. Every member may read
// them (rotations and leads show them anyway); roles stay with Members.
func (s *Service) Assignees(ctx context.Context, actor Actor) ([]string, error) {
	cfg, err := s.Configuration(ctx, actor)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(cfg.Members))
	for email := range cfg.Members {
		out = append(out, email)
	}
	slices.Sort(out)
	return out, nil
}

// PutMember adds a user to actor's account with a role, or changes the role
// of a member; admins only. It is what operators use (CLI, demo); the API
// uses AddMember and UpdateMember, which tell creating from changing.
func (s *Service) PutMember(ctx context.Context, actor Actor, m Member) (*Member, error) {
	return s.saveMember(ctx, actor, m, func(bool) error { return nil })
}

// AddMember adds a user to actor's account; admins only. CONFLICT when the
// user is a member already.
func (s *Service) AddMember(ctx context.Context, actor Actor, m Member) (*Member, error) {
	return s.saveMember(ctx, actor, m, func(exists bool) error {
		if exists {
			return Errorf(CodeConflict, "%s is a member already", EmailKey(m.Email))
		}
		return nil
	})
}

// UpdateMember changes a member's role; admins only. NOT_FOUND for a user
// who is not a member; LAST_ADMIN when it would leave the account without an
// admin.
func (s *Service) UpdateMember(ctx context.Context, actor Actor, m Member) (*Member, error) {
	return s.saveMember(ctx, actor, m, func(exists bool) error {
		if !exists {
			return notFound("member")
		}
		return nil
	})
}

// saveMember stores m as allow permits, given whether m is a member
// already. The last-admin rule is checked in the store's transaction, on
// the members as they are there, so that two admins demoting each other at
// once cannot both succeed.
func (s *Service) saveMember(ctx context.Context, actor Actor, m Member, allow func(exists bool) error) (*Member, error) {
	if err := actor.Require(PermManageAccount); err != nil {
		return nil, err
	}
	m.AccountID = actor.AccountID
	if err := m.Validate(); err != nil {
		return nil, err
	}
	now := s.clock()
	out, err := s.store.PutMember(ctx, actor.AccountID, m.Email, func(cur *Member, admins int) (*Member, []AuditEntry, error) {
		if err := allow(cur != nil); err != nil {
			return nil, nil, err
		}
		next := m
		next.CreatedAt, next.HolidayCalendarID = now, 0 // a calendar is SetMemberCalendar's
		data := map[string]any{"email": m.Email, "role": string(m.Role)}
		event := EventMemberAdded
		if cur != nil {
			if cur.Role == m.Role {
				return nil, nil, nil
			}
			if cur.Role == RoleAdmin && admins <= 1 {
				return nil, nil, Errorf(CodeLastAdmin, "%s is the account's last admin", m.Email)
			}
			next.CreatedAt, next.HolidayCalendarID = cur.CreatedAt, cur.HolidayCalendarID
			event, data["from"] = EventMemberUpdated, string(cur.Role)
		}
		return &next, []AuditEntry{newAuditEntry(actor, event, data, now)}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("put member %s: %w", m.Email, err)
	}
	return out, nil
}

// RemoveMember removes a user from actor's account, and from its rotations;
// admins only. NOT_FOUND for a user who is not a member; LAST_ADMIN for the
// last admin, checked in the store's transaction like saveMember's. The
// member's leads keep their assignee.
func (s *Service) RemoveMember(ctx context.Context, actor Actor, email string) error {
	if err := actor.Require(PermManageAccount); err != nil {
		return err
	}
	email = EmailKey(email)
	now := s.clock()
	err := s.store.RemoveMember(ctx, actor.AccountID, email, func(cur *Member, admins int, rotations []int64) (AuditEntry, error) {
		if cur.Role == RoleAdmin && admins <= 1 {
			return AuditEntry{}, Errorf(CodeLastAdmin, "%s is the account's last admin", email)
		}
		return newAuditEntry(actor, EventMemberRemoved, map[string]any{"email": email, "role": string(cur.Role), "rotations": rotations}, now), nil
	})
	if err != nil {
		return fmt.Errorf("remove member %s: %w", email, err)
	}
	return nil
}

// Member is a user (an email) with a role in an account.
type Member struct {
	AccountID string `json:"accountId"`
	Email     string `json:"email"`
	Role      Role   `json:"role"`
	// HolidayCalendarID is the holiday calendar the member follows, 0 for
	// none (see SetMemberCalendar).
	HolidayCalendarID int64     `json:"holidayCalendarId,omitempty"`
	CreatedAt         time.Time `json:"createdAt"`
}

// Validate normalizes the email to lower case and checks email and role.
func (m *Member) Validate() error {
	m.Email = EmailKey(m.Email)
	if !ValidEmail(m.Email) {
		return ValidationError(FieldError{"email", shorten(m.Email), "Must be a valid email address"})
	}
	if !m.Role.Valid() {
		return ValidationError(FieldError{"role", string(m.Role), "Must be admin, manager or agent"})
	}
	return nil
}

// MemberActor returns the actor of the member email of account accountID,
// with the member's role, for programs that embed the Service and act as a
// member (requests over HTTP get theirs from Authenticate). NOT_FOUND when
// email is not a member of the account.
func (s *Service) MemberActor(ctx context.Context, accountID, email string) (Actor, error) {
	m, err := s.store.Member(ctx, accountID, EmailKey(email))
	if err != nil {
		return Actor{}, fmt.Errorf("member %s of account %s: %w", email, accountID, err)
	}
	return Actor{AccountID: accountID, Email: m.Email, Role: m.Role}, nil
}
