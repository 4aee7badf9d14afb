package passwords

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// No more hashes run at once than Concurrent: each holds Memory.
func TestConcurrentHashesAreBounded(t *testing.T) {
	t.Parallel()
	p := TestParams()
	p.Concurrent = 2
	h := New(p)
	var active, peak atomic.Int32
	entered := make(chan struct{}, 8)
	gate := make(chan struct{})
	h.inSlot = func() {
		n := active.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		entered <- struct{}{}
		<-gate
		active.Add(-1)
	}
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			_, err := h.Hash("a long enough password")
			require.NoError(t, err)
		})
	}
	<-entered
	<-entered
	require.Len(t, h.slots, 2, "both slots taken, the other four wait")
	close(gate)
	wg.Wait()
	require.EqualValues(t, 2, peak.Load())
}
