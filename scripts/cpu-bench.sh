#!/usr/bin/env bash
# Issue 18's side-by-side run: leadrotor with every feature configured
# against the two references, in one command, on PostgreSQL and Redis at
# 127.0.0.1, 64 clients each:
#
#   insert    leadbench --target insert: decode the body, insert one row,
#             answer 201 (no rotation, no audit, no checks);
#   row-lock  leadbench --target baseline: the rotation CRMs use, a cursor
#             row locked per lead;
#   leadrotor `leadrotor serve` in a process of its own, driven with
#             leadbench --url --server-pid, so that the server's CPU per
#             lead is its own (the load is in leadbench's process): 5
#             routing rules, schedules, time off, holidays and capacity on
#             every rep (--availability), an SLA on the rotation, a webhook
#             endpoint subscribed to lead.assigned, metrics on.
#
# ROUNDS (2) rounds of the three, each run DURATION (20s) after a 4 s
# warmup and ANALYZE, in a PostgreSQL schema of its own dropped after it;
# then leadrotor's throughput against both references, round by round.
# CPU per lead is read from /proc (leadbench's report): the server's (for
# the references, leadbench's whole process, load included) and every
# postgres process's. Run nothing else meanwhile.
#
#   scripts/cpu-bench.sh
#   ROUNDS=3 DURATION=30s scripts/cpu-bench.sh
#   LEADROTOR=/tmp/old-leadrotor scripts/cpu-bench.sh   # another build of the server
#   STATEMENTS=10 LEADROTOR_TEST_POSTGRES_URL=... scripts/cpu-bench.sh
#       after each leadrotor run, PostgreSQL's 10 costliest statements of it
#       (pg_stat_statements: execution time per lead, calls, rows), on a
#       server that preloads it (docs/BENCHMARKS.md says how to start one)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-2}
duration=${DURATION:-20s}
clients=${CLIENTS:-64}
pg=${LEADROTOR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
redis=${LEADROTOR_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
features=${FEATURES:---rules 5 --availability --sla --webhooks 1}
psql_() { PGOPTIONS=--client-min-messages=warning psql "${pg%%\?*}" -qAt -v ON_ERROR_STOP=1 "$@"; }
sep='?'
[[ $pg == *\?* ]] && sep='&'

go build -o bin/leadbench ./cmd/leadbench
go build -o bin/leadrotor ./cmd/leadrotor
leadrotor=${LEADROTOR:-bin/leadrotor}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
results=$(mktemp)
server=
schema=
cleanup() {
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
	if [ -n "$schema" ]; then psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE" || true; fi
	rm -f "$results"
}
trap cleanup EXIT

echo "# $(nproc) CPUs, $(uname -sr), $(go version | cut -d' ' -f3), $(psql_ -c 'SHOW server_version'), $clients clients, $duration a run"
report() { # arm json
	jq -r --arg arm "$1" '[$arm, (.leadsPerSecond | round), .latencyMs.P99, ([.errors[]] | add // 0), (.maxDeviation // 0),
		(.cpu.serverUs // 0 | round), (.cpu.postgresUs // 0 | round), (.serverRssMb.Max // 0), (.webhooks.lagMs.P99 // 0),
		(if .exactness.checked then "\(.exactness.differ) of \(.exactness.turns)" else "-" end)] | @tsv' <<<"$2" >>"$results"
	# The insert handler assigns nobody: no deviation to show.
	tail -n1 "$results" | awk -F'\t' '{dev = ($1 == "insert") ? "   -" : sprintf("%.2f", $5)
		printf "%-9s %6d leads/s  p99 %6.1f ms  errors %d  max deviation %s  CPU us/lead: server %4d  postgres %4d", $1, $2, $3, $4, dev, $6, $7
		if ($8 > 0) printf "  RSS max %.0f MB", $8
		if ($9 > 0) printf "  webhook lag p99 %.0f ms", $9
		if ($10 != "-") printf "  turns differing from SWRR %s", $10
		printf "\n"}'
}
for round in $(seq 1 "$rounds"); do
	for arm in insert row-lock leadrotor; do
		schema="cpu_bench_$$_${round}_${arm//-/_}"
		prefix="cpu-bench:$$:$round:$arm:"
		db="${pg}${sep}search_path=$schema"
		psql_ -c "CREATE SCHEMA $schema" -c "CHECKPOINT"
		case $arm in
		insert | row-lock)
			target=insert
			[ "$arm" = row-lock ] && target=baseline
			out=$(bin/leadbench --target "$target" --database-url "$db" -c "$clients" -d "$duration" --warmup 4s --json --quiet)
			;;
		leadrotor)
			"$leadrotor" migrate --database-url "$db" >/dev/null
			eval "$("$leadrotor" demo --env --database-url "$db" --url "http://127.0.0.1:$port")"
			"$leadrotor" serve --database-url "$db" --redis-url "$redis" --redis-prefix "$prefix" --http-addr "127.0.0.1:$port" \
				--webhook-allow-private --log-level error &
			server=$!
			for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
			bin/leadbench --url "http://127.0.0.1:$port" -c "$clients" -d 4s --json --quiet >/dev/null
			psql_ -c "SET search_path = $schema" -c "ANALYZE"
			[ -n "${STATEMENTS:-}" ] && psql_ -c "SELECT pg_stat_statements_reset()" >/dev/null
			out=$(bin/leadbench --url "http://127.0.0.1:$port" --server-pid "$server" -c "$clients" -d "$duration" $features --json --quiet)
			kill "$server"
			wait "$server" 2>/dev/null || true
			server=
			if [ -n "${STATEMENTS:-}" ]; then
				created=$(jq '.created' <<<"$out")
				echo "# PostgreSQL's costliest statements, execution time per lead created ($created leads):"
				psql_ -F $'\t' -c "SELECT round((total_exec_time / $created * 1000)::numeric, 1) AS us_per_lead, calls, rows,
					left(regexp_replace(query, '\s+', ' ', 'g'), 90) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $STATEMENTS" |
					awk -F'\t' '{printf "#   %7.1f us  %7d calls  %8d rows  %s\n", $1, $2, $3, $4}'
			fi
			redis-cli -u "$redis" --scan --pattern "$prefix*" | xargs -r -d '\n' redis-cli -u "$redis" DEL >/dev/null
			;;
		esac
		psql_ -c "DROP SCHEMA $schema CASCADE"
		schema=
		report "$arm" "$out"
	done
	awk -F'\t' -v r="$round" 'NR > (r - 1) * 3 && NR <= r * 3 {v[$1] = $2} END {
		printf "round %d: leadrotor %.2fx the insert handler, %.2fx the row-lock rotation\n", r, v["leadrotor"] / v["insert"], v["leadrotor"] / v["row-lock"]}' "$results"
done
