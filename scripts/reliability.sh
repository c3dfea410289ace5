#!/usr/bin/env bash
# `npm run reliability`: the fault scenarios of test/reliability/ on real Kafka, ClickHouse and Redis
# (started by the test setup), written to RELIABILITY.md. Takes several minutes; not part of npm test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
npx tsc -p tsconfig.json
RINGFLOW_RELIABILITY_OUT="$PWD/RELIABILITY.md" exec npx vitest run --project reliability "$@"
