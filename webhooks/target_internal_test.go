package webhooks

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A target signs as Sign does, every time: its keyed HMACs are reset and
// reused, from many goroutines at once.
func TestTargetSignsAsSignDoes(t *testing.T) {
	t.Parallel()
	const secret, id, body = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", `{"test": 2432232314}`
	var ts targets
	tg, err := ts.get("https://example.test/hook?a=1", secret)
	require.NoError(t, err)
	require.Equal(t, "/hook?a=1", tg.u.RequestURI())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				at := int64(1614265330 + g*1000 + i)
				want, err := Sign(secret, id, time.Unix(at, 0), []byte(body))
				require.NoError(t, err)
				require.Equal(t, want, tg.sign(id, at, body))
			}
		})
	}
	wg.Wait()
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", tg.sign(id, 1614265330, body))
}

// targets keep one target per URL and secret, refuse what a delivery
// cannot use, and start over past maxTargets rather than grow.
func TestTargetsByURLAndSecret(t *testing.T) {
	t.Parallel()
	var ts targets
	a, err := ts.get("http://127.0.0.1:1/a", "whsec_AAAA")
	require.NoError(t, err)
	again, err := ts.get("http://127.0.0.1:1/a", "whsec_AAAA")
	require.NoError(t, err)
	require.Same(t, a, again)
	other, err := ts.get("http://127.0.0.1:1/a", "whsec_BBBB")
	require.NoError(t, err)
	require.NotSame(t, a, other, "a new secret is a new key")
	require.NotEqual(t, a.sign("m", 1, "{}"), other.sign("m", 1, "{}"))

	_, err = ts.get("http://127.0.0.1:1/a", "whsec_not base64!")
	require.ErrorContains(t, err, "webhook secret is not base64")
	_, err = ts.get("http://[::1", "whsec_AAAA")
	require.ErrorContains(t, err, "endpoint URL")

	for i := range maxTargets + 10 {
		_, err := ts.get(fmt.Sprintf("http://127.0.0.1:1/%d", i), "whsec_AAAA")
		require.NoError(t, err)
	}
	require.LessOrEqual(t, len(ts.m), maxTargets)
}
