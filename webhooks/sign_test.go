package webhooks_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/webhooks"
)

// The test vector of the Standard Webhooks specification (its reference
// libraries' tests).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	sig, err := webhooks.Sign(vectorSecret, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	require.NoError(t, err)
	require.Equal(t, vectorSignature, sig)
}

func TestVerify(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set(webhooks.HeaderID, vectorID)
	h.Set(webhooks.HeaderTimestamp, "1614265330")
	h.Set(webhooks.HeaderSignature, "v1,bm9wZQ== "+vectorSignature)
	at := time.Unix(vectorTimestamp, 0)
	require.NoError(t, webhooks.Verify(vectorSecret, h, []byte(vectorBody), 5*time.Minute, at.Add(time.Minute)))
	require.ErrorIs(t, webhooks.Verify(vectorSecret, h, []byte(vectorBody+" "), 5*time.Minute, at), webhooks.ErrSignature)
	require.ErrorIs(t, webhooks.Verify(vectorSecret, h, []byte(vectorBody), 5*time.Minute, at.Add(10*time.Minute)), webhooks.ErrSignature)
	h.Set(webhooks.HeaderID, "msg_other")
	require.ErrorIs(t, webhooks.Verify(vectorSecret, h, []byte(vectorBody), 5*time.Minute, at), webhooks.ErrSignature)
}
