package leads

import (
	"context"
	"fmt"
	"time"
)

// Session is a signed-in console user: who, in which account (AccountID ""
// until they pick one).
type Session struct {
	Email     string `json:"email"`
	AccountID string `json:"accountId,omitempty"`
	// CSRFToken is random, per session, compared in constant time by the
	// console; SwitchAccount makes a new one.
	CSRFToken string    `json:"-"`
	CreatedAt time.Time `json:"createdAt"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// MaxSessionAge bounds a session however often it is used: a stolen
// cookie, or a screen left signed in, stops working within it.
const MaxSessionAge = 30 * 24 * time.Hour

// sessionTouchInterval limits how often a session's sliding expiry is
// written: once a minute per session, as for API keys' lastUsedAt.
const sessionTouchInterval = time.Minute

// StartSession starts a console session of the user email, after SignIn,
// lasting ttl unused, and returns its token (32 random bytes, base64url;
// only its SHA-256 is stored) with the session. accountID may be "" (a
// member of several accounts picks one with SwitchAccount); otherwise it
// must be one of the user's accounts: FORBIDDEN when not.
// VALIDATION_ERROR (field "ttl") for a ttl that is not positive.
func (s *Service) StartSession(ctx context.Context, email, accountID string, ttl time.Duration) (token string, sess *Session, err error) {
	if ttl <= 0 {
		return "", nil, ValidationError(FieldError{"ttl", ttl.String(), "Must be positive"})
	}
	email = EmailKey(email)
	members, err := s.store.Memberships(ctx, email)
	if err != nil {
		return "", nil, fmt.Errorf("start session: %w", err)
	}
	if len(members) == 0 {
		return "", nil, Errorf(CodeForbidden, "not a member of any account")
	}
	if accountID != "" && !isMemberOf(members, accountID) {
		return "", nil, Errorf(CodeForbidden, "not a member of this account")
	}
	token = randomToken()
	now := s.clock()
	st := &StoredSession{
		Session: Session{Email: email, AccountID: accountID, CSRFToken: randomToken(), CreatedAt: now, ExpiresAt: now.Add(ttl)},
		Hash:    HashAPIKey(token),
		TTL:     ttl,
	}
	if err := s.store.CreateSession(ctx, st); err != nil {
		return "", nil, fmt.Errorf("start session: %w", err)
	}
	return token, &st.Session, nil
}

// isMemberOf reports whether members hold one of accountID.
func isMemberOf(members []Member, accountID string) bool {
	for _, m := range members {
		if m.AccountID == accountID {
			return true
		}
	}
	return false
}

// Session resolves a console session's token to the session and the actor
// it acts as. UNAUTHENTICATED for a missing, unknown or expired token, and
// for a user who is no longer a member of the session's account. The
// actor's role is read each time, so a changed role applies at once; it is
// the zero Actor while the session names no account, and never has
// Request (the console sets it per request) nor APIKey. Each use moves the
// expiry to the session's ttl from now, written at most once a minute, and
// no session lives past MaxSessionAge from its start.
func (s *Service) Session(ctx context.Context, token string) (*Session, Actor, error) {
	st, err := s.liveSession(ctx, token)
	if err != nil {
		return nil, Actor{}, err
	}
	if st.AccountID != "" && st.Role == "" {
		return nil, Actor{}, Errorf(CodeUnauthenticated, "no longer a member of this account")
	}
	now := s.clock()
	if next := now.Add(st.TTL); next.Sub(st.ExpiresAt) >= sessionTouchInterval {
		if err := s.store.ExtendSession(ctx, st.Hash, next); err != nil {
			// The session is valid; only its extension waits for the next use.
			s.log.WarnContext(ctx, "extend console session", "email", st.Email, "err", err)
		} else {
			st.ExpiresAt = next
		}
	}
	return &st.Session, sessionActor(st), nil
}

// sessionActor returns the actor of a session with its user's role, the
// zero Actor when it names no account.
func sessionActor(st *StoredSession) Actor {
	if st.AccountID == "" {
		return Actor{}
	}
	return Actor{AccountID: st.AccountID, Email: st.Email, Role: st.Role}
}

// liveSession returns the stored session of token; UNAUTHENTICATED when
// there is none or it has expired.
func (s *Service) liveSession(ctx context.Context, token string) (*StoredSession, error) {
	if token == "" {
		return nil, Errorf(CodeUnauthenticated, "not signed in")
	}
	// Tokens are 256 random bits: whatever time the database's comparison
	// of their hashes takes tells nothing of use about one, so there is no
	// second, constant-time comparison here as there is for API keys.
	st, err := s.store.Session(ctx, HashAPIKey(token))
	if ErrorCode(err) == CodeNotFound {
		return nil, Errorf(CodeUnauthenticated, "session expired or unknown: sign in again")
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	if now := s.clock(); !now.Before(st.ExpiresAt) || now.Sub(st.CreatedAt) >= MaxSessionAge {
		return nil, Errorf(CodeUnauthenticated, "session expired or unknown: sign in again")
	}
	return st, nil
}

// SwitchAccount makes accountID the account of the session of token, and
// gives the session a new CSRF token, and returns them as Session does.
// UNAUTHENTICATED for a missing, unknown or expired token (a session whose
// user was removed from its account may still move to another of theirs);
// VALIDATION_ERROR (field "accountId") for ""; FORBIDDEN when the user is
// not a member of accountID (or there is no such account, which is not
// told apart).
func (s *Service) SwitchAccount(ctx context.Context, token, accountID string) (*Session, Actor, error) {
	if accountID == "" {
		return nil, Actor{}, ValidationError(FieldError{"accountId", "", "Is required"})
	}
	st, err := s.liveSession(ctx, token)
	if err != nil {
		return nil, Actor{}, err
	}
	m, err := s.store.Member(ctx, lookupAccountID(accountID), st.Email)
	if ErrorCode(err) == CodeNotFound {
		return nil, Actor{}, Errorf(CodeForbidden, "not a member of this account")
	}
	if err != nil {
		return nil, Actor{}, fmt.Errorf("switch account: %w", err)
	}
	csrf := randomToken()
	err = s.store.SwitchSession(ctx, st.Hash, accountID, csrf)
	if ErrorCode(err) == CodeNotFound {
		return nil, Actor{}, Errorf(CodeUnauthenticated, "session expired or unknown: sign in again")
	}
	if err != nil {
		return nil, Actor{}, fmt.Errorf("switch account: %w", err)
	}
	st.AccountID, st.CSRFToken, st.Role = accountID, csrf, m.Role
	return &st.Session, sessionActor(st), nil
}

// EndSession signs the session of token out: it deletes it, audited as
// console.sign_out, with req, in the session's account (none when it names
// none). An unknown token is no error.
func (s *Service) EndSession(ctx context.Context, token string, req *RequestInfo) error {
	if token == "" {
		return nil
	}
	now := s.clock()
	err := s.store.DeleteSession(ctx, HashAPIKey(token), func(cur *Session) []AuditEntry {
		if cur.AccountID == "" {
			return nil
		}
		actor := Actor{AccountID: cur.AccountID, Email: cur.Email, Request: req}
		return []AuditEntry{newAuditEntry(actor, EventSignOut, map[string]any{"email": cur.Email}, now)}
	})
	if err != nil && ErrorCode(err) != CodeNotFound {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// PurgeSessions deletes the expired console sessions and invites, and
// returns how many it deleted; for a periodic job.
func (s *Service) PurgeSessions(ctx context.Context) (int, error) {
	n, err := s.store.PurgeExpired(ctx, s.clock())
	if err != nil {
		return n, fmt.Errorf("purge sessions: %w", err)
	}
	return n, nil
}

// Memberships returns the accounts the user email is a member of, with
// the role in each, by account id: what a console user picks from. It is
// an operator's call, as APIKeys is; the console asks it for the signed-in
// email only.
func (s *Service) Memberships(ctx context.Context, email string) ([]Member, error) {
	members, err := s.store.Memberships(ctx, EmailKey(email))
	if err != nil {
		return nil, fmt.Errorf("memberships of %s: %w", EmailKey(email), err)
	}
	return members, nil
}
