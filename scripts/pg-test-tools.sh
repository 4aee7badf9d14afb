#!/usr/bin/env bash
# CI: install what the tests of PostgreSQL past one box start themselves
# (internal/pgserver): PgBouncer, and PostgreSQL's server programs
# (initdb, postgres, pg_basebackup in /usr/lib/postgresql/*/bin), when
# missing. It starts nothing: the tests run them on free loopback ports,
# as the user postgres when run as root, and stop them.
set -euo pipefail

missing=()
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
	missing+=(pgbouncer)
fi
if ! ls /usr/lib/postgresql/*/bin/pg_basebackup >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "ci: installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
