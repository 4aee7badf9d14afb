package leads

import (
	"context"
	"fmt"
	"time"
)

// The kinds of invites.
const (
	// InviteKindInvite lets someone join an account with a role and set
	// their password.
	InviteKindInvite = "invite"
	// InviteKindReset lets a member set a new password.
	InviteKindReset = "reset"
)

// Invite lets someone join an account (Kind "invite") or set a new
// password (Kind "reset"). Its token is given once, when it is made, and
// works once, until ExpiresAt.
type Invite struct {
	AccountID string `json:"accountId"`
	Email     string `json:"email"`
	// Role is the role an invite gives; a reset's is the member's role
	// when it was made.
	Role      Role       `json:"role"`
	Kind      string     `json:"kind"`
	CreatedBy string     `json:"createdBy"`
	CreatedAt time.Time  `json:"createdAt"`
	ExpiresAt time.Time  `json:"expiresAt"`
	UsedAt    *time.Time `json:"usedAt,omitempty"`
}

// live reports whether the invite may still be used at now.
func (inv *Invite) live(now time.Time) bool { return inv.UsedAt == nil && now.Before(inv.ExpiresAt) }

// CreateInvite makes an invite into actor's account, lasting ttl, and
// returns its token (32 random bytes, base64url; only its SHA-256 is
// stored) with it; admins only. Kind InviteKindInvite invites email, a
// member or not yet, with role; InviteKindReset lets email, who must be a
// member of the account (NOT_FOUND otherwise), set a new password, and
// role is ignored. VALIDATION_ERROR names a bad "email", "role", "kind" or
// "ttl". Audited as member.invited or member.password_reset_requested.
func (s *Service) CreateInvite(ctx context.Context, actor Actor, email string, role Role, kind string, ttl time.Duration) (token string, inv *Invite, err error) {
	if err := actor.Require(PermManageAccount); err != nil {
		return "", nil, err
	}
	email = EmailKey(email)
	if !ValidEmail(email) {
		return "", nil, ValidationError(FieldError{"email", shorten(email), "Must be a valid email address"})
	}
	if ttl <= 0 {
		return "", nil, ValidationError(FieldError{"ttl", ttl.String(), "Must be positive"})
	}
	event := EventMemberInvited
	switch kind {
	case InviteKindInvite:
		if !role.Valid() {
			return "", nil, ValidationError(FieldError{"role", string(role), "Must be admin, manager or agent"})
		}
	case InviteKindReset:
		m, err := s.store.Member(ctx, actor.AccountID, email)
		if err != nil {
			return "", nil, fmt.Errorf("invite %s: %w", email, err)
		}
		role, event = m.Role, EventPasswordResetRequested
	default:
		return "", nil, ValidationError(FieldError{"kind", shorten(kind), "Must be invite or reset"})
	}
	now := s.clock()
	token = randomToken()
	inv = &Invite{AccountID: actor.AccountID, Email: email, Role: role, Kind: kind, CreatedBy: actor.Email,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	data := map[string]any{"email": email, "expiresAt": inv.ExpiresAt}
	if kind == InviteKindInvite {
		data["role"] = string(role)
	}
	audit := []AuditEntry{newAuditEntry(actor, event, data, now)}
	if err := s.store.CreateInvite(ctx, HashAPIKey(token), inv, audit); err != nil {
		return "", nil, fmt.Errorf("invite %s: %w", email, err)
	}
	return token, inv, nil
}

// Invite returns the live (unused, unexpired) invite of token; NOT_FOUND
// otherwise.
func (s *Service) Invite(ctx context.Context, token string) (*Invite, error) {
	inv, err := s.store.Invite(ctx, HashAPIKey(token))
	if err == nil && !inv.live(s.clock()) {
		err = notFound("invite")
	}
	if err != nil {
		return nil, fmt.Errorf("read invite: %w", err)
	}
	return inv, nil
}

// AcceptInvite uses the invite of token, once, and sets password as its
// email's console password: of concurrent calls exactly one succeeds, the
// others get NOT_FOUND, as do an unknown, used or expired token. An invite
// adds its email to the account with its role (a member already keeps
// their role), audited as member_added when it does, and as
// member.invite_accepted; a reset ends every console session of the email,
// audited as member.password_reset, and NOT_FOUND when the email is no
// longer a member. VALIDATION_ERROR (field "password") as SetPassword.
// It returns the membership.
func (s *Service) AcceptInvite(ctx context.Context, token, password string) (*Member, error) {
	if s.hasher == nil {
		return nil, ErrNoPasswordHasher
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	// Hashing is slow on purpose: not for tokens that are no invite.
	if _, err := s.Invite(ctx, token); err != nil {
		return nil, err
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	m, err := s.store.AcceptInvite(ctx, HashAPIKey(token), now, func(inv *Invite, cur *Member) (*InviteUse, error) {
		use := &InviteUse{PasswordHash: hash}
		actor := Actor{AccountID: inv.AccountID, Email: inv.Email}
		switch {
		case inv.Kind == InviteKindReset && cur == nil:
			return nil, notFound("member")
		case inv.Kind == InviteKindReset:
			use.EndSessions = true
			use.Audit = []AuditEntry{newAuditEntry(actor, EventPasswordReset, map[string]any{"email": inv.Email, "requestedBy": inv.CreatedBy}, now)}
			return use, nil
		}
		role := inv.Role
		if cur == nil {
			use.Member = &Member{AccountID: inv.AccountID, Email: inv.Email, Role: inv.Role, CreatedAt: now}
			use.Audit = append(use.Audit, newAuditEntry(actor, EventMemberAdded, map[string]any{"email": inv.Email, "role": string(inv.Role)}, now))
		} else {
			role = cur.Role
		}
		use.Audit = append(use.Audit, newAuditEntry(actor, EventInviteAccepted,
			map[string]any{"email": inv.Email, "role": string(role), "invitedBy": inv.CreatedBy, "added": cur == nil}, now))
		return use, nil
	})
	if err != nil {
		return nil, fmt.Errorf("accept invite: %w", err)
	}
	return m, nil
}
