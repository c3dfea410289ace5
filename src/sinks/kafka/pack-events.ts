/**
 * Turns event batches into Kafka messages.
 *
 * One event per message (eventsPerMessage = 1) is the plain keyed layout. kafkajs spends most of its
 * time per message (encoding), not per byte (ARCHITECTURE.md, "Measurements", "Kafka"), so the sink
 * can pack up to N NDJSON lines into one message. Packing keeps the keyed guarantee that matters — every
 * event of a key lands in the partition its key maps to, in order — by computing that partition as the
 * Java client and kafkajs' default partitioner do (murmur2 of the key) and setting it explicitly; the message then
 * carries no key (it holds many). ringflow's Kafka source reads many NDJSON lines per message.
 * Both layouts take slices (event-slices.ts) already bounded to one produce request.
 */
import type { Message, PartitionMetadata } from 'kafkajs';
import type { EventSlice } from './event-slices.js';

/**
 * MurmurHash2 as the Java client's Utils.murmur2 computes it (seed 0x9747b28c), over key bytes in
 * place: the partition a keyed producer would choose is `(murmur2 & 0x7fffffff) % partitions`.
 * Checked bit for bit against kafkajs' DefaultPartitioner in test/unit/sinks/pack-events.test.ts.
 */
export function murmur2(bytes: Uint8Array, start: number, end: number): number {
  const m = 0x5bd1e995;
  const length = end - start;
  let h = (0x9747b28c ^ length) | 0;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = end - i;
  if (tail === 3) h ^= bytes[i + 2] << 16;
  if (tail >= 2) h ^= bytes[i + 1] << 8;
  if (tail >= 1) {
    h ^= bytes[i];
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export const keyPartition = (bytes: Uint8Array, start: number, end: number, partitions: number): number =>
  (murmur2(bytes, start, end) & 0x7fffffff) % partitions;

/** Views of each line (without '\n') and key: no copy, but one Buffer pair per event (kafkajs needs them). */
export function oneEventPerMessage(slices: readonly EventSlice[]): Message[] {
  const messages: Message[] = [];
  for (const { batch: b, from, to } of slices) {
    const lines = Buffer.from(b.lines.buffer, b.lines.byteOffset, b.lines.byteLength);
    const keys = Buffer.from(b.keys.buffer, b.keys.byteOffset, b.keys.byteLength);
    let lineStart = from === 0 ? 0 : b.lineEnds[from - 1];
    let keyStart = from === 0 ? 0 : b.keyEnds[from - 1];
    for (let i = from; i < to; i++) {
      const lineEnd = b.lineEnds[i];
      const keyEnd = b.keyEnds[i];
      const valueEnd = lineEnd > lineStart && lines[lineEnd - 1] === 0x0a ? lineEnd - 1 : lineEnd;
      messages.push({ key: keys.subarray(keyStart, keyEnd), value: lines.subarray(lineStart, valueEnd) });
      lineStart = lineEnd;
      keyStart = keyEnd;
    }
  }
  return messages;
}

interface OpenMessage {
  parts: Buffer[];
  bytes: number;
}

/**
 * Groups lines by the partition of their key, at most `eventsPerMessage` lines (each ending in '\n')
 * and at most `maxMessageBytes` of value per message (a line longer than that alone is still one
 * message: the request budget, checked by the caller, is what refuses it), preserving input order
 * within each partition.
 */
export function packEventsByPartition(
  slices: readonly EventSlice[],
  partitionMetadata: PartitionMetadata[],
  eventsPerMessage: number,
  maxMessageBytes: number,
): Message[] {
  const partitions = partitionMetadata.length;
  const open = new Map<number, OpenMessage>();
  const messages: Message[] = [];
  const emit = (partition: number, m: OpenMessage) => {
    messages.push({ partition, value: Buffer.concat(m.parts, m.bytes) });
    m.parts = [];
    m.bytes = 0;
  };
  for (const { batch: b, from, to } of slices) {
    const lines = Buffer.from(b.lines.buffer, b.lines.byteOffset, b.lines.byteLength);
    let lineStart = from === 0 ? 0 : b.lineEnds[from - 1];
    let keyStart = from === 0 ? 0 : b.keyEnds[from - 1];
    for (let i = from; i < to; i++) {
      const lineEnd = b.lineEnds[i];
      const partition = keyPartition(b.keys, keyStart, b.keyEnds[i], partitions);
      let m = open.get(partition);
      if (!m) open.set(partition, (m = { parts: [], bytes: 0 }));
      const lineBytes = lineEnd - lineStart;
      if (m.parts.length > 0 && m.bytes + lineBytes > maxMessageBytes) emit(partition, m);
      m.parts.push(lines.subarray(lineStart, lineEnd));
      m.bytes += lineBytes;
      if (m.parts.length === eventsPerMessage) emit(partition, m);
      lineStart = lineEnd;
      keyStart = b.keyEnds[i];
    }
  }
  for (const [partition, m] of open) if (m.parts.length > 0) emit(partition, m);
  return messages;
}
