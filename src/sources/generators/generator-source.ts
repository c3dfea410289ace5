/**
 * A live source over a LineGenerator: emits chunks of NDJSON lines as fast as the handler takes
 * them, or at `ratePerSec` through a token bucket (one sleep per chunk, never a timer per event).
 * Positions are event counts on source partition 0; `totalEvents` makes the source finite.
 *
 * Lines are joined into one string per chunk and encoded once into a reused buffer, so the cost
 * per event is the generator's own string, not a write call.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SourceError } from '../../errors.js';
import { SourceBase } from '../source-base.js';
import { isPromiseLike, type ChunkHandler, type PartitionLag, type Source, type SourceChunk, type SourceHooks } from '../source.js';
import type { LineGenerator, LineWriter } from './line-generator.js';
import { TokenBucket } from './token-bucket.js';

export interface GeneratorSourceOptions {
  generator: LineGenerator;
  /** The generator's allocation-free byte path, used instead of nextLine() when given. */
  writer?: LineWriter;
  /** Events per second; 0 = as fast as the handler accepts them. */
  ratePerSec?: number;
  /** Stop after this many events; -1 = unbounded. */
  totalEvents?: number;
  /** Most lines in one chunk. */
  chunkLines?: number;
}

/** At a configured rate, aim for about this many chunks per second (bounded latency, few wakeups). */
const CHUNKS_PER_SEC_AT_RATE = 50;

export class GeneratorSource extends SourceBase implements Source {
  readonly kind = 'generator' as const;
  private readonly generator: LineGenerator;
  private readonly writer: LineWriter | null;
  private readonly ratePerSec: number;
  private readonly totalEvents: number;
  private readonly chunkLines: number;
  private buf = Buffer.allocUnsafe(1 << 20);
  private emitted = 0;
  private loop: Promise<void> | null = null;
  private wake: AbortController | null = null;

  constructor(options: GeneratorSourceOptions) {
    super();
    this.generator = options.generator;
    this.writer = options.writer ?? null;
    this.ratePerSec = options.ratePerSec ?? 0;
    this.totalEvents = options.totalEvents ?? -1;
    this.chunkLines = options.chunkLines ?? 4096;
  }

  async start(handler: ChunkHandler, hooks: SourceHooks = {}): Promise<void> {
    if (this.handler) throw new SourceError('generator', 'start() called twice');
    this.handler = handler;
    this.hooks = hooks;
    this.hooks.onAssign?.([0]);
    this.loop = this.run().then(
      () => this.finish(),
      (err) => this.finish(new SourceError('generator', 'generator source failed', { cause: err })),
    );
  }

  private async run(): Promise<void> {
    const bucket =
      this.ratePerSec > 0 ? new TokenBucket(this.ratePerSec, Math.max(1, Math.ceil(this.ratePerSec / CHUNKS_PER_SEC_AT_RATE))) : null;
    const minLinesPerChunk = bucket ? Math.max(1, Math.min(this.chunkLines, Math.floor(bucket.burst))) : 1;
    while (!this.stopping && (this.totalEvents < 0 || this.emitted < this.totalEvents)) {
      const gate = this.waitWhilePaused();
      if (gate) {
        await gate;
        continue;
      }
      let n = this.chunkLines;
      if (this.totalEvents >= 0) n = Math.min(n, this.totalEvents - this.emitted);
      if (bucket) {
        const waitMs = bucket.msUntil(Math.min(n, minLinesPerChunk));
        if (waitMs > 0) {
          this.wake = new AbortController();
          await sleep(Math.ceil(waitMs), undefined, { signal: this.wake.signal }).catch(() => undefined);
          this.wake = null;
          continue;
        }
        n = bucket.takeUpTo(n);
      }
      await this.emit(n);
    }
  }

  private async emit(lines: number): Promise<void> {
    const byteLength = this.writer ? this.writeLines(this.writer, lines) : this.encodeLines(lines);
    const start = this.emitted;
    this.emitted += lines;
    const chunk: SourceChunk = {
      bytes: this.buf.subarray(0, byteLength),
      sourcePartition: 0,
      startPosition: start,
      endPosition: this.emitted,
      lineCount: lines,
    };
    const result = this.handler!(chunk);
    if (isPromiseLike(result)) await result;
    this.countDelivery(0, this.emitted, byteLength);
  }

  private writeLines(writer: LineWriter, lines: number): number {
    const need = lines * writer.maxLineBytes;
    if (need > this.buf.length) this.buf = Buffer.allocUnsafe(need);
    let at = 0;
    for (let i = 0; i < lines; i++) at = writer.writeNdjson(this.buf, at);
    return at;
  }

  private encodeLines(lines: number): number {
    let text = '';
    for (let i = 0; i < lines; i++) text += this.generator.nextLine() + '\n';
    const byteLength = Buffer.byteLength(text);
    if (byteLength > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(byteLength, this.buf.length * 2));
    this.buf.write(text, 0, 'utf8');
    return byteLength;
  }

  override async lag(): Promise<PartitionLag[]> {
    const committed = this.committed.get(0) ?? -1;
    return [
      {
        sourcePartition: 0,
        endPosition: this.totalEvents,
        committedPosition: committed,
        deliveredPosition: this.emitted,
        lag: this.totalEvents < 0 ? -1 : this.totalEvents - Math.max(committed, 0),
      },
    ];
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.releasePauseGate();
    this.wake?.abort();
    await this.loop?.catch(() => undefined);
    this.finish();
  }

  async close(): Promise<void> {
    await this.stop();
    this.closed = true;
  }
}
