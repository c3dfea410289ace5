/**
 * Turns one fetched kafkajs batch (one partition) into one NDJSON chunk without an object per
 * event: message values are copied back to back into a per-partition scratch buffer, with a '\n'
 * added only where a value does not already end in one. A value may hold one event or many
 * lines. A batch of a single message is handed over without a copy.
 *
 *   messages  [ {"a":1} ] [ {"a":2}\n{"a":3}\n ] [ null ] [ {"a":4} ]
 *   chunk      {"a":1}\n{"a":2}\n{"a":3}\n{"a":4}\n
 *
 * Offsets stay coarse: a chunk carries only the first offset and the end (last + 1).
 */
import type { KafkaMessage } from 'kafkajs';

const NEWLINE = 0x0a;

export interface BatchBytes {
  bytes: Uint8Array;
  /** Offset of the first message included. */
  startOffset: number;
  /** Last message offset + 1 (the Kafka commit position for "all of this chunk"). */
  endOffset: number;
}

export class KafkaChunkBuilder {
  private readonly scratch = new Map<number, Uint8Array>();
  private static readonly EMPTY = new Uint8Array(0);

  /**
   * Bytes of the messages at offsets >= `skipBelow` (messages already delivered before a
   * rebalance are dropped), or null when every message is below it.
   */
  build(partition: number, messages: readonly KafkaMessage[], skipBelow: number): BatchBytes | null {
    const last = messages[messages.length - 1];
    const endOffset = Number(last.offset) + 1;
    if (endOffset <= skipBelow) return null;
    let first = 0;
    if (skipBelow >= 0) while (Number(messages[first].offset) < skipBelow) first++;
    const startOffset = Number(messages[first].offset);

    if (first === messages.length - 1) {
      const value = last.value;
      return { bytes: value && value.length > 0 ? value : KafkaChunkBuilder.EMPTY, startOffset, endOffset };
    }

    let total = 0;
    for (let i = first; i < messages.length; i++) {
      const v = messages[i].value;
      if (v) total += v.length + 1;
    }
    let buf = this.scratch.get(partition);
    if (!buf || buf.length < total) {
      buf = new Uint8Array(Math.max(total, buf ? buf.length * 2 : 64 * 1024));
      this.scratch.set(partition, buf);
    }
    let at = 0;
    for (let i = first; i < messages.length; i++) {
      const v = messages[i].value;
      if (!v || v.length === 0) continue;
      buf.set(v, at);
      at += v.length;
      if (v[v.length - 1] !== NEWLINE) buf[at++] = NEWLINE;
    }
    return { bytes: buf.subarray(0, at), startOffset, endOffset };
  }

  /** Free the scratch buffer of a partition this consumer no longer owns. */
  forget(partition: number): void {
    this.scratch.delete(partition);
  }
}
