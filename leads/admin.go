package leads

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// APIKeyPrefix starts every API key, so that leaked keys are recognisable
// (secret scanners, logs).
const APIKeyPrefix = "lr_"

// apiKeyTouchInterval limits how often lastUsedAt is written: once a minute
// per key is precise enough and keeps authentication read-only.
const apiKeyTouchInterval = time.Minute

// CreateAccount stores a new account; VALIDATION_ERROR for a bad ID or policy,
// CONFLICT when the ID is taken. It is an operator's action: no actor.
func (s *Service) CreateAccount(ctx context.Context, a Account) (*Account, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	a.CreatedAt = s.clock()
	a.UpdatedAt = a.CreatedAt
	if err := s.store.CreateAccount(ctx, &a); err != nil {
		return nil, fmt.Errorf("create account %s: %w", a.ID, err)
	}
	return &a, nil
}

// Account returns actor's account.
func (s *Service) Account(ctx context.Context, actor Actor) (*Account, error) {
	if err := actor.Require(PermRead); err != nil {
		return nil, err
	}
	a, err := s.store.Account(ctx, actor.AccountID)
	if err != nil {
		return nil, fmt.Errorf("read account %s: %w", actor.AccountID, err)
	}
	return a, nil
}

// AccountPatch changes account settings; nil fields stay.
type AccountPatch struct {
	Name            *string          `json:"name,omitempty"`
	DuplicatePolicy *DuplicatePolicy `json:"duplicatePolicy,omitempty"`
}

