/**
 * Main thread -> one worker: 16-byte rows (x, y float64) through a shared-memory ring vs postMessage
 * of the same columns, across batch sizes. Both sides do the same work per row (producer writes x, y;
 * consumer sums them); both are bounded to `slots` batches in flight (ring slots vs message credits),
 * so neither buffers without limit.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Ring } from '../../src/runtime/ring.js';
import { computeLayout } from '../../src/runtime/schema.js';
import { result, xySchema, type BenchResult } from './bench-schema.js';

const workerUrl = new URL('./transfer-consumer-worker.js', import.meta.url);

function expectedSum(rows: number, batchRows: number): number {
  // x = i, y = 0.5: per batch sum of (i + 0.5) for i < n
  let s = 0;
  for (let done = 0; done < rows; done += batchRows) {
    const n = Math.min(batchRows, rows - done);
    s += (n * (n - 1)) / 2 + 0.5 * n;
  }
  return s;
}

async function start(workerData: object): Promise<Worker> {
  const w = new Worker(workerUrl, { workerData });
  const [msg] = await once(w, 'message');
  if (msg !== 'ready') throw new Error(`consumer said ${String(msg)}`);
  return w;
}

export async function ringTransfer(batchRows: number, batches: number, spinChecks: number, slots = 8): Promise<BenchResult> {
  const layout = computeLayout(xySchema, batchRows);
  const ring = Ring.create(layout, slots);
  const w = await start({ mode: 'ring', ringBuffer: ring.buffer, batchRows, spinChecks });
  const done = once(w, 'message');
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    let slot = ring.tryAcquire();
    while (slot === null) {
      await ring.waitWritable();
      slot = ring.tryAcquire();
    }
    const x = slot.columns[0].values;
    const y = slot.columns[1].values;
    for (let i = 0; i < batchRows; i++) { x[i] = i; y[i] = 0.5; }
    slot.rowCount = batchRows;
    ring.publish();
  }
  let end = ring.tryAcquire();
  while (end === null) { await ring.waitWritable(); end = ring.tryAcquire(); }
  end.rowCount = 0;
  ring.publish();
  const [{ rows, sum }] = (await done) as [{ rows: number; sum: number }];
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await w.terminate();
  check(rows, sum, batchRows * batches, batchRows);
  return result(`ring, consumer ${spinChecks ? `spins ${spinChecks} checks then ` : ''}Atomics.wait`, batchRows, rows, seconds);
}

export async function messageTransfer(batchRows: number, batches: number, credits = 8): Promise<BenchResult> {
  const w = await start({ mode: 'message', batchRows });
  let inFlight = 0;
  let wake: (() => void) | null = null;
  let final: { rows: number; sum: number } | null = null;
  const finished = new Promise<void>((resolve) => {
    w.on('message', (m: number | { rows: number; sum: number }) => {
      if (typeof m === 'number') { inFlight--; const f = wake; wake = null; f?.(); } else { final = m; resolve(); }
    });
  });
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    while (inFlight >= credits) await new Promise<void>((r) => { wake = r; });
    // A fresh array per batch: structured clone copies it, and the producer may not reuse a
    // buffer it has handed over (that is what the ring's slots make possible).
    const a = new Float64Array(2 * batchRows);
    for (let i = 0; i < batchRows; i++) { a[i] = i; a[batchRows + i] = 0.5; }
    w.postMessage(a);
    inFlight++;
  }
  w.postMessage(new Float64Array(0));
  await finished;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await w.terminate();
  const f = final as unknown as { rows: number; sum: number };
  check(f.rows, f.sum, batchRows * batches, batchRows);
  return result('postMessage (structured clone)', batchRows, f.rows, seconds);
}

function check(rows: number, sum: number, expectedRows: number, batchRows: number): void {
  if (rows !== expectedRows || sum !== expectedSum(rows, batchRows)) {
    throw new Error(`consumer saw ${rows} rows / sum ${sum}, expected ${expectedRows} / ${expectedSum(expectedRows, batchRows)}`);
  }
}

/** Batches per measurement: enough rows to take a fraction of a second, bounded for tiny batches. */
export function batchesFor(batchRows: number, targetRows: number): number {
  return Math.max(200, Math.min(50_000, Math.ceil(targetRows / batchRows)));
}
