#!/usr/bin/env bash
# A walkthrough of the HTTP API against a running leadrotor (make run).
#
#   examples/curl.sh
#
# LEADROTOR_URL (default http://localhost:8080) names the server. The API key,
# account, team and lead source come from LEADROTOR_API_KEY, LEADROTOR_ACCOUNT_ID,
# LEADROTOR_TEAM_ID and LEADROTOR_LEAD_SOURCE_ID; when no key is given, the
# script asks `leadrotor demo --env` (LEADROTOR_BIN, default bin/leadrotor)
# for the demo account's, using the same database as the server.
set -euo pipefail
cd "$(dirname "$0")/.."

. examples/lib.sh

echo "== 1. A lead for team $team, from lead source $source: the team's rotation assigns it"
status=$(post /leads "{\"firstName\":\"Ada\",\"lastName\":\"Lovelace\",\"email\":\"ada.$RANDOM$RANDOM@example.com\",\"teamId\":$team,\"leadSourceId\":$source}")
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
echo "201 Created: lead $(field id) assigned to $(field assignedTo) by rotation $(field rotationId)"

echo
echo "== 2. Without a team, while the account has teams: 400 TEAM_REQUIRED"
status=$(post /leads '{"firstName":"Grace","lastName":"Hopper"}')
[ "$status" = 400 ] || fail "expected 400, got $status: $(body)"
echo "$status $(body)"

echo
echo "== 3. Without a team, skipping the requirement: the default rotation assigns it"
status=$(post '/leads?skipTeamAndSourceRequirement=true' '{"firstName":"Grace","lastName":"Hopper"}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
echo "201 Created: lead $(field id) assigned to $(field assignedTo) by rotation $(field rotationId)"

echo
echo "== 4. Three leads for the team go to three different reps, in rotation order"
seen=()
for name in Edsger Barbara Alan; do
	status=$(post /leads "{\"firstName\":\"$name\",\"lastName\":\"Example\",\"teamId\":$team,\"leadSourceId\":$source}")
	[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
	rep=$(field assignedTo)
	echo "  $name -> $rep (turn $(field rotationTurn))"
	seen+=("$rep")
done
[ "$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)" = 3 ] || fail "three leads did not reach three reps: ${seen[*]}"

echo
echo "== 5. A retry with the same Idempotency-Key returns the same lead and takes no turn"
key="signup-$RANDOM$RANDOM"
post /leads "{\"firstName\":\"Frances\",\"lastName\":\"Allen\",\"teamId\":$team,\"leadSourceId\":$source}" -H "Idempotency-Key: $key" >/dev/null
first=$(field id)
post /leads "{\"firstName\":\"Frances\",\"lastName\":\"Allen\",\"teamId\":$team,\"leadSourceId\":$source}" -H "Idempotency-Key: $key" >/dev/null
[ "$(field id)" = "$first" ] || fail "the retry made a second lead"
echo "both requests answered lead $first"

echo
echo "== 6. The lead with its audit trail"
curl -sS "$url/leads/$first" -H "Authorization: Bearer $LEADROTOR_API_KEY" -H "x-account-id: $account" -o /tmp/leadrotor-curl.$$
echo "events: $(body | grep -o '"event":"[a-z_]*"' | tr '\n' ' ')"
echo
echo "== 7. The server's metrics count what it did (the README's example)"
created=$(curl -s "$url/metrics" | grep '^leadrotor_leads_created_total')
echo "$created"
[ -n "$created" ] || fail "no leadrotor_leads_created_total on /metrics"
echo
echo "walkthrough complete"
