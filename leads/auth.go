package leads

import (
	"context"
	"fmt"
)

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
