#!/usr/bin/env bash
# Runs the load tests of docs/BENCHMARKS.md on this machine and prints each
# report. Needs the local PostgreSQL and Redis (see .ci/run) and pgbench.
#
#   make loadtest                 # every scenario, 60 s each
#   DURATION=10s make loadtest    # shorter
#   SOAK=10m make loadtest        # also the memory soak (10 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-60s}
clients=${CLIENTS:-64}
pg=${LEADROTOR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
redis=${LEADROTOR_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
bin=bin/leadrotor
bench=bin/leadbench
psql_() { psql "${pg%%\?*}" -qAt "$@"; }
fresh_schema() { psql_ -c "DROP SCHEMA IF EXISTS loadtest CASCADE" -c "CREATE SCHEMA loadtest" -c "CHECKPOINT" 2>/dev/null; }
pg_dsn="${pg}&search_path=loadtest"
[[ $pg == *\?* ]] || pg_dsn="${pg}?search_path=loadtest"

# serve_and_drive <label> <env...>: the server as its own process, the load
# tool driving it over loopback, the server's memory watched.
serve_and_drive() {
	local label=$1
	shift
	echo "### $label"
	local out
	out=$(env "$@" $bin demo --env)
	eval "$out"
	env "$@" $bin serve --http-addr 127.0.0.1:18600 --log-level warn &
	local spid=$!
	for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18600/healthz >/dev/null && break; sleep 0.1; done
	$bench --url http://127.0.0.1:18600 -c "$clients" -d "$duration" --server-pid $spid --quiet
	kill $spid
	wait $spid || true
}

echo "### machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(go version)"
echo "### $(psql_ -c 'SELECT version()')"
echo "### $(redis-server --version)"

echo "### pgbench: one INSERT per transaction into a table shaped like leads"
fresh_schema
$bin migrate --database-url "$pg_dsn" >/dev/null
psql_ -c "CREATE TABLE loadtest.pgbench_leads (LIKE loadtest.leads INCLUDING ALL)"
cat > /tmp/leadrotor-pgbench.sql <<'SQL'
\set n random(1, 2000000000)
INSERT INTO loadtest.pgbench_leads (account_id, team_id, lead_source_id, first_name, last_name, email, email_norm, phone, company, status, metadata, assigned_to, created_by, created_at, updated_at) VALUES ('2311', 1, 1, 'Load', 'Test', 'w' || :n || '@load.test', 'w' || :n || '@load.test', '+1-555-0100', 'Bench', 'new', '{"utm_source":"bench"}', 'rep1@bench.test', 'bench', now(), now());
SQL
pgbench "${pg%%\?*}" -n -c "$clients" -j "$(nproc)" -T "${duration%s}" -f /tmp/leadrotor-pgbench.sql 2>&1 | grep -E "tps|latency average"

fresh_schema
serve_and_drive "leadrotor: PostgreSQL + Redis" LEADROTOR_DATABASE_URL="$pg_dsn" LEADROTOR_REDIS_URL="$redis" LEADROTOR_REDIS_PREFIX=loadtest:

dir=$(mktemp -d)
serve_and_drive "leadrotor: the embedded default (SQLite, in-process rotation)" LEADROTOR_DATABASE_URL="file:$dir/loadtest.db"
rm -rf "$dir"

echo "### baseline against leadrotor, both served by the load tool's own process"
fresh_schema
$bench --target baseline --database-url "$pg_dsn" -c "$clients" -d "$duration" --quiet
fresh_schema
$bench --database-url "$pg_dsn" --redis-url "$redis" --redis-prefix loadtest: -c "$clients" -d "$duration" --quiet

echo "### the rotation decision alone: Lua on the real Redis"
go test -run '^$' -bench 'BenchmarkLuaNext' -benchtime 5s ./rotation/ | grep Benchmark

if [[ -n ${SOAK:-} ]]; then
	fresh_schema
	echo "### memory soak: $SOAK"
	duration=$SOAK
	out=$(LEADROTOR_DATABASE_URL="$pg_dsn" $bin demo --env)
	eval "$out"
	LEADROTOR_DATABASE_URL="$pg_dsn" LEADROTOR_REDIS_URL="$redis" LEADROTOR_REDIS_PREFIX=loadtest: $bin serve --http-addr 127.0.0.1:18600 --log-level warn &
	spid=$!
	for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18600/healthz >/dev/null && break; sleep 0.1; done
	$bench --url http://127.0.0.1:18600 -c "$clients" -d "$SOAK" --server-pid $spid 2>&1 | awk 'NR % 60 == 1 || /leads created|latency|RSS MB|errors|fairness/'
	kill $spid
	wait $spid || true
fi
fresh_schema
