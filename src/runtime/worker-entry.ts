/**
 * The piscina worker: one task = drain one partition's ring through that partition's processor.
 *
 * Everything that does not change between tasks (the processor module URL and options, the schema,
 * every ring and state buffer) arrives once as the pool's workerData, so a task message is a few
 * numbers plus the current TaskControl. Processors are cached per partition and rebuilt when the
 * main thread bumps the partition's generation (after a failure: the retry gets a fresh instance
 * over the same shared state).
 */
import { parentPort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import { Ring } from './ring.js';
import { computeLayout, type BatchLayout, type Schema } from './schema.js';
import type { PartitionProcessor, ProcessorModule, TaskControl } from './processor.js';

/** What the runtime hands every worker of its pool (structured-cloned once per thread). */
export interface WorkerSetup {
  runId: string;
  moduleUrl: string;
  processorOptions: unknown;
  schema: Schema;
  batchRows: number;
  partitions: number;
  rings: SharedArrayBuffer[];
  states: SharedArrayBuffer[];
  /** Upper bound of batches one task processes, so one busy partition cannot hold a thread forever. */
  maxBatchesPerTask: number;
}

export interface PartitionTask {
  runId: string;
  partition: number;
  generation: number;
  epoch: number;
  control: TaskControl;
}

/** Key of the message a worker posts (pool 'message' event) just before it exits over a module load failure. */
export const WORKER_LOAD_FAILURE = 'ringflowWorkerLoadFailure';

export interface PartitionTaskResult {
  partition: number;
  epoch: number;
  /** Ring TAIL after the task: every batch with seq < consumedSeq has been processed and released. */
  consumedSeq: number;
  batches: number;
  /** Time this task ran on its worker (ms), for the metrics' worker busy time. */
  busyMs: number;
  output: unknown;
}

interface PartitionEntry {
  generation: number;
  ring: Ring;
  processor: PartitionProcessor;
}

const setup = workerData as WorkerSetup;
let layout: BatchLayout | null = null;
let modulePromise: Promise<ProcessorModule> | null = null;
const entries = new Map<number, PartitionEntry>();

/**
 * The processor module's import starts as soon as the thread does, not at its first task: at start-up
 * the main thread publishes its first batches before the import (the kernel modules, the native module)
 * would be done. A failure is only looked at in the first task.
 */
const moduleImport: Promise<{ m: unknown } | { err: unknown }> | null = setup === undefined || setup === null
  ? null // imported on the main thread for its types and constants
  : import(setup.moduleUrl).then((m) => ({ m }), (err: unknown) => ({ err }));

async function loadModule(): Promise<ProcessorModule> {
  let why: string;
  try {
    const imported = await (moduleImport ?? import(setup.moduleUrl).then((m) => ({ m })));
    if ('err' in imported) throw imported.err;
    const m = imported.m as ProcessorModule & { default?: ProcessorModule };
    const mod = typeof m.createProcessor === 'function' ? m : m.default;
    if (typeof mod?.createProcessor === 'function') return mod;
    why = 'exports no createProcessor (an empty or half-written file?)';
  } catch (err) {
    why = (err as Error)?.message ?? String(err);
  }
  // An ES module that failed to load (or loaded empty) stays so in this thread's module map: `tsc`
  // rewrites dist/ files in place (truncate, then write), and a thread that read one mid-rebuild would
  // fail every later task. Only a fresh thread reads the file again: say why, then end this one;
  // piscina replaces it and the runtime retries the task once (a second failure makes it reject).
  parentPort?.postMessage({ [WORKER_LOAD_FAILURE]: `${setup.moduleUrl}: ${why}` });
  process.exit(1);
}

export default async function runPartitionTask(task: PartitionTask): Promise<PartitionTaskResult> {
  if (task.runId !== setup.runId) throw new Error(`task of run ${task.runId} reached a worker of run ${setup.runId}`);
  const startedMs = performance.now();
  const mod = await (modulePromise ??= loadModule());
  layout ??= computeLayout(setup.schema, setup.batchRows);
  const p = task.partition;
  let entry = entries.get(p);
  if (entry === undefined || entry.generation !== task.generation) {
    const ring = entry?.ring ?? new Ring(layout, setup.rings[p]);
    const processor = mod.createProcessor({
      partition: p, partitions: setup.partitions, layout, options: setup.processorOptions, state: setup.states[p],
    });
    entry = { generation: task.generation, ring, processor };
    entries.set(p, entry);
  }
  const { ring, processor } = entry;
  let batches = 0;
  for (let batch = ring.peek(); batch !== null && batches < setup.maxBatchesPerTask; batch = ring.peek()) {
    // Recorded in shared memory before touching the batch, so even a thread that dies inside the
    // kernel leaves the main thread knowing which batch it was on.
    ring.setCurrentSeq(ring.tail);
    processor.process(batch);
    ring.release();
    batches++;
  }
  ring.setCurrentSeq(-1);
  const output = processor.finishTask(task.control);
  const result: PartitionTaskResult = { partition: p, epoch: task.epoch, consumedSeq: ring.tail, batches, busyMs: performance.now() - startedMs, output };
  const transfer = mod.transferList?.(output) ?? [];
  if (transfer.length === 0) return result;
  // piscina posts result[valueSymbol] with result[transferableSymbol] as the transfer list.
  return move({ [transferableSymbol]: transfer, [valueSymbol]: result }) as unknown as PartitionTaskResult;
}
