#!/usr/bin/env bash
# Compares two leadbench configurations on the create path, alternately:
# the two sets of leadbench arguments in ARMS, separated by '|' (default:
# "--rules 0|--rules 100", what routing rules cost; docs/BENCHMARKS.md),
# PAIRS times (default 3), DURATION each (15s) after WARMUP (3s, then the
# tables are analyzed: see leadbench --warmup), CLIENTS clients (64), on
# PostgreSQL and Redis at 127.0.0.1, the server in leadbench's process. Each
# run has a PostgreSQL schema and a Redis key prefix of its own, dropped
# after it, and starts after a CHECKPOINT, so that no run inherits another's
# rows or pays for its writes. Alternating spreads the machine's drift over
# both arms, and each pair swaps which arm goes first. Prints a line per
# run, then each arm's mean and median, and its mean CPU a lead.
#
#   scripts/ab-bench.sh
#   ARMS="|--availability" scripts/ab-bench.sh      # what members' availability costs
#   ARMS="|--webhooks 2 --sla" scripts/ab-bench.sh  # webhooks and SLA timers (with delivery lag)
#   PAIRS=5 DURATION=20s scripts/ab-bench.sh
#   BENCH0=/tmp/old-leadbench ARMS="|" scripts/ab-bench.sh  # arm 0 run by another build (what a change costs)
#   BENCH0=/tmp/old-leadbench ARMS="--rate 1500|--rate 1500" scripts/ab-bench.sh
#       the two builds at the same load, below the machine's limit: compare
#       their CPU a lead ("box": leadbench's process, PostgreSQL and Redis)
set -euo pipefail
cd "$(dirname "$0")/.."

IFS='|' read -r -a arms <<<"${ARMS:---rules 0|--rules ${RULES:-100}}"
[ "${#arms[@]}" = 2 ] || { echo "ARMS must be two argument sets separated by |" >&2; exit 2; }
pairs=${PAIRS:-3}
duration=${DURATION:-15s}
warmup=${WARMUP:-3s}
clients=${CLIENTS:-64}
pg=${LEADROTOR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
redis=${LEADROTOR_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
bench=bin/leadbench
benches=("${BENCH0:-$bench}" "${BENCH1:-$bench}")
psql_() { PGOPTIONS=--client-min-messages=warning psql "${pg%%\?*}" -qAt -v ON_ERROR_STOP=1 "$@"; }
sep='?'
[[ $pg == *\?* ]] && sep='&'

go build -o "$bench" ./cmd/leadbench
echo "# $(nproc) CPUs, $(uname -sr), $(go version | cut -d' ' -f3), $(psql_ -c 'SHOW server_version'), redis $(redis-cli -u "$redis" INFO server | awk -F: '/^redis_version/ {print $2}' | tr -d '\r')"
echo "# $pairs pairs, -c $clients -d $duration --warmup $warmup, arm 0: ${benches[0]} '${arms[0]}', arm 1: ${benches[1]} '${arms[1]}'"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for pair in $(seq 1 "$pairs"); do
	# Arm 0 first in odd pairs, arm 1 first in even ones: the run that goes
	# first in a pair measured up to 10 % faster on a drifting machine
	# (docs/BENCHMARKS.md, stop 34), and a fixed order credited it to arm 0.
	order="0 1"
	[ $((pair % 2)) = 0 ] && order="1 0"
	for n in $order; do
		schema="ab_bench_$$_${pair}_$n"
		prefix="ab-bench:$$:$pair:$n:"
		psql_ -c "CREATE SCHEMA $schema" -c "CHECKPOINT"
		out=$(${benches[$n]} --database-url "${pg}${sep}search_path=$schema" --redis-url "$redis" --redis-prefix "$prefix" \
			-c "$clients" -d "$duration" --warmup "$warmup" ${arms[$n]} --json --quiet)
		psql_ -c "DROP SCHEMA $schema CASCADE"
		redis-cli -u "$redis" --scan --pattern "$prefix*" | xargs -r -d '\n' redis-cli -u "$redis" DEL >/dev/null
		jq -r --arg arm "$n" '[$arm, (.leadsPerSecond | round), .latencyMs.P50, .latencyMs.P99, ([.errors[]] | add // 0), .maxDeviation, .unassigned,
			(.webhooks.received // 0), (.webhooks.expected // 0), (.webhooks.lagMs.P50 // 0), (.webhooks.lagMs.P99 // 0),
			(.cpu.serverUs // 0), (.cpu.postgresUs // 0),
			(if .exactness.checked then "\(.exactness.differ) of \(.exactness.turns)" else "-" end),
			(.cpu.redisUs // 0)] | @tsv' <<<"$out" >>"$results"
		tail -n1 "$results" | awk -F'\t' '{printf "arm %s %6d leads/s  p50 %6.1f ms  p99 %6.1f ms  errors %d  max deviation %.2f  unassigned %d  CPU us/lead leadbench %.0f postgres %.0f redis %.0f (box %.0f)", $1, $2, $3, $4, $5, $6, $7, $12, $13, $15, $12 + $13 + $15
			if ($9 > 0) printf "  deliveries %d/%d  lag p50 %.0f ms  p99 %.0f ms", $8, $9, $10, $11
			if ($14 != "-") printf "  turns differing from SWRR %s", $14
			printf "\n"}'
	done
done
for n in 0 1; do
	awk -F'\t' -v n="$n" '$1 == n {print $2 "\t" $12 "\t" $13 "\t" $15}' "$results" | sort -n | awk -F'\t' -v n="$n" '{v[NR] = $1; s += $1; c += $2; p += $3; r += $4} END {
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "arm %s mean %6.0f  median %6.0f leads/s over %d runs; CPU us/lead mean: leadbench %.0f postgres %.0f redis %.0f (box %.0f)\n", n, s / NR, m, NR, c / NR, p / NR, r / NR, (c + p + r) / NR
	}'
done
