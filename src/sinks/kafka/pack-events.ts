/**
 * Turns event batches into Kafka messages.
 *
 * One event per message (eventsPerMessage = 1) is the plain keyed layout. kafkajs spends most of its
 * time per message (encoding, CRC), not per byte: measured here with an idempotent producer, ~23K
 * messages/s at one event each vs ~160K events/s at 64 events per message. So the sink can pack
 * up to N NDJSON lines into one message. Packing keeps the keyed guarantee that matters — every
 * event of a key lands in the partition its key maps to, in order — by computing that partition as the
 * Java client and kafkajs' default partitioner do (murmur2 of the key) and setting it explicitly; the message then
 * carries no key (it holds many). ringflow's Kafka source reads many NDJSON lines per message.
 */
import type { Message, PartitionMetadata } from 'kafkajs';
import type { EventBatch } from '../../contracts/index.js';

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
export function oneEventPerMessage(batches: readonly EventBatch[]): Message[] {
  const messages: Message[] = [];
  for (const b of batches) {
    const lines = Buffer.from(b.lines.buffer, b.lines.byteOffset, b.lines.byteLength);
    const keys = Buffer.from(b.keys.buffer, b.keys.byteOffset, b.keys.byteLength);
    let lineStart = 0;
    let keyStart = 0;
    for (let i = 0; i < b.rowCount; i++) {
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

/**
 * Groups lines by the partition of their key, `eventsPerMessage` lines (each ending in '\n') per
 * message, preserving input order within each partition.
 */
export function packEventsByPartition(
  batches: readonly EventBatch[],
  partitionMetadata: PartitionMetadata[],
  eventsPerMessage: number,
): Message[] {
  const partitions = partitionMetadata.length;
  const open = new Map<number, Buffer[]>();
  const messages: Message[] = [];
  const emit = (partition: number, parts: Buffer[]) => messages.push({ partition, value: Buffer.concat(parts) });
  for (const b of batches) {
    const lines = Buffer.from(b.lines.buffer, b.lines.byteOffset, b.lines.byteLength);
    let lineStart = 0;
    let keyStart = 0;
    for (let i = 0; i < b.rowCount; i++) {
      const partition = keyPartition(b.keys, keyStart, b.keyEnds[i], partitions);
      let parts = open.get(partition);
      if (!parts) open.set(partition, (parts = []));
      parts.push(lines.subarray(lineStart, b.lineEnds[i]));
      if (parts.length === eventsPerMessage) {
        emit(partition, parts);
        open.set(partition, []);
      }
      lineStart = b.lineEnds[i];
      keyStart = b.keyEnds[i];
    }
  }
  for (const [partition, parts] of open) if (parts.length > 0) emit(partition, parts);
  return messages;
}
