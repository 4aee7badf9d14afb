package leads

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"unicode/utf8"
)

// PasswordHasher hashes and checks members' console passwords; leads stays
// free of crypto dependencies (package passwords implements it with
// argon2id).
type PasswordHasher interface {
	// Hash returns a self-describing hash of password, salted anew.
	Hash(password string) (string, error)
	// Verify reports whether password is the one hash was made of; an
	// error for a hash it cannot read.
	Verify(hash, password string) (bool, error)
}

// WithPasswordHasher sets how console passwords are hashed. Without one,
// SetPassword, SignIn and AcceptInvite return ErrNoPasswordHasher.
func WithPasswordHasher(h PasswordHasher) Option { return func(s *Service) { s.hasher = h } }

// ErrNoPasswordHasher is returned by the methods that hash or check
// passwords when the Service was made without WithPasswordHasher: a wiring
// mistake, so an INTERNAL error (ErrorCode), not a refusal.
var ErrNoPasswordHasher = errors.New("leads: console passwords need a PasswordHasher (WithPasswordHasher)")

// Bounds of a console password's length, in characters.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 200
)

// Audit events of the web console and of members' passwords and keys,
// named as the others (snake_case).
const (
	EventPasswordSet            = "password_set"
	EventSignIn                 = "signed_in"
	EventSignInFailed           = "sign_in_failed"
	EventSignOut                = "signed_out"
	EventMemberInvited          = "member_invited"
	EventPasswordResetRequested = "password_reset_requested"
	EventInviteAccepted         = "invite_accepted"
	EventPasswordReset          = "password_reset"
	EventAPIKeyCreated          = "api_key_created"
	EventAPIKeyRevoked          = "api_key_revoked"
)

// errSignIn is SignIn's one refusal, whatever was wrong, so that it tells
// nobody which emails have accounts or passwords.
func errSignIn() error { return Errorf(CodeUnauthenticated, "email or password is wrong") }

// checkPassword returns VALIDATION_ERROR (field "password") for a password
// outside the length bounds. The password itself is never in the error.
func checkPassword(password string) error {
	if n := utf8.RuneCountInString(password); n < MinPasswordLength || n > MaxPasswordLength {
		return ValidationError(FieldError{"password", nil, fmt.Sprintf("Must be %d to %d characters", MinPasswordLength, MaxPasswordLength)})
	}
	return nil
}

// hashPassword checks password and returns its hash.
func (s *Service) hashPassword(password string) (string, error) {
	if s.hasher == nil {
		return "", ErrNoPasswordHasher
	}
	if err := checkPassword(password); err != nil {
		return "", err
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// SetPassword sets the console password of the user email; an operator's
// action (the CLI). VALIDATION_ERROR names "email" for a user who is a
// member of no account, "password" for one shorter than MinPasswordLength
// or longer than MaxPasswordLength characters. It is audited as
// password_set in every account of the user (without the password).
func (s *Service) SetPassword(ctx context.Context, email, password string) error {
	email = EmailKey(email)
	if !ValidEmail(email) {
		return ValidationError(FieldError{"email", shorten(email), "Must be a valid email address"})
	}
	members, err := s.store.Memberships(ctx, email)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", email, err)
	}
	if len(members) == 0 {
		return ValidationError(FieldError{"email", email, "Is a member of no account"})
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	now := s.clock()
	audit := make([]AuditEntry, len(members))
	for i, m := range members {
		audit[i] = newAuditEntry(SystemActor(m.AccountID), EventPasswordSet, map[string]any{"email": email}, now)
	}
	if err := s.store.SetPassword(ctx, email, hash, now, audit); err != nil {
		return fmt.Errorf("set password of %s: %w", email, err)
	}
	return nil
}

// SignIn checks the console password of the user email and returns the
// user's memberships, one per account, by account id. An unknown email, a
// user with no password or of no account, and a wrong password are all the
// same UNAUTHENTICATED "email or password is wrong", and take the same
// time: without a stored hash the password is checked against a dummy one.
// Each attempt is audited, with req, in every account of the user:
// console.sign_in or sign_in_failed.
func (s *Service) SignIn(ctx context.Context, email, password string, req *RequestInfo) ([]Member, error) {
	if s.hasher == nil {
		return nil, ErrNoPasswordHasher
	}
	email = EmailKey(email)
	members, err := s.store.Memberships(ctx, email)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	hash, err := s.store.PasswordHash(ctx, email)
	if ErrorCode(err) == CodeNotFound || len(members) == 0 {
		hash, err = "", nil
	}
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	ok, err := s.verifyPassword(hash, password)
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", email, err)
	}
	event := EventSignIn
	if !ok {
		event = EventSignInFailed
	}
	now := s.clock()
	audit := make([]AuditEntry, len(members))
	for i, m := range members {
		audit[i] = newAuditEntry(Actor{AccountID: m.AccountID, Email: email, Request: req}, event, map[string]any{"email": email}, now)
	}
	if len(audit) > 0 {
		if err := s.store.AppendAudit(ctx, audit); err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
	}
	if !ok {
		return nil, errSignIn()
	}
	return members, nil
}

// verifyPassword checks password against hash, or, when hash is "",
// against a dummy hash, so that the answer takes as long, and is false.
func (s *Service) verifyPassword(hash, password string) (bool, error) {
	if hash != "" {
		return s.hasher.Verify(hash, password)
	}
	s.dummyOnce.Do(func() {
		s.dummyHash, s.dummyErr = s.hasher.Hash(randomToken())
	})
	if s.dummyErr != nil {
		return false, fmt.Errorf("dummy hash: %w", s.dummyErr)
	}
	_, err := s.hasher.Verify(s.dummyHash, password)
	return false, err
}

// randomToken returns 32 random bytes, base64url: a session or invite
// token, a CSRF token. crypto/rand.Read never fails (it crashes the
// program if the system's source fails).
func randomToken() string {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}
