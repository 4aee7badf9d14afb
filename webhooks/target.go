package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/url"
	"strconv"
	"sync"
	"unsafe"
)

// target is what a delivery needs of its endpoint besides the row: the URL
// parsed, whether a proxy is configured for it, and the secret's HMAC
// keyed once. Parsing the URL, decoding the secret and keying an HMAC for
// every delivery was about 4 % of the server's CPU with two endpoints
// (docs/BENCHMARKS.md, stop 34).
type target struct {
	u       *url.URL
	proxied bool
	key     []byte
	macs    sync.Pool // of hash.Hash keyed with key, to Reset and reuse
}

// sign returns the webhook-signature header of a message, as Sign does.
func (t *target) sign(id string, ts int64, body string) string {
	var sum [sha256.Size]byte
	mac := t.mac(sum[:0], id, ts, body)
	out := make([]byte, 3+base64.StdEncoding.EncodedLen(len(mac)))
	copy(out, "v1,")
	base64.StdEncoding.Encode(out[3:], mac)
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// mac appends HMAC-SHA256(key, id "." ts "." body) to b.
func (t *target) mac(b []byte, id string, ts int64, body string) []byte {
	h, _ := t.macs.Get().(hash.Hash)
	if h == nil {
		h = hmac.New(sha256.New, t.key)
	} else {
		h.Reset()
	}
	var buf [128]byte
	prefix := append(buf[:0], id...)
	prefix = append(prefix, '.')
	prefix = strconv.AppendInt(prefix, ts, 10)
	prefix = append(prefix, '.')
	h.Write(prefix)
	// The hash reads body and keeps none of it: no copy of the payload.
	h.Write(unsafe.Slice(unsafe.StringData(body), len(body)))
	b = h.Sum(b)
	t.macs.Put(h)
	return b
}

// maxTargets bounds the targets a runner keeps: endpoints are few, but an
// account may keep changing its URLs or secrets, and each change is a new
// target. Past it, the runner starts over with none.
const maxTargets = 4096

// targets are a runner's targets, by URL and secret.
type targets struct {
	mu sync.Mutex
	m  map[targetKey]*target
}

type targetKey struct{ url, secret string }

// get returns the target of an endpoint's URL and secret, made on first
// use.
func (ts *targets) get(rawURL, secret string) (*target, error) {
	k := targetKey{rawURL, secret}
	ts.mu.Lock()
	t := ts.m[k]
	ts.mu.Unlock()
	if t != nil {
		return t, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("endpoint URL: %w", err)
	}
	key, err := secretKey(secret)
	if err != nil {
		return nil, err
	}
	t = &target{u: u, proxied: proxied(u), key: key}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.m == nil || len(ts.m) >= maxTargets {
		ts.m = map[targetKey]*target{}
	}
	ts.m[k] = t
	return t, nil
}
