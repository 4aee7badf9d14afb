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
	// HasPassword, set by Service.Invite on an invite (not a reset), says
	// that the email has a console password already: accepting asks for
	// that one rather than a new one.
	HasPassword bool `json:"hasPassword,omitempty"`
}

// live reports whether the invite may still be used at now.
func (inv *Invite) live(now time.Time) bool { return inv.UsedAt == nil && now.Before(inv.ExpiresAt) }

// CreateInvite makes an invite into actor's account, lasting ttl, and
// returns its token (32 random bytes, base64url; only its SHA-256 is
// stored) with it; admins only. Kind InviteKindInvite invites email, a
// member or not yet, with role; InviteKindReset lets email, who must be a
// member of the account (NOT_FOUND otherwise), set a new password, and
// role is ignored. VALIDATION_ERROR names a bad "email", "role", "kind" or
// "ttl". Audited as member_invited or password_reset_requested.
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
	if inv.Kind == InviteKindInvite {
		hash, err := s.store.PasswordHash(ctx, inv.Email)
		if err != nil && ErrorCode(err) != CodeNotFound {
			return nil, fmt.Errorf("read invite: %w", err)
		}
		inv.HasPassword = hash != ""
	}
	return inv, nil
}

// AcceptInvite uses the invite of token, once: of concurrent calls exactly
// one succeeds, the others get NOT_FOUND, as do an unknown, used or
// expired token. VALIDATION_ERROR (field "password") as SetPassword.
//
// An invite adds its email to the account with its role (a member already
// keeps their role), audited as member_added when it does, and as
// member.invite_accepted. password becomes the email's console password,
// unless the email has one already: then password must be that one
// (UNAUTHENTICATED otherwise, and the invite stays usable), so that an
// admin who invites someone else's email cannot take over their sign-in,
// and with it their other accounts.
//
// A reset sets password as the email's console password and ends every
// console session of the email, audited as member.password_reset;
// NOT_FOUND when the email is no longer a member.
//
// It returns the membership.
func (s *Service) AcceptInvite(ctx context.Context, token, password string) (*Member, error) {
	if s.hasher == nil {
		return nil, ErrNoPasswordHasher
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	// Hashing is slow on purpose: not for tokens that are no invite.
	inv, err := s.Invite(ctx, token)
	if err != nil {
		return nil, err
	}
	keep, err := s.hasPassword(ctx, token, inv, password)
	if err != nil {
		return nil, err
	}
	hash := "" // keeps the password there is
	if !keep {
		if hash, err = s.hashPassword(password); err != nil {
			return nil, err
		}
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

// hasPassword reports whether inv, the invite of token, is an invite (not
// a reset) of an email that has a console password, which password then
// must be: UNAUTHENTICATED when it is not, audited as
// sign_in_failed in the invite's account, as SignIn's failures are
// (the invite stays usable, so this is another place to try passwords).
func (s *Service) hasPassword(ctx context.Context, token string, inv *Invite, password string) (bool, error) {
	if inv.Kind != InviteKindInvite {
		return false, nil
	}
	hash, err := s.store.PasswordHash(ctx, inv.Email)
	if ErrorCode(err) == CodeNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("accept invite: %w", err)
	}
	ok, err := s.hasher.Verify(hash, password)
	if err != nil {
		return false, fmt.Errorf("accept invite: %w", err)
	}
	if ok {
		return true, nil
	}
	// The password may be one that a concurrent accept of this very invite
	// has just set: then the invite is used, and that is the answer.
	if _, err := s.Invite(ctx, token); err != nil {
		return false, err
	}
	actor := Actor{AccountID: inv.AccountID, Email: inv.Email}
	entry := newAuditEntry(actor, EventSignInFailed, map[string]any{"email": inv.Email, "invite": true}, s.clock())
	if err := s.store.AppendAudit(ctx, []AuditEntry{entry}); err != nil {
		return false, fmt.Errorf("accept invite: %w", err)
	}
	return false, Errorf(CodeUnauthenticated, "%s has a console password already: give it to accept the invite", inv.Email)
}
