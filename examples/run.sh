#!/usr/bin/env bash
# Runs the examples as CI does: the embedding program, then the curl
# walkthroughs (the API, routing, availability, activities, SLAs, then webhooks) against a server started here on a
# throwaway database, then the routing cases (routing as code) on another.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "### examples/embed"
go run ./examples/embed

echo
echo "### examples/curl.sh"
dir=$(mktemp -d)
export LEADROTOR_DATABASE_URL="file:$dir/examples.db"
addr=127.0.0.1:${LEADROTOR_EXAMPLES_PORT:-18481}
bin/leadrotor serve --http-addr "$addr" --log-level warn --webhook-allow-private &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
	curl -sf "http://$addr/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
LEADROTOR_URL="http://$addr" examples/curl.sh

echo
echo "### examples/routing.sh"
LEADROTOR_URL="http://$addr" examples/routing.sh

echo
echo "### examples/availability.sh"
LEADROTOR_URL="http://$addr" examples/availability.sh

echo
echo "### examples/activities.sh"
LEADROTOR_URL="http://$addr" examples/activities.sh

echo
echo "### examples/sla.sh"
LEADROTOR_URL="http://$addr" examples/sla.sh

echo
echo "### examples/webhooks.sh"
LEADROTOR_URL="http://$addr" examples/webhooks.sh

echo
echo "### examples/whatif.sh"
LEADROTOR_URL="http://$addr" examples/whatif.sh

echo
echo "### examples/routing-cases.yaml"
LEADROTOR_DATABASE_URL="file:$dir/cases.db" bin/leadrotor demo >/dev/null
LEADROTOR_DATABASE_URL="file:$dir/cases.db" bin/leadrotor route test -f examples/routing-cases.yaml
