/**
 * Consumer side of the transfer benchmark, one worker per measurement:
 *  - mode 'ring': drains a Ring (Atomics.wait when empty), sums x + y of every row in place;
 *  - mode 'message': sums x + y of every Float64Array received by postMessage, acks each one.
 * A batch with rowCount 0 (ring) or an empty array (message) ends the run; the worker replies with
 * { rows, sum } so the producer can check nothing was lost.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Ring } from '../../src/runtime/ring.js';
import { computeLayout } from '../../src/runtime/schema.js';
import { xySchema } from './bench-schema.js';

interface Setup { mode: 'ring' | 'message'; ringBuffer?: SharedArrayBuffer; batchRows: number; spinChecks: number }
const setup = workerData as Setup;
const port = parentPort!;

if (setup.mode === 'ring') {
  const ring = new Ring(computeLayout(xySchema, setup.batchRows), setup.ringBuffer!);
  port.postMessage('ready');
  let rows = 0;
  let sum = 0;
  for (;;) {
    const b = ring.peek();
    if (b === null) { ring.waitReadable(1000, setup.spinChecks); continue; }
    const n = b.rowCount;
    if (n === 0) { ring.release(); break; }
    const x = b.columns[0].values;
    const y = b.columns[1].values;
    for (let i = 0; i < n; i++) sum += x[i] + y[i];
    rows += n;
    ring.release();
  }
  port.postMessage({ rows, sum });
} else {
  let rows = 0;
  let sum = 0;
  port.on('message', (a: Float64Array) => {
    const n = a.length >> 1;
    if (n === 0) { port.postMessage({ rows, sum }); port.close(); return; }
    for (let i = 0; i < n; i++) sum += a[i] + a[n + i];
    rows += n;
    port.postMessage(1);
  });
  port.postMessage('ready');
}
