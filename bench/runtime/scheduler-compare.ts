/**
 * The scheduling decision: one piscina task per partition in flight (state in shared memory, any
 * worker takes the next task) vs partitions pinned to long-lived workers that sleep on Atomics.wait.
 * Same workload for both: the main thread scatters 16-byte keyed rows into P partition rings with the
 * Partitioner; each partition sums its rows; the result is checked against what was sent.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { BatchView, setValid } from '../../src/runtime/batch.js';
import { Partitioner } from '../../src/runtime/partitioner.js';
import { Ring } from '../../src/runtime/ring.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { computeLayout, type BatchLayout } from '../../src/runtime/schema.js';
import { keyedSchema, result, type BenchResult } from './bench-schema.js';
import { parseRuntimeConfig } from '../../src/runtime/runtime-config.js';

export interface CompareOptions { partitions: number; threads: number; batchRows: number; ringSlots: number; rows: number }

function fillStaging(staging: BatchView, from: number, n: number): void {
  const k = staging.columns[0].values;
  const v = staging.columns[2].values;
  for (let r = 0; r < n; r++) {
    k[r] = Math.imul(from + r, 0x9e3779b1);
    setValid(staging.columns[0].validity, r);
    v[r] = 1;
    setValid(staging.columns[2].validity, r);
  }
  staging.rowCount = n;
}

async function produce(
  layout: BatchLayout, rows: number,
  scatter: (s: BatchView, from: number) => number, writable: () => Promise<void>,
): Promise<void> {
  const staging = BatchView.standalone(layout);
  for (let i = 0; i < rows; i += layout.rowCapacity) {
    const n = Math.min(layout.rowCapacity, rows - i);
    staging.clear();
    fillStaging(staging, i, n);
    for (let at = scatter(staging, 0); at < n; at = scatter(staging, at)) await writable();
  }
}

function totalRows(states: SharedArrayBuffer[]): number {
  return states.reduce((s, b) => s + new Float64Array(b)[0], 0);
}

export async function piscinaPerPartition(o: CompareOptions): Promise<BenchResult> {
  const rt = await Runtime.create({
    config: parseRuntimeConfig({ threads: o.threads, partitions: o.partitions, ringSlots: o.ringSlots, batchRows: o.batchRows }),
    schema: keyedSchema, keyColumn: 'k', processorModuleUrl: new URL('./sum-processor.js', import.meta.url),
    processorOptions: {}, onResult: () => {}, onBatchFailed: (p, s, e) => { throw e; },
  });
  await new Promise((r) => setTimeout(r, 200)); // let the threads come up outside the timing
  const t0 = process.hrtime.bigint();
  await produce(rt.layout, o.rows, (s, f) => rt.scatter(s, f), () => rt.whenWritable());
  await rt.drain();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const states = Array.from({ length: o.partitions }, (_, p) => rt.stateBuffer(p));
  await rt.close();
  const got = totalRows(states);
  if (got !== o.rows) throw new Error(`piscina path processed ${got} of ${o.rows} rows`);
  return result(`piscina, 1 task/partition (${o.partitions} partitions, ${o.threads} threads)`, o.batchRows, got, seconds);
}

export async function pinnedWorkers(o: CompareOptions): Promise<BenchResult> {
  const layout = computeLayout(keyedSchema, o.batchRows);
  const rings = Array.from({ length: o.partitions }, () => Ring.create(layout, o.ringSlots));
  const states = rings.map(() => new SharedArrayBuffer(16));
  const signals = new SharedArrayBuffer(64 * (o.threads + 1));
  const sig = new Int32Array(signals);
  const ownerBell = (p: number) => 16 * ((p % o.threads) + 1);
  const part = new Partitioner(rings, 'k', (p) => {
    const bell = ownerBell(p);
    Atomics.add(sig, bell, 1);
    if (Atomics.load(sig, bell + 1) !== 0) Atomics.notify(sig, bell);
  });
  const url = new URL('./pinned-partition-worker.js', import.meta.url);
  const workers = Array.from({ length: o.threads }, (_, index) => new Worker(url, {
    workerData: { index, threads: o.threads, schema: keyedSchema, batchRows: o.batchRows, rings: rings.map((r) => r.buffer), states, signals },
  }));
  await Promise.all(workers.map((w) => once(w, 'message')));
  const t0 = process.hrtime.bigint();
  await produce(layout, o.rows, (s, f) => part.scatter(s, f), () => rings[part.blockedPartition].waitWritable());
  part.flush();
  const stopped = workers.map((w) => once(w, 'message'));
  Atomics.store(sig, 0, 1);
  for (let t = 0; t < o.threads; t++) { Atomics.add(sig, 16 * (t + 1), 1); Atomics.notify(sig, 16 * (t + 1)); }
  await Promise.all(stopped);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  await Promise.all(workers.map((w) => w.terminate()));
  const got = totalRows(states);
  if (got !== o.rows) throw new Error(`pinned path processed ${got} of ${o.rows} rows`);
  return result(`pinned workers + Atomics.wait (${o.partitions} partitions, ${o.threads} threads)`, o.batchRows, got, seconds);
}
