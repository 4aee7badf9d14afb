#!/usr/bin/env bash
# make package-check: what CI can check of the packaging without a Docker
# engine (none runs in CI).
#
#  1. The Dockerfile builds with go.mod's Go version.
#  2. The binary, built with the Dockerfile's own build line, is static,
#     CGO-free and trimmed.
#  3. Run as an unprivileged user (65534) on a SQLite file in a temporary
#     directory, with the system's zoneinfo hidden as in a scratch image:
#     migrate, serve on a loopback port picked by the kernel, /readyz ready,
#     a member's working hours in an IANA time zone decide who is passed
#     over, SIGTERM, exit 0.
#  4. compose.yaml loads in compose-go, the loader of docker compose v2.
#  5. Every LEADROTOR_* variable the deployment files and docs/deploy.md
#     name is a real setting.
#  6. docs/deploy/leadrotor.service passes systemd-analyze verify.
#
# Needs root (CI and the helpers' machines run as root): it switches users
# and hides /usr/share/zoneinfo in a mount namespace of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

# compose-go, pinned: `go run` fetches it through the module proxy once.
COMPOSE_GO=github.com/compose-spec/compose-go/v2/cmd@v2.16.2
# The unprivileged user the binary runs as (nobody).
RUN_UID=65534

fail() {
	echo "package-check: FAIL: $*" >&2
	exit 1
}
step() { echo "package-check: $*"; }

