#!/usr/bin/env bash
# What `npm test` runs: install what the tests need (idempotent, cheap when done), build dist/ (worker
# threads load compiled JS), then every vitest project. Extra arguments go to vitest, e.g.
#   bash scripts/test.sh test/integration/smoke --project integration
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
npx tsc -p tsconfig.json
# Tests are type-checked too (vitest only strips types).
npx tsc -p tsconfig.test.json
# The reliability project (npm run reliability) is not part of the test run.
if [ "$#" -eq 0 ]; then set -- --project unit --project integration; fi
exec npx vitest run "$@"
