/**
 * NDJSON from a byte stream (stdin, a pipe). Unlike a file there is no size and no seeking:
 * pieces arriving from the stream are appended to one reused buffer, and a chunk is delivered
 * when the buffer reaches `chunkBytes` or when the stream has nothing more buffered right now —
 * big chunks under load, low latency when a producer trickles lines.
 */
import type { Readable } from 'node:stream';
import { SourceError } from '../../errors.js';
import { LineChunker } from './line-chunker.js';
import { SourceBase } from '../source-base.js';
import { DEFAULT_CHUNK_BYTES, isPromiseLike, type ChunkHandler, type Source, type SourceChunk, type SourceHooks } from '../source.js';

export interface StreamSourceOptions {
  /** Defaults to process.stdin. */
  stream?: Readable;
  chunkBytes?: number;
}

export class StreamSource extends SourceBase implements Source {
  readonly kind = 'stdin' as const;
  private readonly chunker: LineChunker;
  private readonly chunkBytes: number;
  private readonly stream: Readable;
  private loop: Promise<void> | null = null;

  constructor(options: StreamSourceOptions = {}) {
    super();
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.chunker = new LineChunker(this.chunkBytes);
    this.stream = options.stream ?? process.stdin;
  }

  async start(handler: ChunkHandler, hooks: SourceHooks = {}): Promise<void> {
    if (this.handler) throw new SourceError('stdin', 'start() called twice');
    this.handler = handler;
    this.hooks = hooks;
    this.hooks.onAssign?.([0]);
    this.loop = this.readLoop().then(
      () => this.finish(),
      (err) => this.finish(this.stopping ? undefined : new SourceError('stdin', 'reading the input stream failed', { cause: err })),
    );
  }

  progress(): { bytesRead: number; totalBytes: number } {
    return { bytesRead: this.chunker.position + this.chunker.filled, totalBytes: -1 };
  }

  private async readLoop(): Promise<void> {
    const c = this.chunker;
    // for-await pulls one piece at a time, so awaiting the handler stops the stream (backpressure).
    for await (const piece of this.stream) {
      if (this.stopping) break;
      c.append(typeof piece === 'string' ? Buffer.from(piece) : (piece as Uint8Array));
      if (c.filled < this.chunkBytes && this.stream.readableLength > 0) continue;
      const complete = c.completeBytes();
      if (complete > 0) await this.deliverLines(this.chunker, complete);
      const gate = this.waitWhilePaused();
      if (gate) await gate;
    }
    if (c.filled > 0 && !this.stopping) await this.deliverLines(this.chunker, c.filled);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.releasePauseGate();
    // Let the in-flight handler call settle, then end the for-await (which would otherwise wait
    // forever on a stream that never ends). The source owns its stream.
    await this.handlerInFlight?.catch(() => undefined);
    this.stream.destroy();
    await this.loop?.catch(() => undefined);
    this.finish();
  }

  async close(): Promise<void> {
    await this.stop();
    this.closed = true;
  }
}
