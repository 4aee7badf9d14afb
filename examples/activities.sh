#!/usr/bin/env bash
# The README's activities example, run against a running leadrotor (make
# run): a rep logs what they did with a lead, the lead shows its first touch
# and acceptance, and only the assignee accepts.
#
#   examples/activities.sh
#
# It uses the demo account's admin key unless LEADROTOR_API_KEY names one
# (see examples/lib.sh); the key's user (the demo's admin@example.com) is
# the assignee here, since only the assignee may accept.
set -euo pipefail
cd "$(dirname "$0")/.."

. examples/lib.sh

me=${LEADROTOR_EXAMPLES_USER:-admin@example.com}
lead() { post '/leads?skipTeamAndSourceRequirement=true' "$1"; }
# at <name>: the date-time field name of the last body (field stops at a colon).
at() { body | grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }

echo "== 1. A lead assigned to the key's user"
status=$(lead '{"firstName":"Katherine","lastName":"Johnson","assignedTo":"'"$me"'"}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
id=$(field id)
echo "lead $id -> $(field assignedTo) since $(at assignedAt), not accepted yet"

echo
echo "== 2. A planned meeting: listed, but the lead is neither touched nor accepted"
status=$(post "/leads/$id/activities" '{"type":"meeting","title":"Demo","occurredAt":"'"$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -v+1d +%Y-%m-%dT%H:%M:%SZ)"'","completed":false}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
echo "activity $(field id): $(field type) \"$(field title)\", completed $(field completed)"

echo
echo "== 3. A call: the assignee's first activity touches the lead and accepts it"
status=$(post "/leads/$id/activities" '{"type":"call","title":"Intro call","note":"Wants pricing","outcome":"connected"}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
echo "activity $(field id) logged by $(field createdBy)"
status=$(call GET "/leads/$id")
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
[ -n "$(at acceptedAt)" ] || fail "the first activity did not accept: $(body)"
echo "firstTouchAt $(at firstTouchAt), acceptedAt $(at acceptedAt), lastActivityAt $(at lastActivityAt)"

echo
echo "== 4. Accepting again answers 200 with the first acceptedAt"
first=$(at acceptedAt)
status=$(post "/leads/$id/accept" '')
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
[ "$(at acceptedAt)" = "$first" ] || fail "acceptedAt moved: $(body)"
echo "acceptedAt still $first"

echo
echo "== 5. The activities, newest first, one page at a time"
status=$(call GET "/leads/$id/activities?limit=1")
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
echo "first page: $(field type) \"$(field title)\"; nextCursor $(field nextCursor | cut -c1-12)…"

echo
echo "== 6. Someone else's lead: 403; an unassigned one: 409 LEAD_NOT_ASSIGNED; a bad type: 400 naming it"
status=$(lead '{"firstName":"Dorothy","lastName":"Vaughan","assignedTo":"ana@example.com"}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
status=$(post "/leads/$(field id)/accept" '')
[ "$status" = 403 ] || fail "expected 403, got $status: $(body)"
echo "accept ana's lead: $status $(field code)"
status=$(lead '{"firstName":"Mary","lastName":"Jackson"}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
mary=$(field id)
status=$(call PATCH "/leads/$mary" '{"assignedTo":""}')
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
status=$(post "/leads/$mary/accept" '')
[ "$status" = 409 ] || fail "expected 409, got $status: $(body)"
echo "accept an unassigned lead: $status $(field code)"
status=$(post "/leads/$id/activities" '{"type":"fax"}')
[ "$status" = 400 ] || fail "expected 400, got $status: $(body)"
echo "a fax: $status $(field code) on $(field field)"
