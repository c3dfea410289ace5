/**
 * Plumbing shared by the sources: the pause gate, the finished() promise, counters and the
 * "remember the committed position" default for sources without an external commit log.
 */
import type { LineChunker } from './file/line-chunker.js';
import { isPromiseLike, type ChunkHandler, type CommittedPosition, type PartitionLag, type SourceChunk, type SourceGroupState, type SourceHooks, type SourceKind, type SourceStats } from './source.js';

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export abstract class SourceBase {
  abstract readonly kind: SourceKind;
  protected handler: ChunkHandler | null = null;
  protected hooks: SourceHooks = {};
  protected stopping = false;
  protected closed = false;
  protected chunkCount = 0;
  protected byteCount = 0;
  protected totalBytes = -1;
  /** Highest committed / delivered position per source partition. */
  protected readonly committed = new Map<number, number>();
  protected readonly delivered = new Map<number, number>();
  /** The handler call in progress (byte-stream sources), so stop() can let it settle first. */
  protected handlerInFlight: Promise<void> | null = null;
  private paused = false;
  private resumeGate: Deferred<void> | null = null;
  private readonly done = deferred<void>();
  private doneSettled = false;

  constructor() {
    // finished() may never be awaited (e.g. an HTTP source closed in a test): keep an
    // unobserved rejection from crashing the process; callers still see it through finished().
    this.done.promise.catch(() => undefined);
  }

  finished(): Promise<void> {
    return this.done.promise;
  }

  /** Byte-stream sources (file, stdin): hand chunker.buf[0, length) over as partition 0, then drop it. */
  protected async deliverLines(c: LineChunker, length: number): Promise<void> {
    await this.deliverBytes(c.buf.subarray(0, length), c.position);
    c.consume(length);
  }

  /** Byte-stream sources: hand `bytes` (complete lines from input offset `position`) over as partition 0. */
  protected async deliverBytes(bytes: Uint8Array, position: number): Promise<void> {
    const chunk: SourceChunk = {
      bytes,
      sourcePartition: 0,
      startPosition: position,
      endPosition: position + bytes.length,
      lineCount: -1,
    };
    const result = this.handler!(chunk);
    if (isPromiseLike(result)) {
      this.handlerInFlight = Promise.resolve(result).then(() => undefined);
      await this.handlerInFlight;
      this.handlerInFlight = null;
    }
    this.countDelivery(0, chunk.endPosition, bytes.length);
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.resumeGate = deferred<void>();
    this.onPause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const gate = this.resumeGate;
    this.resumeGate = null;
    gate?.resolve();
    this.onResume();
  }

  isPaused(): boolean {
    return this.paused;
  }

  stats(): SourceStats {
    return { chunks: this.chunkCount, bytes: this.byteCount, totalBytes: this.totalBytes, paused: this.paused };
  }

  async commit(sourcePartition: number, position: number, _metadata?: string): Promise<void> {
    const previous = this.committed.get(sourcePartition) ?? -1;
    if (position > previous) this.committed.set(sourcePartition, position);
  }

  /** Local sources keep no commit log: every run starts from the beginning (or the configured position). */
  async committedPositions(): Promise<CommittedPosition[]> { return []; }

  groupState(): SourceGroupState | null { return null; }

  /** Default lag for single-partition local sources: end = total bytes when known. */
  async lag(): Promise<PartitionLag[]> {
    const delivered = this.delivered.get(0) ?? 0;
    const committed = this.committed.get(0) ?? -1;
    const end = this.totalBytes;
    return [
      {
        sourcePartition: 0,
        endPosition: end,
        committedPosition: committed,
        deliveredPosition: delivered,
        lag: end < 0 ? -1 : end - Math.max(committed, 0),
      },
    ];
  }

  /** Resolves immediately when running, else when resume() or stop() is called. */
  protected waitWhilePaused(): Promise<void> | undefined {
    return this.paused && !this.stopping ? this.resumeGate!.promise : undefined;
  }

  protected countDelivery(sourcePartition: number, endPosition: number, bytes: number): void {
    this.chunkCount++;
    this.byteCount += bytes;
    this.delivered.set(sourcePartition, endPosition);
  }

  protected finish(err?: unknown): void {
    if (this.doneSettled) return;
    this.doneSettled = true;
    if (err === undefined) this.done.resolve();
    else this.done.reject(err);
  }

  /** Wake a paused reader so it can observe `stopping`. */
  protected releasePauseGate(): void {
    this.resumeGate?.resolve();
  }

  protected onPause(): void {}
  protected onResume(): void {}
}
