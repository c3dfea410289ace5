/**
 * Turns one fetched kafkajs batch (one partition) into one NDJSON chunk without an object per
 * event: message values are copied back to back into a buffer of a small pool, with a '\n' added
 * wherever a value does not already end in one, so every chunk ends with a complete line. A value
 * may hold one event or many lines. Runs on the consumer thread; the buffer then moves to the main
 * thread (postMessage transfer) and comes back through recycle() once the pipeline handled it.
 *
 *   messages  [ {"a":1} ] [ {"a":2}\n{"a":3}\n ] [ null ] [ {"a":4} ]
 *   buffer    {"a":1}\n{"a":2}\n{"a":3}\n{"a":4}\n | unused ...
 *             ^ 0                                  ^ length
 *
 * Offsets stay coarse: a chunk carries only the first offset and the end (last + 1).
 *
 * A message may instead carry a whole record batch undecoded (record-block.ts, how the consumer
 * thread receives plain batches); its values are appended by walking the records, the same rules
 * applied per record.
 */
import type { KafkaMessage } from 'kafkajs';
import { appendRecordValues, blockBytesBound, RECORD_BLOCK, type CopiedSpan, type RecordBlock } from './record-block.js';

const NEWLINE = 0x0a;
/** Smallest buffer allocated, so tiny batches do not churn the pool. */
const MIN_BUFFER_BYTES = 64 * 1024;

export interface BuiltChunk {
  /** Owned by the caller until handed back through recycle(). */
  buffer: ArrayBuffer;
  /** Bytes used, from 0. */
  length: number;
  /** Offset of the first message included. */
  startOffset: number;
  /** Last message offset + 1 (the Kafka commit position for "all of this chunk"). */
  endOffset: number;
}

function blockOf(m: KafkaMessage): RecordBlock | null {
  return (m as Partial<Record<typeof RECORD_BLOCK, RecordBlock>>)[RECORD_BLOCK] ?? null;
}

function firstOffsetOf(m: KafkaMessage): number {
  return blockOf(m)?.firstOffset ?? Number(m.offset);
}

export class KafkaChunkBuilder {
  private readonly free: ArrayBuffer[] = [];
  /** Where the first record at or above the cut was, per build() (reused: no object per call). */
  private readonly span: CopiedSpan = { firstOffset: -1 };

  /** @param maxPooledBuffers buffers kept for reuse; more than the chunks ever outstanding is waste. */
  constructor(private readonly maxPooledBuffers = 8) {}

  /**
   * The records at offsets >= `skipBelow` (records already delivered before a rebalance, or below
   * the offset a fetch asked for, are dropped), or null when none is left.
   */
  build(messages: readonly KafkaMessage[], skipBelow: number): BuiltChunk | null {
    // A record block's offset is its batch's last one, so this is the end for both shapes.
    const endOffset = Number(messages[messages.length - 1].offset) + 1;
    if (endOffset <= skipBelow) return null;
    let first = 0;
    while (Number(messages[first].offset) < skipBelow) first++;

    let total = 0;
    for (let i = first; i < messages.length; i++) {
      const block = blockOf(messages[i]);
      if (block !== null) total += blockBytesBound(block);
      else total += (messages[i].value?.length ?? -1) + 1;
    }
    const buffer = this.take(total);
    const out = new Uint8Array(buffer);
    const span = this.span;
    span.firstOffset = -1;
    let at = 0;
    for (let i = first; i < messages.length; i++) {
      const m = messages[i];
      const block = blockOf(m);
      if (block !== null) {
        at = appendRecordValues(block, skipBelow, out, at, span);
        continue;
      }
      if (span.firstOffset < 0) span.firstOffset = Number(m.offset);
      const v = m.value;
      if (!v || v.length === 0) continue;
      out.set(v, at);
      at += v.length;
      if (v[v.length - 1] !== NEWLINE) out[at++] = NEWLINE;
    }
    // Only a compacted block can leave no record at or above the cut while its end is above it.
    const startOffset = span.firstOffset >= 0 ? span.firstOffset : Math.max(skipBelow, firstOffsetOf(messages[first]));
    return { buffer, length: at, startOffset, endOffset };
  }

  /** A buffer from build() comes back (after its round trip to the main thread). */
  recycle(buffer: ArrayBuffer): void {
    if (buffer.byteLength > 0 && this.free.length < this.maxPooledBuffers) this.free.push(buffer);
  }

  /** Buffers waiting in the pool (for tests). */
  get pooledBuffers(): number {
    return this.free.length;
  }

  private take(minBytes: number): ArrayBuffer {
    for (let i = this.free.length - 1; i >= 0; i--) {
      if (this.free[i].byteLength >= minBytes) {
        const found = this.free[i];
        this.free[i] = this.free[this.free.length - 1];
        this.free.pop();
        return found;
      }
    }
    // None fits: drop the smallest pooled one so the pool drifts towards the batch size in use.
    if (this.free.length > 0) {
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i].byteLength < this.free[smallest].byteLength) smallest = i;
      this.free[smallest] = this.free[this.free.length - 1];
      this.free.pop();
    }
    // Power-of-two sizes, so one grown buffer fits the following batches of a similar size.
    let size = MIN_BUFFER_BYTES;
    while (size < minBytes) size *= 2;
    return new ArrayBuffer(size);
  }
}
