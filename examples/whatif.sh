#!/usr/bin/env bash
# The README's "what if" example, run against a running leadrotor and its
# database: leads come in; replaying them through the live configuration
# gives every lead the owner it got; replaying them through a proposed change
# (examples/whatif.yaml: a heavier weight for ben, a pool for hot leads)
# shows what it would have done; then the change is applied.
#
#   examples/whatif.sh
#
# The leadrotor command (LEADROTOR_BIN, default bin/leadrotor) reads the
# server's database (LEADROTOR_DATABASE_URL, as the server's).
set -euo pipefail
cd "$(dirname "$0")/.."

. examples/lib.sh
trap 'rm -f /tmp/leadrotor-curl.$$ /tmp/whatif.$$' EXIT
bin=${LEADROTOR_BIN:-bin/leadrotor}

from=$(date -u +%Y-%m-%dT%H:%M:%SZ)
echo "== 1. Twenty leads come in, every fourth a hot one"
for i in $(seq 1 20); do
	score=20
	[ $((i % 4)) = 0 ] && score=90
	status=$(post /leads "{\"firstName\":\"What\",\"lastName\":\"If $i\",\"teamId\":$team,\"leadSourceId\":$source,\"hotScore\":$score}")
	[ "$status" = 201 ] || fail "create: $status $(body)"
done
to=$(date -u -d '+1 minute' +%Y-%m-%dT%H:%M:%SZ)

echo "== 2. Replayed through the live configuration: every lead gets the owner it got"
"$bin" simulate --account "$account" --from "$from" --to "$to" >/tmp/whatif.$$
head -n 8 /tmp/whatif.$$
grep -q '^0 would change owner' /tmp/whatif.$$ || fail "the live replay changed owners: $(cat /tmp/whatif.$$)"

echo "== 3. Replayed through the proposed change"
"$bin" simulate -f examples/whatif.yaml --account "$account" --from "$from" --to "$to" >/tmp/whatif.$$
cat /tmp/whatif.$$
grep -q '^Hot leads first ' /tmp/whatif.$$ || fail "no lead went by the proposed rule"
"$bin" simulate -f examples/whatif.yaml --account "$account" --from "$from" --to "$to" --json \
	| grep -q '"changed": [1-9]' || fail "the JSON result changes no owner"

echo "== 4. Applied: the next hot lead goes by the new rule"
"$bin" apply -f examples/whatif.yaml --account "$account"
status=$(post /leads "{\"firstName\":\"Hot\",\"lastName\":\"Lead\",\"teamId\":$team,\"leadSourceId\":$source,\"hotScore\":95}")
[ "$status" = 201 ] || fail "create: $status $(body)"
[ "$(field assignedTo)" = cara@example.com ] || fail "the hot lead went to $(field assignedTo): $(body)"
echo "hot lead $(field id) -> cara@example.com"
