package leads

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
)

// APIKeyPrefix starts every API key, so that leaked keys are recognisable
// (secret scanners, logs).
const APIKeyPrefix = "lr_"

// apiKeyTouchInterval limits how often lastUsedAt is written: once a minute
// per key is precise enough and keeps authentication read-only.
const apiKeyTouchInterval = time.Minute

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

// APIKey is the stored, public part of an API key. The secret is shown once
// when the key is created and only its SHA-256 is kept.
type APIKey struct {
	ID int64 `json:"id"`
	// Email is the user the key acts as.
	Email string `json:"email"`
	// Prefix identifies the key in logs and audit entries without revealing it.
	Prefix     string     `json:"prefix"`
	Name       string     `json:"name,omitempty"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt,omitempty"`
	RevokedAt  *time.Time `json:"revokedAt,omitempty"`
}

// MyAPIKeys returns the keys of actor's user, revoked ones included, by id:
// the console's "my keys". Any member may list their own.
func (s *Service) MyAPIKeys(ctx context.Context, actor Actor) ([]APIKey, error) {
	if err := actor.Require(PermRead); err != nil {
		return nil, err
	}
	return s.APIKeys(ctx, actor.Email)
}

// CreateMyAPIKey makes an API key for actor's user, as CreateAPIKey, audited
// as api_key_created in actor's account. VALIDATION_ERROR names a bad name.
func (s *Service) CreateMyAPIKey(ctx context.Context, actor Actor, name string) (string, *APIKey, error) {
	if err := actor.Require(PermRead); err != nil {
		return "", nil, err
	}
	name = strings.TrimSpace(name)
	if err := checkText("name", name, MaxShortTextLength); err != nil {
		return "", nil, err
	}
	secret, k, err := s.CreateAPIKey(ctx, actor.Email, name)
	if err != nil {
		return "", nil, err
	}
	entry := newAuditEntry(actor, EventAPIKeyCreated, map[string]any{"prefix": k.Prefix, "name": k.Name}, k.CreatedAt)
	if err := s.store.AppendAudit(ctx, []AuditEntry{entry}); err != nil {
		// No key that nobody knows of: the one made goes, unused.
		if rerr := s.store.RevokeAPIKey(ctx, k.Prefix, s.clock()); rerr != nil {
			s.log.WarnContext(ctx, "revoke api key whose creation was not audited", "key", k.Prefix, "err", rerr)
		}
		return "", nil, fmt.Errorf("create api key: %w", err)
	}
	return secret, k, nil
}

// RevokeMyAPIKey revokes the key of actor's user with the given prefix,
// audited as apikey.revoked in actor's account; NOT_FOUND when the user
// has no such live key (another user's key included).
func (s *Service) RevokeMyAPIKey(ctx context.Context, actor Actor, prefix string) error {
	if err := actor.Require(PermRead); err != nil {
		return err
	}
	keys, err := s.store.APIKeys(ctx, EmailKey(actor.Email))
	if err != nil {
		return fmt.Errorf("revoke api key %s: %w", prefix, err)
	}
	if !slices.ContainsFunc(keys, func(k APIKey) bool { return k.Prefix == prefix && k.RevokedAt == nil }) {
		return notFound("API key")
	}
	if err := s.RevokeAPIKey(ctx, prefix); err != nil {
		return err
	}
	entry := newAuditEntry(actor, EventAPIKeyRevoked, map[string]any{"prefix": prefix}, s.clock())
	if err := s.store.AppendAudit(ctx, []AuditEntry{entry}); err != nil {
		return fmt.Errorf("revoke api key %s: %w", prefix, err)
	}
	return nil
}
