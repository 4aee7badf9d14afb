#!/usr/bin/env bash
# What routing rules cost intake (docs/BENCHMARKS.md, "Routing rules on the
# create path"): scripts/ab-bench.sh with no rules against RULES (default 100)
# routing rules of 5 tests that every lead fails at the last.
set -euo pipefail
cd "$(dirname "$0")/.."
ARMS="--rules 0|--rules ${RULES:-100}" exec scripts/ab-bench.sh
