/**
 * The pinned alternative: a long-lived worker owns partitions p with p % threads === index and polls
 * their rings; with all of them empty it sleeps on its doorbell (Atomics.wait), which the producer
 * rings after each publish. Runs the same sum processor as the piscina path, until a stop flag.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Ring } from '../../src/runtime/ring.js';
import { computeLayout, type Schema } from '../../src/runtime/schema.js';
import { createProcessor } from './sum-processor.js';

interface Setup {
  index: number; threads: number; schema: Schema; batchRows: number;
  rings: SharedArrayBuffer[]; states: SharedArrayBuffer[];
  /** Int32: [0] stop flag, [16 * (index + 1)] doorbell of worker index, [16 * (index + 1) + 1] sleeping. */
  signals: SharedArrayBuffer;
}
const s = workerData as Setup;
const layout = computeLayout(s.schema, s.batchRows);
const sig = new Int32Array(s.signals);
const bell = 16 * (s.index + 1);
const mine: { ring: Ring; proc: ReturnType<typeof createProcessor> }[] = [];
for (let p = s.index; p < s.rings.length; p += s.threads) {
  mine.push({
    ring: new Ring(layout, s.rings[p]),
    proc: createProcessor({ partition: p, partitions: s.rings.length, layout, options: {}, state: s.states[p] }),
  });
}
parentPort!.postMessage('ready');
for (;;) {
  const seen = Atomics.load(sig, bell);
  let worked = false;
  for (const m of mine) {
    for (let b = m.ring.peek(); b !== null; b = m.ring.peek()) {
      m.proc.process(b);
      m.ring.release();
      worked = true;
    }
  }
  if (worked) continue;
  if (Atomics.load(sig, 0) !== 0) break;
  Atomics.store(sig, bell + 1, 1);
  Atomics.wait(sig, bell, seen, 1000);
  Atomics.store(sig, bell + 1, 0);
}
parentPort!.postMessage('done');
