/**
 * Watermark state that travels with each committed Kafka offset (the OffsetCommit `metadata` string)
 * so a restart — after SIGKILL too — resumes with the event-time progress the commit was made at.
 *
 * Why: a restart re-reads events after the committed offset P. Windows that were emitted and acked
 * before the crash may hold some of those events; without the old watermark they would be re-opened
 * with only the re-read events and re-emitted as partial rows, overwriting the complete ones. With
 * it, the re-read events of those windows are late (dead-lettered again as `late`), and only windows
 * that were not emitted at commit time — which hold no event before P, by the commit rule in
 * offsets.ts — are recomputed, from all of their events.
 *
 *   metadata = {"rf":1,"maxTs":<partition max event time at P>,"floor":<acked-through window end>,
 *               "ckpt":<n>}   <- checkpoint mode only: checkpoint-<n>.bin holds the state at P
 *
 * On start, each partition's max event time is restored as max(maxTs, floor + allowedLatenessMs),
 * which puts the watermark at or above every floor (the watermark never goes backwards).
 */
import { Kafka, logLevel } from 'kafkajs';
import { SourceError } from '../errors.js';
import type { KafkaSourceConfig } from '../sources/source-config.js';

export interface PartitionRestartState {
  sourcePartition: number;
  /** Committed offset (next to read). */
  offset: number;
  maxTsMs: number;
  floorMs: number;
  /** The checkpoint whose state matches this offset (checkpoint mode), or null. */
  checkpoint: number | null;
}

const VERSION = 1;

export function encodeCommitMetadata(maxTsMs: number, floorMs: number, checkpoint: number | null = null): string {
  const num = (v: number): number | null => (Number.isFinite(v) ? v : null);
  return JSON.stringify({ rf: VERSION, maxTs: num(maxTsMs), floor: num(floorMs), ...(checkpoint !== null ? { ckpt: checkpoint } : {}) });
}

/** null for metadata ringflow did not write (another tool's commit, or none). */
export function decodeCommitMetadata(metadata: string | null | undefined): { maxTsMs: number; floorMs: number; checkpoint: number | null } | null {
  if (!metadata) return null;
  let v: unknown;
  try {
    v = JSON.parse(metadata);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || (v as { rf?: unknown }).rf !== VERSION) return null;
  const o = v as { maxTs?: unknown; floor?: unknown; ckpt?: unknown };
  const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) ? x : Number.NEGATIVE_INFINITY);
  const checkpoint = typeof o.ckpt === 'number' && Number.isInteger(o.ckpt) && o.ckpt > 0 ? o.ckpt : null;
  return { maxTsMs: num(o.maxTs), floorMs: num(o.floor), checkpoint };
}

/** A fresh broker may not have elected the group coordinator yet; the consumer itself would wait too. */
const RESTORE_DEADLINE_MS = 30_000;

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

/** The group's committed offsets with ringflow metadata, read before the consumer joins. */
export async function readRestartState(cfg: KafkaSourceConfig): Promise<PartitionRestartState[]> {
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
    const topics = await fetchOffsetsWithRetry(admin, cfg.groupId, cfg.topic, RESTORE_DEADLINE_MS);
    const out: PartitionRestartState[] = [];
    for (const t of topics) {
      for (const p of t.partitions) {
        const meta = decodeCommitMetadata(p.metadata);
        if (meta && Number(p.offset) >= 0) out.push({ sourcePartition: p.partition, offset: Number(p.offset), ...meta });
      }
    }
    return out.sort((a, b) => a.sourcePartition - b.sourcePartition);
  } catch (err) {
    throw new SourceError('kafka', `cannot read committed offsets of group ${cfg.groupId}: ${(err as Error).message}`, { cause: err, retriable: true });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The max event time to restore for one partition (see the header). */
export function restoredMaxTsMs(s: PartitionRestartState, allowedLatenessMs: number): number {
  return Math.max(s.maxTsMs, s.floorMs + allowedLatenessMs);
}
