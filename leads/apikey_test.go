package leads_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/store/storetest"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.All(t) {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []namedTest{
				{"a key is lr_ and 32 random bytes, stored as its SHA-256 alone", testAPIKeyFormat},
				{"the stored hash decides, not the lookup", testAPIKeyHashDecides},
				{"lastUsedAt is kept to the minute and listed", testAPIKeyLastUsed},
			} {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, newBundle(t, env{name: backend.Name, backend: backend}))
				})
			}
		})
	}
}

func testAPIKeyFormat(t *testing.T, b *bundle) {
	ctx := context.Background()
	// A known vector, so that HashAPIKey is SHA-256 and not just any hash.
	require.Equal(t, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", leads.HashAPIKey("abc"))

	seen := map[string]bool{}
	for i := range 20 {
		secret, key, err := b.svc.CreateAPIKey(ctx, fmt.Sprintf("Key%d-%s@Example.com", i, b.accountID), " form ")
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(secret, leads.APIKeyPrefix), secret)
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, leads.APIKeyPrefix))
		require.NoError(t, err, "the rest is unpadded base64url")
		require.Len(t, raw, 32)
		require.False(t, seen[secret] || seen[key.Prefix], "keys and their prefixes are unique")
		seen[secret], seen[key.Prefix] = true, true
		require.Equal(t, secret[:len(leads.APIKeyPrefix)+8], key.Prefix, "the prefix is the start of the key")
		require.Equal(t, fmt.Sprintf("key%d-%s@example.com", i, b.accountID), key.Email, "lower-cased")
		require.Equal(t, "form", key.Name)

		var row map[string]any
		require.NoError(t, b.raw.DB().NewSelect().TableExpr("api_keys").Where("id = ?", key.ID).Scan(ctx, &row))
		require.Equal(t, leads.HashAPIKey(secret), row["hash"])
		for column, v := range row {
			require.NotContains(t, fmt.Sprint(v), secret[len(key.Prefix):], "column %s holds the secret", column)
		}
	}
}

// lookalikeStore answers every key lookup with one stored credential,
// whatever hash is asked: a store whose index or collation matches too
// loosely. The Service must still refuse every other secret.
type lookalikeStore struct {
	leads.Store
	cred *leads.Credential
}

func (s lookalikeStore) Credential(context.Context, string, string) (*leads.Credential, error) {
	c := *s.cred
	return &c, nil
}

func (s lookalikeStore) LeadFacts(ctx context.Context, q leads.LeadFactsQuery) (leads.LeadFacts, error) {
	res, err := s.Store.LeadFacts(ctx, q)
	if q.KeyHash != "" {
		c := *s.cred
		res.Credential = &c
	}
	return res, err
}

func testAPIKeyHashDecides(t *testing.T, b *bundle) {
	ctx := context.Background()
	b.defaultRotation(t, 1)
	secret, _, err := b.svc.CreateAPIKey(ctx, b.agent.Email, "real")
	require.NoError(t, err)
	cred, err := b.store.Credential(ctx, leads.HashAPIKey(secret), b.accountID)
	require.NoError(t, err)
	require.Equal(t, leads.HashAPIKey(secret), cred.Hash, "the store returns the stored hash")
	res, err := b.store.LeadFacts(ctx, leads.LeadFactsQuery{AccountID: b.accountID, KeyHash: leads.HashAPIKey(secret)})
	require.NoError(t, err)
	require.Equal(t, cred, res.Credential, "the lead facts read returns the same credential")

	forged := secret[:len(secret)-1] + "A"
	if forged == secret {
		forged = secret[:len(secret)-1] + "B"
	}
	unhashed := *cred
	unhashed.Hash = ""
	for _, tc := range []struct {
		name   string
		cred   *leads.Credential
		secret string
		code   string
	}{
		{"the real secret", cred, secret, ""},
		{"another secret the lookup matched", cred, forged, leads.CodeUnauthenticated},
		{"a credential without its hash", &unhashed, secret, leads.CodeUnauthenticated},
	} {
		svc := b.newService(lookalikeStore{b.store, tc.cred})
		_, err := svc.Authenticate(ctx, tc.secret, b.accountID)
		_, _, cerr := createAs(ctx, svc, leads.Credentials{Secret: tc.secret, AccountID: b.accountID}, lead("Ada"), leads.CreateOptions{})
		for _, err := range []error{err, cerr} {
			if tc.code == "" {
				require.NoError(t, err, tc.name)
			} else {
				requireCode(t, err, tc.code)
			}
		}
	}
}

func testAPIKeyLastUsed(t *testing.T, b *bundle) {
	ctx := context.Background()
	// Keys belong to users, not accounts: this user is the test's alone.
	user := "user-" + b.accountID + "@example.com"
	_, err := b.svc.PutMember(ctx, b.admin, leads.Member{Email: user, Role: leads.RoleAgent})
	require.NoError(t, err)
	secret, key, err := b.svc.CreateAPIKey(ctx, user, "")
	require.NoError(t, err)
	lastUsed := func() *time.Time {
		t.Helper()
		keys, err := b.svc.APIKeys(ctx, strings.ToUpper(user))
		require.NoError(t, err)
		require.Len(t, keys, 1)
		require.Equal(t, key.Prefix, keys[0].Prefix)
		return keys[0].LastUsedAt
	}
	require.Nil(t, lastUsed(), "never used")

	first := b.clock.Now()
	_, err = b.svc.Authenticate(ctx, secret, b.accountID)
	require.NoError(t, err)
	require.Equal(t, first, *lastUsed())

	b.clock.Advance(59 * time.Second)
	_, _, err = createAs(ctx, b.svc, leads.Credentials{Secret: secret, AccountID: b.accountID}, lead("Ada"), leads.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, first, *lastUsed(), "written at most once a minute")

	b.clock.Advance(time.Second)
	_, _, err = createAs(ctx, b.svc, leads.Credentials{Secret: secret, AccountID: b.accountID}, lead("Grace"), leads.CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, first.Add(time.Minute), *lastUsed(), "the create path records use too")

	all, err := b.svc.APIKeys(ctx, "")
	require.NoError(t, err)
	mine, err := b.svc.APIKeys(ctx, user)
	require.NoError(t, err)
	require.Contains(t, all, mine[0], "without an email, every user's keys")
}
