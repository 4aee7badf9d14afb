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
