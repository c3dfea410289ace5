/**
 * The consumer group's committed offsets and their metadata, read with an admin client before the
 * consumer joins: the daemon restores the event-time state stored in the metadata before the first
 * record of a partition arrives.
 */
import { Kafka, logLevel } from 'kafkajs';
import { SourceError } from '../../errors.js';
import type { CommittedPosition } from '../source.js';
import type { ResolvedKafkaSourceOptions } from './thread-protocol.js';
import { TopicPartitionIds } from './topic-partitions.js';

/** A fresh broker may not have elected the group coordinator yet; the consumer itself would wait too. */
const READ_DEADLINE_MS = 30_000;

type Admin = ReturnType<Kafka['admin']>;

async function fetchOffsetsWithRetry(admin: Admin, groupId: string, topics: string[], deadlineMs: number) {
  const end = Date.now() + deadlineMs;
  for (let delayMs = 100; ; delayMs = Math.min(2_000, delayMs * 2)) {
    try {
      return await admin.fetchOffsets({ groupId, topics });
    } catch (err) {
      if ((err as { retriable?: unknown }).retriable !== true || Date.now() + delayMs > end) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** Every partition of the topics with an offset committed by the group, ordered by source partition number. */
export async function readCommittedOffsets(cfg: Pick<ResolvedKafkaSourceOptions, 'brokers' | 'clientId' | 'groupId' | 'topics'
  | 'connectionTimeoutMs' | 'requestTimeoutMs'>): Promise<CommittedPosition[]> {
  const ids = new TopicPartitionIds(cfg.topics);
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
    const topics = await fetchOffsetsWithRetry(admin, cfg.groupId, cfg.topics, READ_DEADLINE_MS);
    const out: CommittedPosition[] = [];
    for (const t of topics) {
      for (const p of t.partitions) {
        const position = Number(p.offset);
        if (position >= 0) out.push({ sourcePartition: ids.id(t.topic, p.partition), position, metadata: p.metadata ?? null });
      }
    }
    return out.sort((a, b) => a.sourcePartition - b.sourcePartition);
  } catch (err) {
    throw new SourceError('kafka', `cannot read committed offsets of group ${cfg.groupId}: ${(err as Error).message}`, { cause: err, retriable: true });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