// UpdateAccount changes actor's account's settings, audited as
// account_updated {before, after}; admins only.
func (s *Service) UpdateAccount(ctx context.Context, actor Actor, patch AccountPatch) (*Account, error) {
	if err := actor.Require(PermManageAccount); err != nil {
		return nil, err
	}
	now := s.clock()
	a, err := s.store.UpdateAccount(ctx, actor.AccountID, func(cur *Account) (*Account, []AuditEntry, error) {
		next := *cur
		if patch.Name != nil {
			next.Name = *patch.Name
		}
		if patch.DuplicatePolicy != nil {
			next.DuplicatePolicy = *patch.DuplicatePolicy
		}
		if err := next.Validate(); err != nil {
			return nil, nil, err
		}
		if next.Name == cur.Name && next.DuplicatePolicy == cur.DuplicatePolicy {
			return nil, nil, nil
		}
		next.UpdatedAt = now
		e := newAuditEntry(actor, EventAccountUpdated, map[string]any{"before": snapshot(cur), "after": snapshot(&next)}, now)
		return &next, []AuditEntry{e}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("update account: %w", err)
	}
	return a, nil
}

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
		next.CreatedAt = now
		data := map[string]any{"email": m.Email, "role": string(m.Role)}
		event := EventMemberAdded
		if cur != nil {
			if cur.Role == m.Role {
				return nil, nil, nil
			}
			if cur.Role == RoleAdmin && admins <= 1 {
				return nil, nil, Errorf(CodeLastAdmin, "%s is the account's last admin", m.Email)
			}
			next.CreatedAt = cur.CreatedAt
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

// shouldTouch reports whether a key's use at now should be recorded: when the
// store's record is a minute old and this process has not just recorded it
// (requests that arrive together would all find the same old record).
func (s *Service) shouldTouch(k *APIKey, now time.Time) bool {
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < apiKeyTouchInterval {
		return false
	}
	s.touchMu.Lock()
	defer s.touchMu.Unlock()
	if last, ok := s.touched[k.ID]; ok && now.Sub(last) < apiKeyTouchInterval {
		return false
	}
	s.touched[k.ID] = now
	return true
}

// CreateAPIKey makes a new API key for the user email and returns its secret,
// which is not stored and cannot be shown again, with the stored part. It is
// an operator's action: keys are made with the CLI.
func (s *Service) CreateAPIKey(ctx context.Context, email, name string) (string, *APIKey, error) {
	email = EmailKey(email)
	if !ValidEmail(email) {
		return "", nil, ValidationError(FieldError{"email", shorten(email), "Must be a valid email address"})
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	body := base64.RawURLEncoding.EncodeToString(raw[:])
	secret := APIKeyPrefix + body
	k := &APIKey{Email: email, Prefix: APIKeyPrefix + body[:8], Name: strings.TrimSpace(name), CreatedAt: s.clock()}
	if err := s.store.CreateAPIKey(ctx, k, HashAPIKey(secret)); err != nil {
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	return secret, k, nil
}

// RevokeAPIKey revokes the key with the given public prefix; NOT_FOUND when
// there is no such live key.
func (s *Service) RevokeAPIKey(ctx context.Context, prefix string) error {
	if err := s.store.RevokeAPIKey(ctx, prefix, s.clock()); err != nil {
		return fmt.Errorf("revoke api key %s: %w", prefix, err)
	}
	return nil
}

// HashAPIKey returns the hex SHA-256 under which a key's secret is stored.
func HashAPIKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// sameHash reports, in time that does not depend on their contents, whether
// a stored hash is the computed one. An empty stored hash never matches.
func sameHash(stored, computed string) bool {
	return stored != "" && subtle.ConstantTimeCompare([]byte(stored), []byte(computed)) == 1
}

// APIKeys returns the stored part of the keys of the user email, or of every
// user when email is "", revoked ones included, by id: when each was last
// used (to the minute) tells which are idle. It is an operator's action.
func (s *Service) APIKeys(ctx context.Context, email string) ([]APIKey, error) {
	keys, err := s.store.APIKeys(ctx, EmailKey(email))
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// Authenticate resolves an API key secret and an account ID to an actor.
// UNAUTHENTICATED for a missing, unknown or revoked key; FORBIDDEN when the
// key's user is not a member of the account (or the account does not exist,
// which is not told apart, so that account IDs cannot be probed).
func (s *Service) Authenticate(ctx context.Context, secret, accountID string) (Actor, error) {
	if secret == "" {
		return Actor{}, Errorf(CodeUnauthenticated, "missing API key")
	}
	cred, err := s.store.Credential(ctx, HashAPIKey(secret), lookupAccountID(accountID))
	if ErrorCode(err) == CodeNotFound {
		return Actor{}, Errorf(CodeUnauthenticated, "invalid API key")
	}
	if err != nil {
		return Actor{}, fmt.Errorf("authenticate: %w", err)
	}
	return s.actorFor(ctx, cred, Credentials{Secret: secret, AccountID: accountID})
}

// lookupAccountID is the account ID to look a key's membership up in: the
// ID asked for, or "" (an account nobody is a member of) when it cannot be an
// account's ID, so that any bytes a client sends as x-account-id end in
// FORBIDDEN, never in a query the database refuses.
func lookupAccountID(id string) string {
	if !accountIDPattern.MatchString(id) {
		return ""
	}
	return id
}

// actorFor resolves a stored credential (nil when the key is unknown) to the
// actor of a request: UNAUTHENTICATED for an unknown or revoked key,
// FORBIDDEN when its user is not a member of the account. It records, at
// most once a minute, that the key was used.
//
// The store found the credential by the secret's hash; the hashes are
// compared again here in constant time, so that whether a key is accepted
// never rests on a comparison whose time depends on how much of it matched.
func (s *Service) actorFor(ctx context.Context, cred *Credential, c Credentials) (Actor, error) {
	if cred == nil || !sameHash(cred.Hash, HashAPIKey(c.Secret)) || cred.Key.RevokedAt != nil {
		return Actor{}, Errorf(CodeUnauthenticated, "invalid API key")
	}
	if cred.Role == "" {
		return Actor{}, Errorf(CodeForbidden, "not a member of this account")
	}
	k := &cred.Key
	now := s.clock()
	if s.shouldTouch(k, now) {
		if err := s.store.TouchAPIKey(ctx, k.ID, now); err != nil {
			s.log.WarnContext(ctx, "record api key use", "key", k.Prefix, "err", err)
		}
	}
	return Actor{AccountID: c.AccountID, Email: k.Email, Role: cred.Role, APIKey: k.Prefix, Request: c.Request}, nil
}
