#!/usr/bin/env bash
# Checks httpapi/openapi.yaml as its readers use it (issue 17, item 6):
#   1. Spectral's spectral:oas ruleset (scripts/openapi/.spectral.yaml)
#      reports nothing, warnings included;
#   2. the Go client oapi-codegen generates from it is the committed one
#      (internal/apiclient/client.gen.go), regenerated in a temporary
#      directory;
#   3. the Redoc bundle /docs serves (httpapi/redoc/) is the published
#      one of the pinned version, byte for byte.
# Spectral is pinned in scripts/openapi/package-lock.json and installed
# there by npm ci; Node.js and npm come from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

REDOC_VERSION=2.5.4
GO=${GO:-go}

if ! command -v npm >/dev/null 2>&1; then
	echo "openapi-check: installing nodejs and npm"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi

tools=scripts/openapi
# node_modules/.installed-lock is the lock file node_modules was installed
# from: a changed lock file installs again.
if ! cmp -s "$tools/package-lock.json" "$tools/node_modules/.installed-lock" 2>/dev/null; then
	echo "openapi-check: installing the pinned Spectral"
	(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)
	cp "$tools/package-lock.json" "$tools/node_modules/.installed-lock"
fi

echo "openapi-check: spectral lint (spectral:oas)"
"$tools/node_modules/.bin/spectral" lint --ruleset "$tools/.spectral.yaml" \
	--fail-severity=warn httpapi/openapi.yaml

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "openapi-check: internal/apiclient/client.gen.go is generated from the document"
generator=$(sed -n 's|^//go:generate go run \([^ ]*\) .*|\1|p' internal/apiclient/doc.go)
# The configuration names the output client.gen.go: run where that is $work.
cp internal/apiclient/cfg.yaml "$work/cfg.yaml"
(cd "$work" && "$GO" run "$generator" -config cfg.yaml "$OLDPWD/httpapi/openapi.yaml")
if ! diff -u internal/apiclient/client.gen.go "$work/client.gen.go" >"$work/client.diff"; then
	head -n 40 "$work/client.diff"
	echo "openapi-check: the generated client is stale: run go generate ./internal/apiclient/ and commit it" >&2
	exit 1
fi

echo "openapi-check: httpapi/redoc is redoc@$REDOC_VERSION"
grep -q "RedocVersion = \"$REDOC_VERSION\"" httpapi/docs.go ||
	{ echo "openapi-check: httpapi/docs.go's RedocVersion is not $REDOC_VERSION" >&2; exit 1; }
(cd "$work" && npm pack --silent "redoc@$REDOC_VERSION" >/dev/null && tar -xzf "redoc-$REDOC_VERSION.tgz")
for f in bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE; do
	if ! cmp -s "$work/package/$f" "httpapi/redoc/$(basename "$f")"; then
		echo "openapi-check: httpapi/redoc/$(basename "$f") differs from redoc@$REDOC_VERSION's $f" >&2
		exit 1
	fi
done
echo "openapi-check: ok"
