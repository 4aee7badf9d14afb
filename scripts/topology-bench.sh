#!/usr/bin/env bash
# Issue 17's benchmarks of leadrotor past one Redis and one PostgreSQL, on
# processes this script starts on loopback ports and stops:
#
#   scripts/topology-bench.sh cluster   # two servers on a 3-master Redis Cluster vs on one Redis
#   scripts/topology-bench.sh replica   # creates beside 32 readers: reads on a streaming replica vs on the primary
#
# cluster: PAIRS (3) pairs of runs, alternating one Redis (the local one,
# 127.0.0.1:6379) and a Redis Cluster of three masters started here; each
# run starts two `leadrotor serve` on the local PostgreSQL (a schema of its
# own) and drives both with leadbench --url for DURATION (15s) with CLIENTS
# (64) clients.
#
# replica: a PostgreSQL primary and a streaming standby started here
# (initdb, pg_basebackup -R); PAIRS pairs of leadbench runs with --readers
# READERS (32): the writers alone, then beside the readers; arm 0 sends the
# reads to the primary, arm 1 to the standby (--database-read-url).
#
# Run nothing else meanwhile: the machine's two cores are the limit.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
pairs=${PAIRS:-3}
duration=${DURATION:-15s}
clients=${CLIENTS:-64}
readers=${READERS:-32}
pg=${LEADROTOR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
redis=${LEADROTOR_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

make -s build >/dev/null
psql_() { PGOPTIONS=--client-min-messages=warning psql "$1" -qAt -v ON_ERROR_STOP=1 "${@:2}"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# clusterport: a free port whose cluster bus port (+10000) is free too (a
# Redis Cluster node's port must be at most 55535).
clusterport() {
	python3 -c '
import random, socket
while True:
    p = random.randint(20000, 45000)
    try:
        for q in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass'
}
summary() { # summary <results file>: each arm's mean and median
	for n in 0 1; do
		awk -F'\t' -v n="$n" '$1 == n {print $2}' "$1" | sort -n | awk -v n="$n" '{v[NR] = $1; s += $1} END {
			if (NR == 0) exit
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "arm %s mean %6.0f  median %6.0f leads/s over %d runs\n", n, s / NR, m, NR
		}'
	done
}
echo "# $(nproc) CPUs, $(uname -sr), $(go version | cut -d' ' -f3), redis $(redis-server --version | awk '{print $3}')"

# serve_two <env...>: starts two servers with the environment given, and
# sets servers to their URLs, comma-separated.
serve_two() {
	local urls=()
	for i in 1 2; do
		local port
		port=$(freeport)
		env "$@" bin/leadrotor serve --http-addr "127.0.0.1:$port" --log-level error --console=false >"$work/serve-$i.log" 2>&1 &
		pids+=($!)
		for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
		urls+=("http://127.0.0.1:$port")
	done
	servers=$(IFS=,; echo "${urls[*]}")
}

# drive_two <duration>: leadbench on the two servers of serve_two, as the
# demo account; prints its JSON report.
drive_two() {
	bin/leadbench --url "$servers" --api-key "$LEADROTOR_API_KEY" --account "$LEADROTOR_ACCOUNT_ID" \
		--team "$LEADROTOR_TEAM_ID" --lead-source "$LEADROTOR_LEAD_SOURCE_ID" -c "$clients" -d "$1" --json --quiet
}

stop_servers() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
}

case "$mode" in
cluster)
	ports=()
	for i in 1 2 3; do
		port=$(clusterport)
		ports+=("$port")
		mkdir -p "$work/redis-$port"
		redis-server --bind 127.0.0.1 --port "$port" --cluster-enabled yes --cluster-config-file "$work/redis-$port/nodes.conf" \
			--save "" --appendonly no --dir "$work/redis-$port" --daemonize no --logfile "$work/redis-$port/log" &
		pids+=($!)
	done
	for p in "${ports[@]}"; do
		for _ in $(seq 1 50); do redis-cli -p "$p" ping >/dev/null 2>&1 && break; sleep 0.1; done
	done
	redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
	for p in "${ports[@]}"; do
		for _ in $(seq 1 100); do redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1; done
	done
	cluster_pids=("${pids[@]}")
	pids=()
	cluster_url="redis+cluster://$(IFS=,; echo "${ports[*]/#/127.0.0.1:}")"
	echo "# cluster: $cluster_url; $pairs pairs, two servers, -c $clients -d $duration"
	results="$work/results"
	for pair in $(seq 1 "$pairs"); do
		for n in 0 1; do
			url=$redis
			[ "$n" = 1 ] && url=$cluster_url
			schema="topo_bench_$$_${pair}_$n"
			prefix="topo:$$:$pair:$n:"
			psql_ "${pg%%\?*}" -c "CREATE SCHEMA $schema" -c "CHECKPOINT"
			sep='?'; [[ $pg == *\?* ]] && sep='&'
			envs=(LEADROTOR_DATABASE_URL="${pg}${sep}search_path=$schema" LEADROTOR_REDIS_URL="$url" LEADROTOR_REDIS_PREFIX="$prefix")
			eval "$(env "${envs[@]}" bin/leadrotor demo --env 2>/dev/null)"
			serve_two "${envs[@]}"
			# Warm up, then analyze what the load writes, as autovacuum
			# would have (see leadbench --warmup and docs/BENCHMARKS.md).
			drive_two 3s >/dev/null
			for table in leads audit_log rotation_turns rotation_skips; do psql_ "${pg%%\?*}" -c "ANALYZE $schema.$table"; done
			out=$(drive_two "$duration")
			stop_servers
			psql_ "${pg%%\?*}" -c "DROP SCHEMA $schema CASCADE"
			jq -r --arg arm "$n" '[$arm, (.leadsPerSecond | round), .latencyMs.P50, .latencyMs.P99, ([.errors[]] | add // 0), .maxDeviation, .unassigned, (.cpu.postgresUs // 0), (.cpu.redisUs // 0)] | @tsv' <<<"$out" >>"$results"
			tail -n1 "$results" | awk -F'\t' '{printf "arm %s %6d leads/s  p50 %6.1f ms  p99 %6.1f ms  errors %d  max deviation %.2f  unassigned %d  CPU us/lead postgres %.0f redis %.0f\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}'
		done
	done
	summary "$results"
	pids=("${cluster_pids[@]}")
	;;
replica)
	bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
	chown postgres "$work"
	as_pg() { runuser -u postgres -- "$@"; }
	primary=$(freeport)
	standby=$(freeport)
	as_pg "$bin/initdb" -D "$work/primary" -A trust -U postgres >/dev/null
	cat >>"$work/primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $primary
