package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCheckpointerWaitsLongerWhileIdle: each checkpoint that finds nothing
// new doubles the wait, up to a second; the first that finds something
// brings it back to 50 ms.
func TestCheckpointerWaitsLongerWhileIdle(t *testing.T) {
	wait := checkpointEvery
	var waits []time.Duration
	for range 6 {
		wait = nextCheckpoint(wait, true)
		waits = append(waits, wait)
	}
	ms := time.Millisecond
	require.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}, waits)
	require.Equal(t, checkpointEvery, nextCheckpoint(wait, false), "writes again")
}
