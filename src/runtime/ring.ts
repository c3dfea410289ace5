/**
 * A single-producer / single-consumer ring of columnar batch slots in one SharedArrayBuffer.
 *
 * The main thread is the only producer of every ring; at most one consumer (one worker task, or the
 * main thread while no task is in flight) reads it at a time. Sequence numbers are free-running
 * Int32 counters compared with `(a - b) | 0`, so they may wrap; slot index = seq & mask.
 *
 *   SharedArrayBuffer (CONTROL_BYTES + slots x slotBytes)
 *   +---------------------------------------------------------------+  byte 0
 *   | line 0 (producer writes): HEAD = batches published,           |
 *   |                           PRODUCER_WAITING (# awaiting TAIL)  |
 *   +---------------------------------------------------------------+  byte 64
 *   | line 1 (consumer writes): TAIL = batches released,            |
 *   |                           CONSUMER_WAITING (# waiting HEAD),   |
 *   |                           CURRENT_SEQ (batch being processed   |
 *   |                           or -1; survives a dead worker)       |
 *   +---------------------------------------------------------------+  byte 128
 *   | line 2 (read-only):       SLOT_COUNT, SLOT_BYTES, MAGIC        |
 *   +---------------------------------------------------------------+  byte 192
 *   | slot 0: one batch, computeLayout() bytes (header + columns)    |
 *   | slot 1                                                        |
 *   | ...   slot (seq & mask) holds batch number seq                 |
 *   +---------------------------------------------------------------+
 *
 * Each side writes only its own cache line, so the producer filling slots and the consumer releasing
 * them do not bounce one line between cores. The *_WAITING counts let each side skip Atomics.notify
 * (a lock on V8's waiter list) when nobody sleeps: the sleeper raises its count, then waits on the
 * counter's value it last saw, so a publish/release between the check and the wait is not lost.
 */
import { BatchView } from './batch.js';
import type { BatchLayout } from './schema.js';
import { ConfigError, RingflowError } from '../errors.js';

const INTS_PER_LINE = 16;
export const HEAD = 0;
export const PRODUCER_WAITING = 1;
export const TAIL = INTS_PER_LINE;
export const CONSUMER_WAITING = INTS_PER_LINE + 1;
export const CURRENT_SEQ = INTS_PER_LINE + 2;
const SLOT_COUNT = 2 * INTS_PER_LINE;
const SLOT_BYTES = 2 * INTS_PER_LINE + 1;
const MAGIC = 2 * INTS_PER_LINE + 2;
const MAGIC_VALUE = 0x52494e47; // "RING"
export const CONTROL_BYTES = 3 * 64;

