package rotation

import "strconv"

// Every Redis key of the package is built here. All keys of one rotation share
// the hash tag {<rotation id>}, so that a script touching them works on Redis
// Cluster, where a script's keys must live in one slot.

// stateKey is the hash of a rotation's state: "epoch", "seq", "w:<user>".
func stateKey(prefix string, rotationID int64) string {
	return prefix + "rotation:{" + strconv.FormatInt(rotationID, 10) + "}:state"
}

// dayKey is the hash of a rotation's assignments per user on day (YYYY-MM-DD).
func dayKey(prefix string, rotationID int64, day string) string {
	return prefix + "rotation:{" + strconv.FormatInt(rotationID, 10) + "}:day:" + day
}

// lastKey is the hash in which process records its last batch of turns of a
// rotation, until it has the reply (see lua/pick.lua).
func lastKey(prefix string, rotationID int64, process string) string {
	return prefix + "rotation:{" + strconv.FormatInt(rotationID, 10) + "}:last:" + process
}

// openKey is the hash of a rotation's open turns: taken, their leads not yet
// known to be stored (see lua/pick.lua).
func openKey(prefix string, rotationID int64) string {
	return prefix + "rotation:{" + strconv.FormatInt(rotationID, 10) + "}:open"
}
