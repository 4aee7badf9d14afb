#!/usr/bin/env bash
# The README's webhook example, run against a running leadrotor that allows
# endpoints on this machine (serve --webhook-allow-private, as examples/run.sh
# starts it): an
# endpoint for lead.created and lead.assigned, the example receiver
# (examples/webhook-receiver) verifying each signature, and the delivery log.
#
#   examples/webhooks.sh
#
# RECEIVER_ADDR (default 127.0.0.1:18482) is where the receiver listens. It
# uses the demo account's admin key unless LEADROTOR_API_KEY names one (see
# examples/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

. examples/lib.sh

addr=${RECEIVER_ADDR:-127.0.0.1:18482}
work=$(mktemp -d)
receiver=
cleanup() {
	if [ -n "$receiver" ]; then
		kill "$receiver" 2>/dev/null || true
		wait "$receiver" 2>/dev/null || true
	fi
	rm -rf "$work" /tmp/leadrotor-curl.$$
}
trap cleanup EXIT

echo "== 1. An endpoint for new and assigned leads; its secret is shown once"
status=$(post /webhooks "{\"url\":\"http://$addr/\",\"eventTypes\":[\"lead.created\",\"lead.assigned\"]}")
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
hook=$(field id)
secret=$(field secret)
echo "webhook $hook, secret ${secret:0:10}..."

echo
echo "== 2. The receiver verifies every delivery's signature (Standard Webhooks)"
go build -o "$work/receiver" ./examples/webhook-receiver
WEBHOOK_SECRET=$secret "$work/receiver" -addr "$addr" >"$work/events" 2>"$work/log" &
receiver=$!
for _ in $(seq 1 100); do
	grep -q listening "$work/log" 2>/dev/null && break
	sleep 0.1
done

echo
echo "== 3. A lead: the receiver gets lead.created and lead.assigned"
status=$(post '/leads?skipTeamAndSourceRequirement=true' '{"firstName":"Katherine","lastName":"Johnson"}')
[ "$status" = 201 ] || fail "expected 201, got $status: $(body)"
lead=$(field id)
for _ in $(seq 1 150); do
	[ "$(grep -c "\"id\":$lead," "$work/events" 2>/dev/null)" -ge 2 ] && break
	sleep 0.1
done
grep "\"id\":$lead," "$work/events" | awk '{print "  " $1, $2}'
grep -q "lead.created" "$work/events" || fail "lead.created did not arrive: $(cat "$work/log")"
grep -q "lead.assigned" "$work/events" || fail "lead.assigned did not arrive: $(cat "$work/log")"

echo
echo "== 4. The delivery log"
status=$(call GET "/webhooks/$hook/deliveries")
[ "$status" = 200 ] || fail "expected 200, got $status: $(body)"
echo "statuses: $(body | grep -o '"statusCode":[0-9]*' | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
echo
echo "webhooks walkthrough complete"