/** Atomics.waitAsync exists on Node >= 16, but tsconfig's lib (ES2022) does not declare it. */
type WaitAsync = (a: Int32Array, index: number, value: number, timeoutMs?: number) =>
  { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

export function ringBytes(layout: BatchLayout, slotCount: number): number {
  return CONTROL_BYTES + slotCount * layout.slotBytes;
}

export class Ring {
  readonly layout: BatchLayout;
  readonly buffer: SharedArrayBuffer;
  readonly slotCount: number;
  readonly mask: number;
  /** The raw control block; exported indices (HEAD, TAIL, ...) address it. */
  readonly control: Int32Array;
  /** One view per slot, built once: acquiring or reading a batch allocates nothing. */
  private readonly slots: BatchView[];

  /** Create a fresh ring (producer side, main thread). */
  static create(layout: BatchLayout, slotCount: number): Ring {
    if (!Number.isInteger(slotCount) || slotCount < 2 || slotCount > 1024 || (slotCount & (slotCount - 1)) !== 0) {
      throw new ConfigError('runtime.ringSlots', `must be a power of two from 2 to 1024, got ${slotCount}`);
    }
    const buffer = new SharedArrayBuffer(ringBytes(layout, slotCount));
    const control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    control[SLOT_COUNT] = slotCount;
    control[SLOT_BYTES] = layout.slotBytes;
    control[CURRENT_SEQ] = -1;
    Atomics.store(control, MAGIC, MAGIC_VALUE);
    return new Ring(layout, buffer);
  }

  /** Map an existing ring (consumer side, any thread) from its buffer. */
  constructor(layout: BatchLayout, buffer: SharedArrayBuffer) {
    this.layout = layout;
    this.buffer = buffer;
    this.control = new Int32Array(buffer, 0, CONTROL_BYTES / 4);
    if (Atomics.load(this.control, MAGIC) !== MAGIC_VALUE || this.control[SLOT_BYTES] !== layout.slotBytes) {
      throw new RingflowError('RING_MISMATCH', 'buffer is not a ring of this batch layout');
    }
    this.slotCount = this.control[SLOT_COUNT];
    this.mask = this.slotCount - 1;
    this.slots = [];
    for (let i = 0; i < this.slotCount; i++) {
      this.slots.push(new BatchView(layout, buffer, CONTROL_BYTES + i * layout.slotBytes));
    }
  }

  get sizeBytes(): number { return this.buffer.byteLength; }
  /** Batches published so far (free-running Int32). */
  get head(): number { return Atomics.load(this.control, HEAD); }
  /** Batches released so far (free-running Int32). */
  get tail(): number { return Atomics.load(this.control, TAIL); }
  /** Published batches not yet released. */
  get pending(): number { return (Atomics.load(this.control, HEAD) - Atomics.load(this.control, TAIL)) | 0; }

  // ---- producer -------------------------------------------------------------------------------

  /** The next free slot, cleared and stamped with its sequence number, or null when the ring is full. */
  tryAcquire(): BatchView | null {
    const head = this.control[HEAD]; // only the producer writes HEAD: a plain read is current
    if (((head - Atomics.load(this.control, TAIL)) | 0) >= this.slotCount) return null;
    const view = this.slots[head & this.mask];
    view.clear();
    view.seq = head;
    return view;
  }

  /** Hand the slot returned by the last tryAcquire() to the consumer. */
  publish(): void {
    // Atomics.add is a full barrier: the batch's plain writes are visible before HEAD moves.
    Atomics.add(this.control, HEAD, 1);
    if (Atomics.load(this.control, CONSUMER_WAITING) !== 0) Atomics.notify(this.control, HEAD);
  }

  /**
   * Resolves once the ring has a free slot. Never blocks the event loop: Atomics.waitAsync parks a
   * promise on TAIL that the consumer's release() wakes.
   */
  async waitWritable(): Promise<void> {
    for (;;) {
      const tail = Atomics.load(this.control, TAIL);
      if (((this.control[HEAD] - tail) | 0) < this.slotCount) return;
      // A count, not a flag: several awaiting callers must not clear each other's request.
      Atomics.add(this.control, PRODUCER_WAITING, 1);
      // waitAsync compares TAIL with what we saw, so a release in between resolves at once.
      const res = waitAsync(this.control, TAIL, tail);
      if (res.async) await res.value;
      Atomics.sub(this.control, PRODUCER_WAITING, 1);
    }
  }

  // ---- consumer -------------------------------------------------------------------------------

  /** The oldest published, unreleased batch, or null when the ring is empty. */
  peek(): BatchView | null {
    const tail = this.control[TAIL]; // only the (single) consumer writes TAIL
    if (tail === Atomics.load(this.control, HEAD)) return null;
    return this.slots[tail & this.mask];
  }

  /** Give the oldest batch's slot back to the producer. */
  release(): void {
    Atomics.add(this.control, TAIL, 1);
    if (Atomics.load(this.control, PRODUCER_WAITING) !== 0) Atomics.notify(this.control, TAIL);
  }

  /**
   * Blocking wait for a published batch (worker threads only: Atomics.wait is not allowed on the main
   * thread). Checks HEAD `spinChecks` times first: when batches arrive every few microseconds, a
   * futex sleep + wake per batch would cost more than the batch. Returns false on timeout.
   */
  waitReadable(timeoutMs: number, spinChecks = 0): boolean {
    const tail = this.control[TAIL];
    for (let i = 0; i < spinChecks; i++) if (Atomics.load(this.control, HEAD) !== tail) return true;
    const head = Atomics.load(this.control, HEAD);
    if (head !== tail) return true;
    Atomics.add(this.control, CONSUMER_WAITING, 1);
    const r = Atomics.wait(this.control, HEAD, head, timeoutMs);
    Atomics.sub(this.control, CONSUMER_WAITING, 1);
    return r !== 'timed-out' || Atomics.load(this.control, HEAD) !== tail;
  }

  /** Record which batch the consumer works on (-1 = none), so a crash can be attributed to it. */
  setCurrentSeq(seq: number): void { Atomics.store(this.control, CURRENT_SEQ, seq); }
  get currentSeq(): number { return Atomics.load(this.control, CURRENT_SEQ); }
}
