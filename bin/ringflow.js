#!/usr/bin/env node
// The published entry point runs the compiled CLI; `npm run build` produces dist/.
import('../dist/src/daemon/cli.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`ringflow: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
