/**
 * The consumer group's committed offsets and their metadata, read with an admin client before the
 * consumer joins: the daemon restores the event-time state stored in the metadata before the first
 * record of a partition arrives.
 */
import { Kafka, logLevel } from 'kafkajs';
import { SourceError } from '../../errors.js';
import type { CommittedPosition } from '../source.js';
import type { KafkaSourceOptions } from './thread-protocol.js';

/** A fresh broker may not have elected the group coordinator yet; the consumer itself would wait too. */
const READ_DEADLINE_MS = 30_000;

type Admin = ReturnType<Kafka['admin']>;

async function fetchOffsetsWithRetry(admin: Admin, groupId: string, topic: string, deadlineMs: number) {
  const end = Date.now() + deadlineMs;
  for (let delayMs = 100; ; delayMs = Math.min(2_000, delayMs * 2)) {
    try {
      return await admin.fetchOffsets({ groupId, topics: [topic] });
    } catch (err) {
      if ((err as { retriable?: unknown }).retriable !== true || Date.now() + delayMs > end) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** Every partition of the topic with an offset committed by the group, ordered by partition. */
export async function readCommittedOffsets(cfg: Pick<KafkaSourceOptions, 'brokers' | 'clientId' | 'groupId' | 'topic'
  | 'connectionTimeoutMs' | 'requestTimeoutMs'>): Promise<CommittedPosition[]> {
  const kafka = new Kafka({
    clientId: `${cfg.clientId}-restore`,
    brokers: cfg.brokers,
    connectionTimeout: cfg.connectionTimeoutMs,
    requestTimeout: cfg.requestTimeoutMs,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const topics = await fetchOffsetsWithRetry(admin, cfg.groupId, cfg.topic, READ_DEADLINE_MS);
    const out: CommittedPosition[] = [];
    for (const t of topics) {
      for (const p of t.partitions) {
        const position = Number(p.offset);
        if (position >= 0) out.push({ sourcePartition: p.partition, position, metadata: p.metadata ?? null });
      }
    }
    return out.sort((a, b) => a.sourcePartition - b.sourcePartition);
  } catch (err) {
    throw new SourceError('kafka', `cannot read committed offsets of group ${cfg.groupId}: ${(err as Error).message}`, { cause: err, retriable: true });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
