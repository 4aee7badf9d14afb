#!/usr/bin/env bash
# make soak: leadrotor under load while its dependencies fail.
#
# Two `leadrotor serve` processes share one PostgreSQL schema and a Redis of
# this script's own; `leadbench --idempotent` drives both for DURATION
# (default 2m) through a rotation weighted 3,2,1, as careful clients do (a
# key per lead, a request left unanswered sent again to the other server),
# while this script kills Redis (its state gone) and starts it again, twice,
# restarts one server (SIGTERM, as a deploy does), kills the other with
# SIGKILL and starts it again, and locks the audit_log table for LOCK (15s,
# at most a third of the run). Then it checks that:
#   - the leads stored are exactly the 201 answers,
#   - every lead is assigned (none pending, none unassigned),
#   - each member's count is within 1 of its weighted share,
#   - the day counts in Redis equal the stored leads per member, once the
#     killed server's turns are settled,
#   - no request got a 5xx other than a planned 503, and every server
#     stopped by SIGTERM exited 0;
# prints a one-line verdict and exits non-zero on any violation.
#
#   make soak                      # 2 minutes
#   make soak SOAK_DURATION=45s    # what CI runs
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-2m}
clients=${CLIENTS:-32}
pg=${LEADROTOR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
bin=bin/leadrotor
bench=bin/leadbench
work=$(mktemp -d)
schema="soak_$(date +%s)_$$"
psql_() { psql "${pg%%\?*}" -qAt -v ON_ERROR_STOP=1 "$@"; }
log() { echo "soak: $*" >&2; }

seconds() { # 2m -> 120, 45s -> 45, 1h -> 3600
	local d=$1
	case $d in
	*h) echo $((${d%h} * 3600)) ;;
	*m) echo $((${d%m} * 60)) ;;
	*s) echo "${d%s}" ;;
	*) echo "$d" ;;
	esac
}
total=$(seconds "$duration")
((total >= 30)) || {
	echo "soak: DURATION must be at least 30s" >&2
	exit 2
}
lock=$(seconds "${LOCK:-15s}")
((lock <= total / 3)) || lock=$((total / 3))

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
redis_port=$(free_port)
ports=("$(free_port)" "$(free_port)")
redis_pid=
server_pids=(0 0)
server_exits=()

