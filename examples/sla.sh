#!/usr/bin/env bash
# The README's SLA example, run against a running leadrotor: a rotation whose
# reps must accept a lead within 2 seconds, a lead nobody accepts moving on
# to the next rep who has not had it, why, and the stats that count it. It
# puts the rotation back as it was (no SLA) when it ends.
#
#   examples/sla.sh
#
# It uses the demo account's admin key unless LEADROTOR_API_KEY names one
# (see examples/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

. examples/lib.sh

rot=$(id_named /rotations 'Inbound reps')
[ -n "$rot" ] || fail "the demo team's rotation 'Inbound reps' is missing: $(body)"
trap 'call PATCH "/rotations/$rot" "{\"sla\":null}" >/dev/null; rm -f /tmp/leadrotor-curl.$$' EXIT

# due: the slaDueAt of the last body.
due() { body | grep -o '"slaDueAt":"[^"]*"' | head -n 1 | cut -d'"' -f4; }

echo "== 1. An SLA on the team's rotation: accept within 2s, or the lead moves on (once)"
status=$(call PATCH "/rotations/$rot" '{"sla":{"acceptWithin":"2s","maxReassignments":1}}')
[ "$status" = 200 ] || fail "set the SLA: $status $(body)"
body | grep -o '"sla":{[^}]*}'

echo "== 2. A lead: its rep has until slaDueAt"
status=$(post /leads "{\"firstName\":\"Sam\",\"lastName\":\"Late\",\"teamId\":$team,\"leadSourceId\":$source}")
[ "$status" = 201 ] || fail "create: $status $(body)"
id=$(field id)
first=$(field assignedTo)
echo "lead $id -> $first, accept by $(due)"

echo "== 3. Nobody accepts: the time runs out, the lead moves to the next rep (within a few seconds)"
for _ in $(seq 1 150); do
	call GET "/leads/$id" >/dev/null
	[ "$(field assignedTo)" != "$first" ] && break
	sleep 0.2
done
now=$(field assignedTo)
[ "$now" != "$first" ] || fail "the lead did not move on: $(body)"
echo "lead $id: $first -> $now, accept by $(due)"
body | grep -o '"event":"sla_expired"[^}]*"why":"[^"]*"' | head -n 1 | grep -o '"why":"[^"]*"' \
	|| fail "no sla_expired entry with why: $(body)"

echo "== 4. The stats count the expiry and the move beside the turns"
status=$(call GET "/rotations/$rot/stats")
[ "$status" = 200 ] || fail "stats: $status $(body)"
body | grep -o "\"user\":\"$first\".*" | grep -o '"sla":{[^}]*}' | head -n 1 | grep '"expired":1' \
	|| fail "no expiry counted for $first: $(body)"
