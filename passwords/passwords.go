// Package passwords hashes the web console's passwords with argon2id
// (golang.org/x/crypto/argon2) in the PHC string format
// ($argon2id$v=19$m=65536,t=3,p=2$salt$hash), and implements
// leads.PasswordHasher, so that package leads stays free of crypto
// dependencies.
package passwords

import (
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/leadrotor/leadrotor/leads"
)

// Params are argon2id's cost parameters, and the sizes of salt and key.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
	// Concurrent bounds the hashes one Hasher computes at once (0: the
	// number of CPUs): each takes Memory, so a burst of sign-ins from many
	// addresses waits its turn instead of taking memory without bound.
	Concurrent int
}

// DefaultParams returns the production parameters: 64 MiB, 3 passes, 2
// lanes (RFC 9106's second recommended option, with 3 passes), a 16-byte
// salt and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}
}

// TestParams returns cheap parameters for tests, which hash many passwords,
// under -race too; never use them in production.
func TestParams() Params {
	return Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Hasher hashes new passwords with its parameters and verifies hashes made
// with any parameters (a hash carries its own), so that raising the cost
// does not lock out anyone.
type Hasher struct {
	p     Params
	slots chan struct{}
	// inSlot, when set (tests), runs in a slot before each hash.
	inSlot func()
}

var _ leads.PasswordHasher = (*Hasher)(nil)

// New returns a Hasher that hashes with p; its zero fields take
// DefaultParams' values.
func New(p Params) *Hasher {
	d := DefaultParams()
	p.Memory, p.Time, p.Threads = cmp.Or(p.Memory, d.Memory), cmp.Or(p.Time, d.Time), cmp.Or(p.Threads, d.Threads)
	p.SaltLen, p.KeyLen = cmp.Or(p.SaltLen, d.SaltLen), cmp.Or(p.KeyLen, d.KeyLen)
	p.Concurrent = cmp.Or(max(p.Concurrent, 0), runtime.NumCPU())
	return &Hasher{p: p, slots: make(chan struct{}, p.Concurrent)}
}

// idKey computes an argon2id key in one of the Hasher's slots.
func (h *Hasher) idKey(password string, salt []byte, p Params, keyLen uint32) []byte {
	h.slots <- struct{}{}
	defer func() { <-h.slots }()
	if h.inSlot != nil {
		h.inSlot()
	}
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, keyLen)
}

// Default returns a Hasher with DefaultParams.
func Default() *Hasher { return New(DefaultParams()) }

// ErrMalformed is returned by Verify for a hash that is not an argon2id PHC
// string this package can read.
var ErrMalformed = errors.New("passwords: malformed argon2id hash")

// b64 is the PHC format's base64: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// Hash returns the PHC string of password under a new random salt.
func (h *Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("passwords: salt: %w", err)
	}
	key := h.idKey(password, salt, h.p, h.p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.p.Memory, h.p.Time, h.p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify reports whether password is the one hash was made of, comparing
// in constant time; ErrMalformed (wrapped) for a hash it cannot read.
func (h *Hasher) Verify(hash, password string) (bool, error) {
	p, salt, key, err := decode(hash)
	if err != nil {
		return false, err
	}
	got := h.idKey(password, salt, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// Limits on what decode accepts, so that a hash written by someone else
// cannot make Verify allocate gigabytes or loop for minutes.
const (
	maxMemory = 1 << 20 // KiB: 1 GiB
	maxTime   = 64
	minSalt   = 8
	minKey    = 16
	maxKey    = 128
)

// decode parses a PHC argon2id string.
func decode(hash string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(hash, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: not $argon2id$v=…$m=…,t=…,p=…$salt$hash", ErrMalformed)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q, want v=%d", ErrMalformed, parts[2], argon2.Version)
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, nil, nil, fmt.Errorf("%w: parameters %q", ErrMalformed, parts[3])
	}
	var err error
	if p.Memory, err = param(params[0], "m", 8, maxMemory); err != nil {
		return p, nil, nil, err
	}
	if p.Time, err = param(params[1], "t", 1, maxTime); err != nil {
		return p, nil, nil, err
	}
	threads, err := param(params[2], "p", 1, 255)
	if err != nil {
		return p, nil, nil, err
	}
	p.Threads = uint8(threads)
	if p.Memory < 8*uint32(p.Threads) {
		return p, nil, nil, fmt.Errorf("%w: m below 8 KiB per lane", ErrMalformed)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < minSalt {
		return p, nil, nil, fmt.Errorf("%w: salt", ErrMalformed)
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < minKey || len(key) > maxKey {
		return p, nil, nil, fmt.Errorf("%w: hash", ErrMalformed)
	}
	return p, salt, key, nil
}

// param parses "name=value" with lo <= value <= hi.
func param(s, name string, lo, hi uint64) (uint32, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: want %s=…, got %q", ErrMalformed, name, s)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%w: %s=%s out of range [%d, %d]", ErrMalformed, name, v, lo, hi)
	}
	return uint32(n), nil
}
