package rotation

import (
	"context"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/rotation/rotationtest"
)

// TestScriptKeysShareASlot asks a real Redis Cluster (CLUSTER KEYSLOT) for
// the slot of every key that one script call is given: a script's keys must
// all live in one slot there.
func TestScriptKeysShareASlot(t *testing.T) {
	t.Parallel()
	srv := rotationtest.Cluster(t)
	if srv == nil {
		t.Skip("needs the package's Redis Cluster")
	}
	ctx := context.Background()
	for _, prefix := range []string{"leadrotor:", "", "a:b:"} {
		b := &redisBackend{prefix: prefix, process: newEpoch()}
		for _, id := range []int64{1, 2, 17, 123456789} {
			for name, keys := range map[string][]string{
				"pick (and reset)":      b.pickKeys(id, "2026-12-04"),
				"settle, refund":        b.settleKeys(id, "2026-12-04"),
				"install, snapshot":     b.keys(id, "2026-12-04"),
				"open_of":               {stateKey(prefix, id), openKey(prefix, id)},
				"other days, processes": {dayKey(prefix, id, "2026-12-05"), lastKey(prefix, id, "other")},
			} {
				slots := map[int64]bool{}
				for _, k := range keys {
					slot, err := srv.Client.ClusterKeySlot(ctx, k).Result()
					require.NoError(t, err)
					slots[slot] = true
				}
				require.Len(t, slots, 1, "%s keys of rotation %d under %q: %v", name, id, prefix, keys)
			}
		}
	}
}

// scriptSources are every script the package runs.
var scriptSources = map[string]string{
	"pick": refundTurnSource + pickSource, "settle": refundTurnSource + settleSource, "open": openSource, "reset": resetSource,
	"install": installSource, "snapshot": snapshotSource, "fill_load": fillLoadSource,
	"add_load": addLoadSource, "open_of": openOfSource, "forget_load": forgetLoadSource,
}

// TestScriptsTouchOnlyTheirKeys reads every redis.call of every script: its
// key is KEYS[n], or a name bound to KEYS (refund_turn's parameters, reset's
// loop variable), never a key built inside the script, which Redis Cluster
// could not route.
func TestScriptsTouchOnlyTheirKeys(t *testing.T) {
	t.Parallel()
	call := regexp.MustCompile(`redis\.call\('([A-Z]+)'(?:,\s*([^,)]+))?`)
	bound := map[string]bool{"state": true, "daycounts": true, "open": true, "k": true}
	keyless := map[string]bool{"TIME": true}
	for name, src := range scriptSources {
		calls := call.FindAllStringSubmatch(src, -1)
		require.NotEmpty(t, calls, name)
		for _, c := range calls {
			cmd, key := c[1], c[2]
			if keyless[cmd] {
				continue
			}
			require.True(t, regexp.MustCompile(`^KEYS\[\d\]$`).MatchString(key) || bound[key],
				"script %s: %s on %q, not a key of KEYS", name, cmd, key)
		}
	}
	// The bound names are bound to KEYS only.
	for _, m := range regexp.MustCompile(`refund_turn\(([^)]*)\)`).FindAllStringSubmatch(refundTurnSource+pickSource+settleSource, -1) {
		if m[1] == "state, daycounts, open, seq, today" {
			continue // the definition
		}
		require.Regexp(t, `^KEYS\[\d\], KEYS\[\d\], KEYS\[\d\], `, m[1], "refund_turn called with keys not of KEYS")
	}
	require.Contains(t, resetSource, "for _, k in ipairs(KEYS)")
}
