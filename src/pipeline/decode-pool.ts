/**
 * The decode pool: stateless NDJSON decode tasks on their own piscina pool, so the main thread only
 * cuts input into pieces, runs the late gate and scatters (see ingest-stream.ts).
 *
 * Why a second pool and not a task kind on the runtime's pool: decode tasks are stateless and have no
 * partition, so the runtime's per-partition retry and control bookkeeping does not apply; and the main
 * thread waits on them in input order, so they must not queue FIFO behind partition tasks. The extra
 * threads cost nothing while idle (they sleep in Atomics.wait); when both pools are busy the OS
 * shares the cores, which is the point: the work that used to serialize on the main thread now
 * spreads over every core.
 *
 * Memory, fixed at start: `slots` x (pieceBytes input + one batch of rowsPerSlot rows).
 *
 *   slot i   inputs[i]  [ NDJSON bytes of one piece: complete lines ......... | unused ]
 *            batches[i] [ header | columns (schema.ts layout, rowsPerSlot rows)          ]
 *   done     Int32[slots]: ticket of the last task finished on slot i (release/acquire pair)
 */
import type { Piscina } from 'piscina';
import type { InputConfig } from '../kernels/input/config.js';
import { KernelError } from '../errors.js';
import { BatchView } from '../runtime/batch.js';
import type { DecodeTask, DecodeTaskResult, DecodeWorkerSetup } from './decode-worker.js';
import { computeLayout, type Schema } from '../runtime/schema.js';
import { fixedThreadPool } from '../runtime/worker-path.js';

export interface DecodePoolOptions {
  threads: number;
  /** Pieces in flight at once. */
  slots: number;
  /** Input bytes per piece (a line longer than this is decoded on the main thread). */
  pieceBytes: number;
  /** Rows one slot's batch holds; a piece with more rows is decoded in several tasks. */
  rowsPerSlot: number;
}

export interface DecodeSlot {
  readonly index: number;
  /** The piece's bytes (main thread writes them before run(), reads them for late rows' raw). */
  readonly input: Uint8Array;
  /** The decoded rows (valid after run() resolves, until the next run() on this slot). */
  readonly batch: BatchView;
}

export class DecodePool {
  readonly slots: readonly DecodeSlot[];
  readonly options: DecodePoolOptions;
  private readonly pool: Piscina;
  private readonly done: Int32Array;
  private ticket = 0;
  private closed = false;

  constructor(input: InputConfig, schema: Schema, options: DecodePoolOptions) {
    this.options = options;
    const layout = computeLayout(schema, options.rowsPerSlot);
    const inputs: SharedArrayBuffer[] = [];
    const batches: SharedArrayBuffer[] = [];
    const slots: DecodeSlot[] = [];
    for (let i = 0; i < options.slots; i++) {
      inputs.push(new SharedArrayBuffer(options.pieceBytes));
      batches.push(new SharedArrayBuffer(layout.slotBytes));
      slots.push({ index: i, input: new Uint8Array(inputs[i]), batch: new BatchView(layout, batches[i], 0) });
    }
    this.slots = slots;
    const doneBuffer = new SharedArrayBuffer(4 * options.slots);
    this.done = new Int32Array(doneBuffer);
    const setup: DecodeWorkerSetup = { input, rowsPerSlot: options.rowsPerSlot, inputs, batches, done: doneBuffer };
    this.pool = fixedThreadPool(import.meta.url, './decode-worker', options.threads, setup);
    // A thread dying outside a task is replaced by piscina; the task in it rejects and fails the push.
    this.pool.on('error', () => undefined);
  }

  /** Bytes of all slots (inputs + batches). */
  get memoryBytes(): number {
    const s = this.slots[0];
    return this.slots.length * (s.input.byteLength + s.batch.layout.slotBytes);
  }

  /** Decode slot.input[start, end) into slot.batch (cleared first); `firstLine` numbers the line at start. */
  async run(slot: DecodeSlot, start: number, end: number, firstLine: number, final: boolean): Promise<DecodeTaskResult> {
    if (this.closed) throw new KernelError('decode pool is closed');
    const ticket = (this.ticket = (this.ticket + 1) | 0);
    const task: DecodeTask = { slot: slot.index, start, end, firstLine, final, ticket };
    let result: DecodeTaskResult;
    try {
      result = (await this.pool.run(task)) as DecodeTaskResult;
    } catch (err) {
      throw new KernelError(`decode task on slot ${slot.index} failed: ${(err as Error)?.message ?? err}`, { cause: err });
    }
    // Acquire: pairs with the worker's Atomics.store after its batch writes.
    if (Atomics.load(this.done, slot.index) !== ticket) throw new KernelError(`decode slot ${slot.index}: result without its batch`);
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.destroy();
  }
}
