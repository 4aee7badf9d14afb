package passwords_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/passwords"
)

func TestHashVerify(t *testing.T) {
	t.Parallel()
	h := passwords.New(passwords.TestParams())
	hash, err := h.Hash("correct horse battery")
	require.NoError(t, err)
	require.Regexp(t, `^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`, hash)
	ok, err := h.Verify(hash, "correct horse battery")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = h.Verify(hash, "correct horse batterz")
	require.NoError(t, err)
	require.False(t, ok)
	again, err := h.Hash("correct horse battery")
	require.NoError(t, err)
	require.NotEqual(t, hash, again, "a new salt each time")
}

// A hash carries its parameters: raising the cost locks nobody out.
func TestVerifyWithOtherParams(t *testing.T) {
	t.Parallel()
	old, err := passwords.New(passwords.TestParams()).Hash("pw-0123456789")
	require.NoError(t, err)
	ok, err := passwords.New(passwords.Params{Memory: 128, Time: 2, Threads: 1}).Verify(old, "pw-0123456789")
	require.NoError(t, err)
	require.True(t, ok)
}

func TestDefaultFormat(t *testing.T) {
	t.Parallel()
	hash, err := passwords.Default().Hash("pw-0123456789")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=2$"), hash)
}

func TestMalformed(t *testing.T) {
	t.Parallel()
	h := passwords.New(passwords.TestParams())
	good, err := h.Hash("pw-0123456789")
	require.NoError(t, err)
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, hash := range map[string]string{
		"empty":              "",
		"bcrypt":             "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"argon2i":            with(1, "argon2i"),
		"old version":        with(2, "v=16"),
		"missing parameter":  with(3, "m=64,t=1"),
		"parameters swapped": with(3, "t=1,m=64,p=1"),
		"huge memory":        with(3, "m=4294967295,t=1,p=1"),
		"zero time":          with(3, "m=64,t=0,p=1"),
		"zero lanes":         with(3, "m=64,t=1,p=0"),
		"memory below lanes": with(3, "m=8,t=1,p=4"),
		"salt not base64":    with(4, "!!!!"),
		"short salt":         with(4, "AAAA"),
		"key not base64":     with(5, "%%%"),
		"short key":          with(5, "AAAA"),
		"extra field":        good + "$x",
	} {
		ok, err := h.Verify(hash, "pw-0123456789")
		require.ErrorIs(t, err, passwords.ErrMalformed, name)
		require.False(t, ok, name)
	}
}
