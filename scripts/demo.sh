#!/usr/bin/env bash
# Quick start, first command: install the npm packages, build, and run the default pipeline on the
# embedded clickstream generator with local file sinks only. No external service is needed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npx tsc -p tsconfig.json
exec node bin/ringflow.js run "$@"
