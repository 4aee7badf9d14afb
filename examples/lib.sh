# Shared by the HTTP walkthroughs (curl.sh, routing.sh): sourced, not run.
#
# LEADROTOR_URL (default http://localhost:8080) names the server. The API key
# and account come from LEADROTOR_API_KEY and LEADROTOR_ACCOUNT_ID; when no key
# is given, `leadrotor demo --env` (LEADROTOR_BIN, default bin/leadrotor)
# prints the demo account's, using the same database as the server.

url=${LEADROTOR_URL:-http://localhost:8080}
if [ -z "${LEADROTOR_API_KEY:-}" ]; then
	eval "$("${LEADROTOR_BIN:-bin/leadrotor}" demo --env)"
fi
account=$LEADROTOR_ACCOUNT_ID
team=$LEADROTOR_TEAM_ID
source=$LEADROTOR_LEAD_SOURCE_ID

# call <method> <path> [json [extra curl args]]: sends the request; prints
# the status code (the body is kept for body and field).
call() {
	local method=$1 path=$2
	shift 2
	local data=()
	if [ $# -gt 0 ]; then
		data=(-d "$1")
		shift
	fi
	curl -sS -o /tmp/leadrotor-curl.$$ -w '%{http_code}' -X "$method" "$url$path" \
		-H "Authorization: Bearer $LEADROTOR_API_KEY" -H "x-account-id: $account" \
		-H 'Content-Type: application/json' "${data[@]}" "$@"
}
# post <path> <json> [extra curl args]: call POST.
post() { call POST "$@"; }
body() { cat /tmp/leadrotor-curl.$$; }
# field <name>: the first value of that field in the last body (the lead's own,
# before its audit entries).
field() { body | grep -o "\"$1\":\"\{0,1\}[^\",}]*" | head -n 1 | sed 's/.*:"\{0,1\}//'; }
trap 'rm -f /tmp/leadrotor-curl.$$' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# id_named <path> <name>: the id of the object named name that GET path
# lists, "" when none.
id_named() {
	call GET "$1" >/dev/null
	body | grep -o '"id":[0-9]*,"accountId":"[^"]*","name":"'"$2"'"' | grep -o '^"id":[0-9]*' | cut -d: -f2 || true
}
