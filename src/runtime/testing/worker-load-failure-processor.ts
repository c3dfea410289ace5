/**
 * A processor module for runtime tests that cannot be loaded on a worker thread: its top level throws
 * there (as a half-written dist/ file from a concurrent rebuild would), while the main thread can
 * still import it to size the partition state. Every task of every partition therefore fails outside
 * process(), which the runtime must turn into an error instead of retrying forever.
 */
import { isMainThread } from 'node:worker_threads';
import type { PartitionInit, PartitionProcessor } from '../processor.js';

if (!isMainThread) throw new Error('injected failure while loading the processor module on a worker thread');

export function stateBytes(): number {
  return 8;
}

export function createProcessor(_init: PartitionInit): PartitionProcessor<null> {
  return { process: () => {}, finishTask: () => null };
}
