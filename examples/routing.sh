#!/usr/bin/env bash
# The README's routing example, run against a running leadrotor (make run):
# three routing rules with a hot tier, returning contacts, "why this rep",
# and an upsert.
#
#   examples/routing.sh
#
# It uses the demo account's admin key unless LEADROTOR_API_KEY names one (see
# examples/lib.sh); run again, it reuses what it made the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

. examples/lib.sh

echo "== 1. Returning contacts go back to their rep: by email, externalId or company domain, within 90 days"
status=$(call PATCH /account '{"returning":{"matchBy":["email","externalId","emailDomain"],"windowDays":90}}')
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
echo "returning: $(body | grep -o '"returning":{[^}]*}')"

echo
echo "== 2. A hot tier: a pool rotation of the same reps, for leads scored 80 and up"
hot=$(id_named /rotations "Hot leads")
if [ -z "$hot" ]; then
	status=$(post /rotations '{"name":"Hot leads","members":[{"user":"ana@example.com"},{"user":"ben@example.com"},{"user":"cara@example.com"}]}')
	[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
	hot=$(field id)
fi
echo "rotation $hot: Hot leads (no team, not the default: only rules send leads to it)"

echo
echo "== 3. Three rules, tried in order, first match wins"
rule() {
	status=$(post /routing-rules "$1")
	case $status in
	201) echo "  created: $(field name)" ;;
	409) echo "  kept: $(echo "$1" | grep -o '"name":"[^"]*"')" ;;
	*) fail "expected 201, got $status: $(body)" ;;
	esac
}
rule '{"name":"Spam","conditions":{"field":"emailDomain","op":"in","value":["mailinator.com","trashmail.com"]},"action":{"type":"hold","reason":"looks like spam"}}'
rule '{"name":"Hot leads","conditions":{"field":"hotScore","op":"gte","value":80},"action":{"type":"rotation","rotationId":'"$hot"'}}'
rule '{"name":"Enterprise","conditions":{"all":[{"field":"numberOfEmployees","op":"gte","value":1000},{"field":"emailDomain","op":"not_in","value":["gmail.com"]}]},"action":{"type":"assign","assignee":"ben@example.com"}}'

run=$RANDOM$RANDOM
lead() { post '/leads?skipTeamAndSourceRequirement=true' "$1"; }

echo
echo "== 4. A hot lead goes to the hot tier; GET /leads/{id}/routing says why"
status=$(lead '{"firstName":"Hedy","lastName":"Lamarr","email":"hedy@lamarr'$run'.org","hotScore":92}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
hedy=$(field id)
[ "$(field rotationId)" = "$hot" ] || fail "the hot lead did not go to the hot tier: $(body)"
echo "lead $hedy -> $(field assignedTo) by rotation $hot (turn $(field rotationTurn))"
status=$(call GET "/leads/$hedy/routing")
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
echo "why: step $(field step), rule $(field ruleName); rules tried: $(body | grep -o '"name":"[^"]*","outcome":"[a-z_]*"' | sed 's/"name":"\([^"]*\)","outcome":"\([a-z_]*\)"/\1=\2/' | tr '\n' ' ')"

echo
echo "== 5. Spam is held unassigned, with the rule's reason"
status=$(lead '{"firstName":"Spam","lastName":"Bot","email":"bot'$run'@mailinator.com"}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
[ -z "$(field assignedTo)" ] || fail "spam was assigned: $(body)"
echo "lead $(field id): assignmentStatus $(field assignmentStatus), held: $(body | grep -o '"holdReason":"[^"]*"' | head -n 1)"

echo
echo "== 6. A big company goes to its account executive; a colleague from the same company returns to the same rep"
status=$(lead '{"firstName":"Grace","lastName":"Hopper","email":"grace@globex'$run'.com","numberOfEmployees":5000}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
[ "$(field assignedTo)" = ben@example.com ] || fail "the Enterprise rule did not assign ben: $(body)"
echo "lead $(field id) -> $(field assignedTo) (rule Enterprise, no turn taken)"
status=$(lead '{"firstName":"Alan","lastName":"Turing","email":"alan@globex'$run'.com"}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
[ "$(field assignedTo)" = ben@example.com ] || fail "the returning contact did not go back to ben: $(body)"
echo "lead $(field id) -> $(field assignedTo): $(body | grep -o '"reason":"returning_owner"' | head -n 1)"

echo
echo "== 7. An upsert by email updates the lead of step 4 (200), keeps its rep, takes no turn"
status=$(post '/leads?skipTeamAndSourceRequirement=true&matchBy=email' '{"firstName":"Hedy","lastName":"Lamarr","email":"HEDY@lamarr'$run'.org","phone":"+1 555 0100"}')
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
[ "$(field id)" = "$hedy" ] || fail "the upsert made another lead: $(body)"
echo "200 OK: lead $(field id), phone $(field phone), still $(field assignedTo)"

echo
echo "routing walkthrough complete"
