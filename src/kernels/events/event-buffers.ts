import type { EventBatch } from '../../contracts/index.js';
/**
 * Growable byte buffers that processed events are serialized into during one task, in the EventBatch
 * layout the sink thread takes (src/contracts/index.ts):
 *
 *   lines     |{"event_id":"a",...}\n|{"event_id":"b",...}\n|.....free.....|   lineBytes = 44
 *   lineEnds  |        22            |        44            |..free..|        rows = 2
 *   keys      |a|b|.....free.....|                                            keyBytes = 2
 *   keyEnds   |1|2|..free..|
 *
 * Growth doubles (a copy, amortised over the rows that filled the buffer), never shrinks: a worker's
 * buffers settle at the size of its largest task. `finish()` hands out exact-size copies in fresh
 * ArrayBuffers — one memcpy per task on the worker, which makes each array span its whole buffer, so
 * the result can be transferred (piscina move, then SinkThread.sendEvents) without another copy.
 *
 * One set per worker thread is enough (`threadEventBuffers`): a worker runs one task at a time and a
 * task is synchronous from its first process() to finishTask(), which empties the buffers. `owner` is
 * the serializer that wrote the rows held now: a task that threw half-way leaves its rows behind, and
 * the next serializer to use the buffers must drop them rather than emit them as its own.
 */

const INITIAL_LINE_BYTES = 1 << 16;
const INITIAL_KEY_BYTES = 1 << 14;
const INITIAL_ROWS = 1 << 10;

export class EventBuffers {
  lines = new Uint8Array(INITIAL_LINE_BYTES);
  lineEnds = new Uint32Array(INITIAL_ROWS);
  keys = new Uint8Array(INITIAL_KEY_BYTES);
  keyEnds = new Uint32Array(INITIAL_ROWS);
  lineBytes = 0;
  keyBytes = 0;
  rows = 0;
  owner: object | null = null;

  /** Room for one more row of at most `lineBytes` + `keyBytes` bytes; returns the lines array (maybe new). */
  reserve(lineBytes: number, keyBytes: number): Uint8Array {
    if (this.lineBytes + lineBytes > this.lines.length) this.lines = grown(this.lines, this.lineBytes, this.lineBytes + lineBytes);
    if (this.keyBytes + keyBytes > this.keys.length) this.keys = grown(this.keys, this.keyBytes, this.keyBytes + keyBytes);
    if (this.rows === this.lineEnds.length) {
      this.lineEnds = grown(this.lineEnds, this.rows, this.rows + 1);
      this.keyEnds = grown(this.keyEnds, this.rows, this.rows + 1);
    }
    return this.lines;
  }

  /** Exact-size, transferable copies of what was appended since the last finish/reset; null when empty. */
  finish(): EventBatch | null {
    const n = this.rows;
    if (n === 0) return null;
    const batch: EventBatch = {
      rowCount: n,
      lines: this.lines.slice(0, this.lineBytes),
      lineEnds: this.lineEnds.slice(0, n),
      keys: this.keys.slice(0, this.keyBytes),
      keyEnds: this.keyEnds.slice(0, n),
    };
    this.reset();
    return batch;
  }

  /** Drops what was appended since the last finish (a processor rebuilt after a failure starts clean). */
  reset(): void {
    this.lineBytes = 0;
    this.keyBytes = 0;
    this.rows = 0;
  }
}

function grown<T extends Uint8Array | Uint32Array>(a: T, used: number, needed: number): T {
  let size = a.length * 2;
  while (size < needed) size *= 2;
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a.subarray(0, used));
  return b;
}

let threadBuffers: EventBuffers | null = null;

/** This thread's buffers (see the header for why one set per thread is safe). */
export function threadEventBuffers(): EventBuffers {
  return (threadBuffers ??= new EventBuffers());
}