unix_socket_directories = '$work'
wal_level = replica
max_wal_senders = 4
shared_buffers = 256MB
synchronous_commit = on
EOF
	echo "host replication all 127.0.0.1/32 trust" >>"$work/primary/pg_hba.conf"
	as_pg "$bin/pg_ctl" -D "$work/primary" -l "$work/primary.log" -w start >/dev/null
	as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary" -U postgres -D "$work/standby" -R -X stream
	sed -i "s/^port = .*/port = $standby/" "$work/standby/postgresql.conf"
	as_pg "$bin/pg_ctl" -D "$work/standby" -l "$work/standby.log" -w start >/dev/null
	trap 'as_pg "$bin/pg_ctl" -D "$work/standby" -m immediate stop >/dev/null 2>&1 || true; as_pg "$bin/pg_ctl" -D "$work/primary" -m immediate stop >/dev/null 2>&1 || true; cleanup' EXIT
	for _ in $(seq 1 100); do
		[ "$(psql_ "postgres://postgres@127.0.0.1:$primary/postgres" -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 1 ] && break
		sleep 0.1
	done
	echo "# primary 127.0.0.1:$primary, streaming standby 127.0.0.1:$standby; $pairs pairs, -c $clients -d $duration, --readers $readers"
	results="$work/results"
	for pair in $(seq 1 "$pairs"); do
		for n in 0 1; do
			db="topo_$$_${pair}_$n"
			psql_ "postgres://postgres@127.0.0.1:$primary/postgres" -c "CREATE DATABASE $db"
			read_url=""
			[ "$n" = 1 ] && read_url="postgres://postgres@127.0.0.1:$standby/$db"
			prefix="topo:$$:$pair:$n:"
			out=$(LEADROTOR_DATABASE_READ_URL="$read_url" bin/leadbench --database-url "postgres://postgres@127.0.0.1:$primary/$db" \
				--redis-url "$redis" --redis-prefix "$prefix" -c "$clients" -d "$duration" --warmup 3s --readers "$readers" --preload 20000 --json --quiet)
			redis-cli -u "$redis" --scan --pattern "$prefix*" | xargs -r -d '\n' redis-cli -u "$redis" DEL >/dev/null
			psql_ "postgres://postgres@127.0.0.1:$primary/postgres" -c "DROP DATABASE $db WITH (FORCE)"
			jq -r --arg arm "$n" '[$arm, (.mixed.leadsPerSecond | round), (.leadsPerSecond | round), .mixed.throughputKept, .mixed.latencyMs.P99, .mixed.reads.pagesPerSecond, ([.mixed.errors[]?] | add // 0)] | @tsv' <<<"$out" >>"$results"
			tail -n1 "$results" | awk -F'\t' '{printf "arm %s (reads on %s)  writers alone %6d leads/s  beside readers %6d leads/s (%.0f%%)  p99 %6.1f ms  reads %.1f pages/s  errors %d\n", $1, ($1 == 0 ? "primary" : "standby"), $3, $2, 100 * $4, $5, $6, $7}'
		done
	done
	echo "(the summary is of the creates' throughput beside the readers)"
	summary "$results"
	;;
*)
	echo "usage: scripts/topology-bench.sh cluster|replica" >&2
	exit 2
	;;
esac