cleanup() {
	for pid in "${server_pids[@]}"; do ((pid == 0)) || kill "$pid" 2>/dev/null || true; done
	[[ -n $redis_pid ]] && kill -9 "$redis_pid" 2>/dev/null || true
	if [[ -n ${KEEP:-} ]]; then
		log "kept the logs in $work and the schema $schema"
		return
	fi
	psql_ -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

dsn="${pg}&search_path=$schema"
[[ $pg == *\?* ]] || dsn="${pg}?search_path=$schema"
export LEADROTOR_DATABASE_URL=$dsn
export LEADROTOR_REDIS_URL=redis://127.0.0.1:$redis_port
export LEADROTOR_REDIS_PREFIX=soak:

start_redis() {
	redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >>"$work/redis.log" 2>&1 &
	redis_pid=$!
	for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return; sleep 0.05; done
	log "redis-server did not start"
	exit 1
}

kill_redis() { # a crash: no shutdown, nothing kept
	kill -9 "$redis_pid"
	wait "$redis_pid" 2>/dev/null || true
}

start_server() { # start_server <index>
	local i=$1
	$bin serve --http-addr "127.0.0.1:${ports[$i]}" --log-level warn --assign-interval 100ms \
		--request-timeout 2s --settle-after 5s \
		>>"$work/server$i.log" 2>&1 &
	server_pids[i]=$!
	for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:${ports[$i]}/healthz" >/dev/null && return; sleep 0.05; done
	log "server $i did not start"
	exit 1
}

kill_server() { # kill_server <index>: SIGKILL, as the OOM killer or a power cut does
	local i=$1
	kill -KILL "${server_pids[$i]}"
	wait "${server_pids[$i]}" 2>/dev/null || true
	server_pids[i]=0
}

stop_server() { # stop_server <index>: SIGTERM, and the exit status is kept
	local i=$1 status=0
	kill -TERM "${server_pids[$i]}"
	wait "${server_pids[$i]}" || status=$?
	server_exits+=("$status")
	server_pids[i]=0
}

psql_ -c "CREATE SCHEMA $schema"
start_redis
eval "$($bin demo --env 2>/dev/null)"
start_server 0
start_server 1

api() { # api <method> <path> [body]
	curl -sf -X "$1" "http://127.0.0.1:${ports[0]}$2" -H "Authorization: Bearer $LEADROTOR_API_KEY" \
		-H "x-account-id: $LEADROTOR_ACCOUNT_ID" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
rotation=$(api GET /rotations | jq -r --argjson team "$LEADROTOR_TEAM_ID" '.data[] | select(.teamId == $team) | .id')
api PATCH "/rotations/$rotation/members/ana@example.com" '{"weight":3}' >/dev/null
api PATCH "/rotations/$rotation/members/ben@example.com" '{"weight":2}' >/dev/null

log "driving 2 servers with $clients clients for ${total}s; Redis is killed twice, a server restarted, a server killed, audit_log locked for ${lock}s"
$bench --url "http://127.0.0.1:${ports[0]},http://127.0.0.1:${ports[1]}" -c "$clients" -d "${total}s" --json --quiet --idempotent \
	>"$work/bench.json" 2>"$work/bench.err" &
bench_pid=$!

at() { # at <percent>: wait until that part of the run has passed
	local due=$((start + total * $1 / 100))
	while (($(date +%s) < due)); do sleep 0.2; done
}
start=$(date +%s)
at 15
log "killing Redis"
kill_redis
sleep 2
start_redis
log "Redis is back, empty"
at 30
log "restarting server 1"
stop_server 1
start_server 1
at 40
log "killing server 0 (SIGKILL)"
kill_server 0
start_server 0
at 50
log "locking audit_log for ${lock}s"
psql_ -c "BEGIN" -c "LOCK TABLE $schema.audit_log IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep($lock)" -c "COMMIT" >/dev/null
log "audit_log unlocked"
at 85
log "killing Redis again"
kill_redis
sleep 2
start_redis
log "Redis is back, empty"

bench_status=0
wait $bench_pid || bench_status=$?
if ((bench_status != 0)); then
	log "bench failed: $(cat "$work/bench.err")"
	exit 1
fi

# Leads made while Redis was away are assigned by the background assigner.
acct=$LEADROTOR_ACCOUNT_ID
pending() { psql_ -c "SELECT count(*) FROM $schema.leads WHERE account_id = '$acct' AND assignment_pending"; }
for _ in $(seq 1 600); do (($(pending) == 0)) && break; sleep 0.1; done

# The day counts in Redis against the stored leads, per member: equal once
# the turns the killed server took for leads it never wrote are settled
# (--settle-after 5s).
day=$(date -u +%F)
redis_counts() {
	redis-cli -p "$redis_port" --raw HGETALL "soak:rotation:{$rotation}:day:$day" |
		paste - - | awk '$2 != 0 { print $1 "=" $2 }' | sort | tr '\n' ' '
}
stored_counts() {
	psql_ -c "SELECT assigned_to || '=' || count(*) FROM $schema.leads WHERE account_id = '$LEADROTOR_ACCOUNT_ID'
		AND rotation_turn > 0 AND created_at >= '$day' GROUP BY assigned_to ORDER BY assigned_to" | tr '\n' ' '
}
for _ in $(seq 1 300); do [[ $(redis_counts) == "$(stored_counts)" ]] && break; sleep 0.1; done

stop_server 0
stop_server 1

created=$(jq '.created' "$work/bench.json")
requests=$(jq '.requests' "$work/bench.json")
errors=$(jq -c '.errors' "$work/bench.json")
planned503=$(jq '.errors["503"] // 0' "$work/bench.json")
other5xx=$(jq '[.errors | to_entries[] | select((.key | test("^5")) and .key != "503") | .value] | add // 0' "$work/bench.json")
stored=$(psql_ -c "SELECT count(*) FROM $schema.leads WHERE account_id = '$acct'")
still_pending=$(pending)
unassigned=$(psql_ -c "SELECT count(*) FROM $schema.leads WHERE account_id = '$acct' AND assigned_to = ''")
deferred=$(psql_ -c "SELECT count(*) FROM $schema.audit_log WHERE account_id = '$acct' AND event = 'assignment_deferred'")
# Each member's count against its weighted share of all the rotation's leads.
deviation=$(psql_ -c "
WITH w AS (SELECT email, weight FROM $schema.rotation_members WHERE rotation_id = $rotation),
     c AS (SELECT assigned_to AS email, count(*) AS n FROM $schema.leads WHERE account_id = '$acct' GROUP BY assigned_to),
     t AS (SELECT sum(n) AS total FROM c)
SELECT coalesce(max(abs(coalesce(c.n, 0) - t.total * w.weight::numeric / (SELECT sum(weight) FROM w))), 0)::numeric(10, 2)
FROM w LEFT JOIN c USING (email), t")
counts=$(psql_ -c "SELECT string_agg(assigned_to || '=' || n, ' ' ORDER BY assigned_to) FROM
	(SELECT assigned_to, count(*) AS n FROM $schema.leads WHERE account_id = '$acct' GROUP BY assigned_to) AS c")

problems=()
((stored == created)) || problems+=("stored $stored leads but answered 201 to $created")
((still_pending == 0)) || problems+=("$still_pending leads still pending")
((unassigned == 0)) || problems+=("$unassigned leads unassigned")
awk -v d="$deviation" 'BEGIN { exit !(d <= 1) }' || problems+=("a member is $deviation from its weighted share")
((other5xx == 0)) || problems+=("5xx answers other than 503: $errors")
for s in "${server_exits[@]}"; do ((s == 0)) || problems+=("a server exited with $s"); done
((deferred > 0)) || problems+=("no lead was deferred: Redis never went away under load")
day_counts=$(redis_counts)
[[ $day_counts == "$(stored_counts)" ]] || problems+=("day counts in Redis ($day_counts) differ from the stored leads ($(stored_counts))")

summary="$created leads in ${total}s over 2 servers ($requests requests, errors $errors, $planned503 planned 503s), $deferred deferred while Redis was away, stored $stored, pending $still_pending, unassigned $unassigned, max deviation $deviation ($counts)"
if ((${#problems[@]} == 0)); then
	echo "soak: PASS: $summary"
else
	for i in 0 1; do tail -n 20 "$work/server$i.log" | sed "s/^/server$i: /" >&2; done
	echo "soak: FAIL: $(
		IFS=';'
		echo "${problems[*]}"
	): $summary"
	exit 1
fi
