#!/usr/bin/env bash
# The README's availability and capacity examples, run against a running
# leadrotor (make run): working hours, time off, a holiday calendar, and a
# rotation whose rep at capacity is passed over.
#
#   examples/availability.sh
#
# It uses the demo account's admin key unless LEADROTOR_API_KEY names one (see
# examples/lib.sh); run again, it reuses what it made the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

. examples/lib.sh

echo "== 1. Ana's working hours, in her own time zone"
status=$(call PUT /members/ana@example.com/schedule '{"timezone":"Europe/Paris",
  "monday":[{"start":"09:00","end":"12:30"},{"start":"13:30","end":"18:00"}],"friday":[{"start":"09:00","end":"17:00"}]}')
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
echo "schedule: $(body | head -c 160)..."

echo
echo "== 2. Her time off, and a holiday calendar she follows"
status=$(post /members/ana@example.com/time-off '{"start":"2026-12-21T00:00:00+01:00","end":"2027-01-04T00:00:00+01:00","note":"Holidays"}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
echo "time off $(field id): $(body | grep -o '"start":"[^"]*","end":"[^"]*"')"
status=$(post /holiday-calendars '{"name":"France","timezone":"Europe/Paris","dates":["2026-12-25","2027-01-01"]}')
case $status in
201) calendar=$(field id) ;;
409) calendar=$(id_named /holiday-calendars France) ;;
*) fail "expected 201, got $status: $(body)" ;;
esac
status=$(call PATCH /members/ana@example.com "{\"holidayCalendarId\":$calendar}")
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
echo "ana follows holiday calendar $calendar"

echo
echo "== 3. Capacity: Ben takes leads while he has fewer than one open lead"
capped=$(id_named /rotations Capped)
if [ -z "$capped" ]; then
	status=$(post /rotations '{"name":"Capped","members":[{"user":"ben@example.com","maxOpenLeads":1},{"user":"cara@example.com"}]}')
	[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
	capped=$(field id)
fi
status=$(call GET "/rotations/$capped/next?n=3")
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
body | grep -q '"user":"ben@example.com","reason":"at_capacity"' || fail "ben, with open leads from the walkthrough, was not passed over: $(body)"
echo "next: $(body | grep -o '"assignee":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' ')(ben passed over: at_capacity)"
status=$(call GET "/rotations/$capped/stats")
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
echo "ben: $(body | grep -o '"user":"ben@example.com"[^}]*' | grep -o '"maxOpenLeads":[0-9]*\|"openLeads":[0-9]*' | tr '\n' ' ')"

echo
echo "== 4. Which statuses count as open is the account's choice"
status=$(call PATCH /account '{"openStatuses":["new","contacted","qualified","follow_up"]}')
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
echo "open statuses: $(body | grep -o '"openStatuses":\[[^]]*\]')"
echo
echo "availability walkthrough complete"
