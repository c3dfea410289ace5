/**
 * The contract between the runtime and the stateful kernels that run on worker threads.
 *
 * A processor module is a compiled JS file that piscina workers import. The runtime (main thread)
 * calls `stateBytes` once per partition and allocates that state in a SharedArrayBuffer, so the
 * partition's state outlives any one worker: whichever worker runs the partition's next task maps
 * the same memory. At most one task per partition is in flight, so the state has one writer at a time.
 */
import type { BatchLayout } from './schema.js';
import type { BatchView } from './batch.js';

export interface PartitionInit<Options = unknown> {
  partition: number;
  partitions: number;
  layout: BatchLayout;
  options: Options;
  /** The partition's state, allocated by the runtime with `stateBytes(options)` bytes, zero-filled. */
  state: SharedArrayBuffer;
}

/** Sent with every task: what the main thread knows that kernels need (e.g. the global watermark). */
export interface TaskControl {
  /** Windows ending at or before this event time are closed: hand over their partial state. */
  closeBeforeMs: number;
  /** True on the last task of a run: hand over everything still open. */
  final: boolean;
}

export interface PartitionProcessor<Output = unknown> {
  /** Process one batch in place. Batches arrive in the order the producer published them. */
  process(batch: BatchView): void;
  /** Called once at the end of every task; its (small, structured-cloneable) result goes back to the main thread. */
  finishTask(control: TaskControl): Output;
}

export interface ProcessorModule<Options = unknown, Output = unknown> {
  stateBytes(options: Options, layout: BatchLayout): number;
  createProcessor(init: PartitionInit<Options>): PartitionProcessor<Output>;
  /** Buffers inside a task's output that may be moved (not copied) to the main thread; they are detached here. */
  transferList?(output: Output): ArrayBuffer[];
}
