// Package webhooks delivers leadrotor's lead events: it writes each event as
// a river job in the transaction of the lead's change (it is the store's
// EventSink), fans each event out to the account's subscribed endpoints,
// and posts it to each, signed as the Standard Webhooks specification says,
// retrying with exponential backoff and jitter for about a day. Embedders
// receive the same events in process through Options.Handler. River
// (github.com/riverqueue/river) is the job runner: on PostgreSQL through
// database/sql (and pgx for the store's create path), on SQLite through its
// SQLite driver, in the store's own database.
package webhooks

import (
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretKey returns the HMAC key of a secret: the base64 after "whsec_"
// (a secret without the prefix is taken as base64 all the same).
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, fmt.Errorf("webhook secret is not base64: %w", err)
	}
	return key, nil
}

// Sign returns the webhook-signature header of a message: "v1," and the
// base64 of HMAC-SHA256(key, id "." timestamp "." body), key being the
// secret's base64-decoded bytes after "whsec_".
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	t := &target{key: key}
	return t.sign(id, timestamp.Unix(), string(body)), nil
}

// ErrSignature is what Verify returns for a message it cannot trust.
var ErrSignature = errors.New("webhook signature does not verify")

// Verify checks a received message as a Standard Webhooks receiver does:
// its timestamp within tolerance of now (replays of old messages are
// refused), and one of the space-separated v1 signatures matching. It
// returns nil, or an error wrapping ErrSignature.
func Verify(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: missing headers", ErrSignature)
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp", ErrSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside the tolerance", ErrSignature)
	}
	want := (&target{key: key}).mac(nil, id, ts, string(body))
	for _, s := range strings.Fields(sigs) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}