need_packages=()
command -v file >/dev/null 2>&1 || need_packages+=(file)
command -v curl >/dev/null 2>&1 || need_packages+=(curl)
command -v setpriv >/dev/null 2>&1 || need_packages+=(util-linux)
command -v ps >/dev/null 2>&1 || need_packages+=(procps)
command -v systemd-analyze >/dev/null 2>&1 || need_packages+=(systemd)
if [ ${#need_packages[@]} -gt 0 ]; then
	step "installing ${need_packages[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi
[ "$(id -u)" = 0 ] || fail "run as root: the binary is run as user $RUN_UID in a mount namespace"

work=$(mktemp -d)
chmod 0711 "$work" # the unprivileged user reaches its files, lists nothing
server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# 1. The Dockerfile's Go version is go.mod's.
go_mod_version=$(awk '$1 == "go" { print $2; exit }' go.mod)
docker_go_version=$(sed -n 's/^FROM golang:\([0-9][0-9.]*\)[-[:alnum:]]* AS build$/\1/p' Dockerfile)
[ -n "$go_mod_version" ] || fail "go.mod has no go line"
[ -n "$docker_go_version" ] || fail "Dockerfile has no 'FROM golang:<version>… AS build' line"
[ "$docker_go_version" = "$go_mod_version" ] ||
	fail "Dockerfile builds with golang:$docker_go_version, go.mod says go $go_mod_version: make them the same"
step "Dockerfile and go.mod agree: Go $go_mod_version"

# 2. The binary, built by the Dockerfile's own build line with only the
# output path changed, so that the two cannot drift apart.
build_line=$(grep -E '^\s*CGO_ENABLED=0 go build .* -o /out/leadrotor \./cmd/leadrotor$' Dockerfile | sed 's/^\s*//') ||
	fail "Dockerfile has no one-line 'CGO_ENABLED=0 go build … -o /out/leadrotor ./cmd/leadrotor'"
[ "$(grep -c . <<<"$build_line")" = 1 ] || fail "Dockerfile has several build lines: $build_line"
bin=$work/leadrotor
step "building as the Dockerfile does: ${build_line/\/out\/leadrotor/$bin}"
eval "${build_line/\/out\/leadrotor/\"\$bin\"}"
chmod 0755 "$bin"

file_says=$(file -b "$bin")
grep -q 'statically linked' <<<"$file_says" || fail "not static: file says: $file_says"
grep -q ', stripped$' <<<"$file_says" && ! grep -q 'debug_info' <<<"$file_says" ||
	fail "symbols or DWARF left (-s -w): file says: $file_says"
if ldd_says=$(ldd "$bin" 2>&1); then
	fail "ldd finds a dynamic executable: $ldd_says"
fi
grep -q 'not a dynamic executable' <<<"$ldd_says" || fail "ldd says: $ldd_says"
build_info=$(go version -m "$bin")
grep -qx "$bin: go$go_mod_version" <<<"$(head -1 <<<"$build_info")" || fail "built by $(head -1 <<<"$build_info"), not go$go_mod_version"
grep -qx $'\tbuild\tCGO_ENABLED=0' <<<"$build_info" || fail "go version -m does not say CGO_ENABLED=0"
grep -qx $'\tbuild\t-trimpath=true' <<<"$build_info" || fail "go version -m does not say -trimpath=true"
step "static, stripped, CGO_ENABLED=0, -trimpath ($(du -h "$bin" | cut -f1))"

# 3. The binary as the image runs it: as an unprivileged user, its data in
# a directory of its own, no zoneinfo on the disk (a scratch image has none;
# the binary embeds time/tzdata). unshare gives the command a mount
# namespace in which a tmpfs hides /usr/share/zoneinfo; the command is exec'd
# through every wrapper, so a background run's $! is the binary's pid.
data=$work/data
mkdir "$data"
chown "$RUN_UID:$RUN_UID" "$data"
log=$work/serve.log
as_nobody() { # as_nobody ARGS...: runs the binary with ARGS, in place of the
	# calling shell: call it only in $(…) or with &, where that is a subshell.
	# sh -c names its first operand $0: the data directory; then the uid.
	exec unshare --mount --propagation private sh -ec '
		mount -t tmpfs -o size=64k tmpfs /usr/share/zoneinfo
		test ! -e /usr/share/zoneinfo/Pacific/Kiritimati
		cd "$0"
		uid=$1
		shift
		exec setpriv --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all --no-new-privs \
			env -i PATH=/usr/bin:/bin HOME="$0" TZ=UTC LEADROTOR_DATABASE_URL="file:$0/leadrotor.db" "$@"
	' "$data" "$RUN_UID" "$bin" "$@"
}

out=$(as_nobody migrate 2>&1) || fail "migrate as user $RUN_UID: $out"
grep -q 'schema of sqlite is up to date' <<<"$out" || fail "migrate said: $out"
[ "$(stat -c %u "$data/leadrotor.db")" = "$RUN_UID" ] || fail "the database file is not user $RUN_UID's"
demo=$(as_nobody demo --env 2>&1) || fail "demo: $demo"
key=$(sed -n "s/^export LEADROTOR_API_KEY='\(.*\)'$/\1/p" <<<"$demo")
[ -n "$key" ] || fail "demo printed no key: $demo"
step "migrate and demo ran as user $RUN_UID without zoneinfo on the disk"

as_nobody serve --http-addr 127.0.0.1:0 >"$log" 2>&1 &
server_pid=$!
deadline=$((SECONDS + 60))
addr=
while [ -z "$addr" ]; do
	kill -0 "$server_pid" 2>/dev/null || fail "serve exited at start: $(cat "$log")"
	[ $SECONDS -lt $deadline ] || fail "serve did not say where it listens within 60s: $(cat "$log")"
	addr=$(sed -n 's/.*msg=listening addr=\(127\.0\.0\.1:[0-9]*\) .*/\1/p' "$log" | head -1)
	[ -n "$addr" ] || sleep 0.1
done
[ "$(ps -o uid= -p "$server_pid" | tr -d ' ')" = "$RUN_UID" ] || fail "serve does not run as user $RUN_UID"
url=http://$addr
until ready=$(curl -fsS "$url/readyz" 2>/dev/null) && grep -q '"status":"ready"' <<<"$ready"; do
	kill -0 "$server_pid" 2>/dev/null || fail "serve exited: $(cat "$log")"
	[ $SECONDS -lt $deadline ] || fail "$url/readyz not ready within 60s (last: ${ready:-no answer}): $(cat "$log")"
	sleep 0.1
done
step "serve (pid $server_pid, user $RUN_UID) is ready on $url"

# Working hours in a time zone: ana works Mondays 09:00-17:00 at UTC+14
# (Pacific/Kiritimati). On 2026-12-06 at 20:00 UTC it is Monday 10:00
# there: she takes a turn. At 2026-12-07 10:00 UTC it is Tuesday there:
# she is passed over, outside_hours. Read as UTC, both would be the other
# way round. An unknown zone is refused, naming the field.
api() { # api METHOD PATH [BODY]: prints the body, then the status on its own line
	curl -sS -X "$1" "$url$2" -H "Authorization: Bearer $key" -H 'x-account-id: 2311' \
		-H 'Content-Type: application/json' ${3:+-d "$3"} -w '\n%{http_code}'
}
reply=$(api PUT /members/ana@example.com/schedule '{"timezone":"Mars/Olympus_Mons","monday":[{"start":"09:00","end":"17:00"}]}')
[ "$(tail -1 <<<"$reply")" = 400 ] && grep -q '"field":"timezone"' <<<"$reply" ||
	fail "an unknown time zone was not refused with 400 naming timezone: $reply"
reply=$(api PUT /members/ana@example.com/schedule '{"timezone":"Pacific/Kiritimati","monday":[{"start":"09:00","end":"17:00"}]}')
[ "$(tail -1 <<<"$reply")" = 200 ] || fail "Pacific/Kiritimati refused: $reply"
reply=$(api GET /rotations)
rotation=$(grep -o '"id":[0-9]*,"accountId":"2311","name":"Everyone"' <<<"$reply" | grep -o '^"id":[0-9]*' | cut -d: -f2)
[ -n "$rotation" ] || fail "no rotation Everyone in: $reply"
reply=$(api GET "/rotations/$rotation/next?n=3&at=2026-12-06T20:00:00Z")
[ "$(tail -1 <<<"$reply")" = 200 ] && grep -q '"assignee":"ana@example.com"' <<<"$reply" ||
	fail "ana, inside her hours in Pacific/Kiritimati, takes no turn: $reply"
reply=$(api GET "/rotations/$rotation/next?n=3&at=2026-12-07T10:00:00Z")
[ "$(tail -1 <<<"$reply")" = 200 ] && grep -q '"user":"ana@example.com","reason":"outside_hours"' <<<"$reply" ||
	fail "ana, outside her hours in Pacific/Kiritimati, was not passed over: $reply"
step "time zones work from the embedded database: Pacific/Kiritimati hours decide ana's turns"

kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
[ "$status" = 0 ] || fail "serve exited $status after SIGTERM: $(cat "$log")"
grep -q 'msg=stopped' "$log" || fail "serve did not say it stopped: $(cat "$log")"
step "SIGTERM: serve shut down and exited 0"

# 4. compose.yaml, through the loader docker compose v2 uses: schema,
# interpolation, depends_on naming real services, anchors and merges.
out=$(go run "$COMPOSE_GO" compose.yaml 2>&1) || fail "compose.yaml: $out"
for service in postgres redis migrate leadrotor-1 leadrotor-2; do
	grep -q "^    $service:$" <<<"$out" || fail "compose.yaml has no service $service"
done
step "compose.yaml is valid (compose-go ${COMPOSE_GO##*@})"

# 5. Every setting the deployment files name exists: the binary refuses an
# unknown LEADROTOR_* variable, so a misspelt one would stop the server.
help=$("$bin" serve --help)
names=$(grep -ohE 'LEADROTOR_[A-Z][A-Z_]*[A-Z]' compose.yaml Dockerfile docs/deploy/* docs/deploy.md | sort -u)
for name in $names; do
	case $name in
	LEADROTOR_CONFIG | LEADROTOR_TEST_* | LEADROTOR_API_KEY | LEADROTOR_ACCOUNT_ID | LEADROTOR_TEAM_ID | LEADROTOR_LEAD_SOURCE_ID) continue ;;
	esac
	flag=$(tr 'A-Z_' 'a-z-' <<<"${name#LEADROTOR_}")
	grep -qE -- "--$flag( |$)" <<<"$help" || fail "$name is not a setting: serve --help has no --$flag"
done
step "every LEADROTOR_* variable named in the deployment files is a setting"

# 6. The systemd unit, with ExecStart pointed at the binary just built
# (verify checks that the command exists). Any warning fails: verify exits
# 0 on an unknown key.
unit=$work/leadrotor.service
sed "s|/usr/local/bin/leadrotor|$bin|" docs/deploy/leadrotor.service >"$unit"
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
step "docs/deploy/leadrotor.service passes systemd-analyze verify"

step "PASS"
