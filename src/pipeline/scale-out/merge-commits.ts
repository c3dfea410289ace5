/**
 * Which position of the partials topic the merge may commit, and with what state. A read chunk
 * settles once every window its partials (and any partial before it) can be in is emitted and
 * acknowledged: its bound is the latest end among the pending cells and the emitted-through after it.
 *
 * The state stored with a settled position P says "emitted through" the acknowledged event time at
 * commit time, not what the merge had emitted right after reading P: a window that was still pending at
 * P has partials before P, which the next owner does not read again, so it must not emit that window a
 * second time from the partials after P alone. It was emitted and acknowledged whole before P could
 * settle, so the next owner ignores its partials as it does any of an emitted window.
 */
import { PartialRecordError } from '../../errors.js';
import type { MergeRestartState, MergeStage } from './merge-stage.js';
import { timeIn, timeOut } from './partial-records.js';

/** The commit metadata of a merge position: `{"v":1,"e":<emitted through>,"c":[<marker per source partition>]}`. */
export function encodeMergeState(s: MergeRestartState): string {
  return JSON.stringify({ v: 1, e: timeOut(s.emittedThroughMs), c: s.closedThroughMs.map(timeOut) });
}

export function decodeMergeState(metadata: string | null): MergeRestartState | null {
  if (!metadata) return null;
  const o = JSON.parse(metadata) as { v?: unknown; e?: unknown; c?: unknown };
  if (o.v !== 1 || !Array.isArray(o.c)) throw new PartialRecordError(`merge commit metadata of an unknown version: ${metadata.slice(0, 80)}`);
  return { emittedThroughMs: timeIn(o.e, 'merge state e'), closedThroughMs: o.c.map((v, i) => timeIn(v, `merge state c[${i}]`)) };
}

interface ReadChunk {
  endPosition: number;
  boundMs: number;
  state: MergeRestartState;
}

export class MergeCommits {
  private chunks: ReadChunk[] = [];

  /** A chunk ending at `endPosition` was applied to `stage` and its final rows taken. */
  read(endPosition: number, stage: MergeStage): void {
    this.chunks.push({ endPosition, boundMs: Math.max(stage.pendingThroughMs, stage.emittedThroughMs), state: stage.restartState() });
  }

  /** The last position settled by `ackedThroughMs` and the state to store with it, or null; forgets what it returns. */
  settle(ackedThroughMs: number): { position: number; state: MergeRestartState } | null {
    let n = 0;
    while (n < this.chunks.length && this.chunks[n].boundMs <= ackedThroughMs) n++;
    if (n === 0) return null;
    const last = this.chunks[n - 1];
    this.chunks = this.chunks.slice(n);
    return { position: last.endPosition, state: { ...last.state, emittedThroughMs: Math.max(last.state.emittedThroughMs, ackedThroughMs) } };
  }

  /** Chunks read and not settled yet. */
  get pending(): number { return this.chunks.length; }

  clear(): void {
    this.chunks = [];
  }
}
