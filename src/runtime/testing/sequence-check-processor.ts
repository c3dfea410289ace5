/**
 * A processor for runtime tests: checks, on the worker, that every partition sees its rows exactly
 * once and in order. The producer numbers rows per partition (column `pseq` = 0, 1, 2, ... within
 * the row's partition); the processor keeps the next expected number in the partition's shared
 * state, so the check survives task hops between threads and dead workers, and the test reads the
 * final summary from the state buffer instead of shipping every value back.
 *
 *   state (Float64 x 8):  expectedNext | rows | behind | gapRows | wrongPartition | batches | injected | tasks
 *
 * With `padColumn`, row pseq = q must carry q % 23 bytes (q + j) & 255: checks string copies across
 * slot boundaries (a mismatch counts as wrongPartition, i.e. a row that is not what was sent).
 *
 * `behind` counts rows whose pseq is below the expected one (a duplicate or a reordering); `gapRows`
 * adds up skipped numbers (lost rows). Fault injection throws *before* touching state, which is the
 * re-processing contract the runtime documents for retries.
 */
import { partitionOfFloat64, partitionOfHash, partitionOfInt32 } from '../partitioner.js';
import type { BatchView } from '../batch.js';
import type { PartitionInit, PartitionProcessor, TaskControl } from '../processor.js';

export interface SequenceCheckOptions {
  keyColumn: string;
  seqColumn: string;
  /** Optional string column whose content is derived from pseq (see above). */
  padColumn?: string;
  /** Fault injection on one batch of one partition. */
  fail?: { partition: number; seq: number; mode: 'throw-once' | 'throw-always' | 'exit-once' };
  /** Sleep per batch, to let a fast producer fill the ring. */
  delayMsPerBatch?: number;
}

export interface SequenceCheckSummary {
  partition: number;
  rows: number;
  expectedNext: number;
  behind: number;
  gapRows: number;
  wrongPartition: number;
  batches: number;
  tasks: number;
  closeBeforeMs: number;
}

export const S_EXPECTED_NEXT = 0;
export const S_ROWS = 1;
export const S_BEHIND = 2;
export const S_GAP_ROWS = 3;
export const S_WRONG_PARTITION = 4;
export const S_BATCHES = 5;
export const S_INJECTED = 6;
export const S_TASKS = 7;

/** After the counters: the first row whose key belongs to another partition, as FIRST_WRONG_FIELDS. */
const FIRST_WRONG_AT = 8 * 8;
const FIRST_WRONG_FIELDS = ['key', 'pseq', 'row', 'batchSeq', 'batchRows', 'keyPartition'] as const;

export function stateBytes(): number {
  return FIRST_WRONG_AT + 8 * FIRST_WRONG_FIELDS.length;
}

/** The first wrong-partition row a partition saw, as text for a failure message ('' when none). */
export function firstWrongRow(state: SharedArrayBuffer): string {
  const s = new Float64Array(state, 0, 8);
  if (s[S_WRONG_PARTITION] === 0) return '';
  const v = new Float64Array(state, FIRST_WRONG_AT, FIRST_WRONG_FIELDS.length);
  return FIRST_WRONG_FIELDS.map((f, i) => `${f}=${v[i]}`).join(' ');
}

export function readSummary(partition: number, state: SharedArrayBuffer, closeBeforeMs = Number.NaN): SequenceCheckSummary {
  const s = new Float64Array(state, 0, 8);
  return {
    partition, rows: s[S_ROWS], expectedNext: s[S_EXPECTED_NEXT], behind: s[S_BEHIND], gapRows: s[S_GAP_ROWS],
    wrongPartition: s[S_WRONG_PARTITION], batches: s[S_BATCHES], tasks: s[S_TASKS], closeBeforeMs,
  };
}

export function createProcessor(init: PartitionInit<SequenceCheckOptions>): PartitionProcessor<SequenceCheckSummary> {
  const { partition, partitions, layout, options } = init;
  const s = new Float64Array(init.state, 0, 8);
  const key = layout.byName.get(options.keyColumn)!;
  const seqIndex = layout.byName.get(options.seqColumn)!.index;
  const keyType = key.spec.type;
  // A boolean, not a second string compare per row: under heavy CPU load the per-row
  // \`keyType === 'int32'\` test was seen (Node 20.20, V8 11.3, about 1 run in 10 with a CPU hog) to take the
  // float64 branch for row 0 of a batch, computing partitionOfFloat64 of an int32 key. The rows were
  // right (the key read back equal); only this check's own branch went wrong.
  const keyIsInt32 = keyType === 'int32';
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const fail = options.fail;
  const padIndex = options.padColumn ? layout.byName.get(options.padColumn)!.index : -1;
  const firstWrong = new Float64Array(init.state, FIRST_WRONG_AT, FIRST_WRONG_FIELDS.length);

  return {
    process(batch: BatchView): void {
      if (fail && fail.partition === partition && fail.seq === batch.seq) {
        if (fail.mode === 'throw-always') throw new Error(`injected failure on batch ${batch.seq}`);
        if (s[S_INJECTED] === 0) {
          s[S_INJECTED] = 1;
          if (fail.mode === 'exit-once') process.exit(3);
          throw new Error(`injected one-time failure on batch ${batch.seq}`);
        }
      }
      if (options.delayMsPerBatch) Atomics.wait(sleeper, 0, 0, options.delayMsPerBatch);
      const n = batch.rowCount;
      const seqs = batch.columns[seqIndex].values;
      const kc = batch.columns[key.index];
      let expected = s[S_EXPECTED_NEXT];
      for (let r = 0; r < n; r++) {
        const q = seqs[r];
        if (q > expected) s[S_GAP_ROWS] += q - expected;
        else if (q < expected) s[S_BEHIND]++;
        expected = q + 1;
        const p = keyType === 'string' ? partitionOfHash(kc.hash![2 * r], kc.hash![2 * r + 1], partitions)
          : keyIsInt32 ? partitionOfInt32(kc.values[r] | 0, partitions)
            : partitionOfFloat64(kc.values[r], partitions);
        if (p !== partition) {
          // The first such row is kept for the failure message (it was seen once under heavy load).
          if (s[S_WRONG_PARTITION]++ === 0) firstWrong.set([kc.values[r], q, r, batch.seq, n, p]);
        }
        if (padIndex >= 0 && !padMatches(batch, padIndex, r, q)) s[S_WRONG_PARTITION]++;
      }
      s[S_EXPECTED_NEXT] = expected;
      s[S_ROWS] += n;
      s[S_BATCHES]++;
    },
    finishTask(control: TaskControl): SequenceCheckSummary {
      s[S_TASKS]++;
      return readSummary(partition, init.state, control.closeBeforeMs);
    },
  };
}

/** The pad bytes the test producer writes for row number q. */
export function padLength(q: number): number {
  return q % 23;
}

function padMatches(batch: BatchView, col: number, r: number, q: number): boolean {
  const c = batch.columns[col];
  const start = c.offsets![r];
  const len = c.offsets![r + 1] - start;
  if (len !== padLength(q)) return false;
  for (let j = 0; j < len; j++) if (c.values[start + j] !== ((q + j) & 255)) return false;
  return true;
}
