/**
 * Watermark state that travels with each committed source position (Kafka: the OffsetCommit
 * `metadata` string beside the committed offset), so a restart — after SIGKILL too — resumes with the event-time progress the commit was made at.
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
 * On start, each partition's max event time is restored as max(maxTs, floor + outOfOrdernessMs),
 * which puts the watermark at or above every floor (the watermark never goes backwards).
 */
import type { CommittedPosition } from '../sources/source.js';

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

/** The restart state of every committed position whose metadata ringflow wrote. */
export function restartStateFrom(committed: readonly CommittedPosition[]): PartitionRestartState[] {
  const out: PartitionRestartState[] = [];
  for (const c of committed) {
    const meta = decodeCommitMetadata(c.metadata);
    if (meta) out.push({ sourcePartition: c.sourcePartition, offset: c.position, ...meta });
  }
  return out.sort((a, b) => a.sourcePartition - b.sourcePartition);
}

/** The max event time to restore for one partition (see the header). */
export function restoredMaxTsMs(s: PartitionRestartState, outOfOrdernessMs: number): number {
  return Math.max(s.maxTsMs, s.floorMs + outOfOrdernessMs);
}
