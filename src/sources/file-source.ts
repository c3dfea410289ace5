/**
 * NDJSON file source: positioned reads of `chunkBytes` into one reused buffer, chunks cut at the
 * last newline. A file is source partition 0; positions are byte offsets, so a checkpointed
 * position can be passed back as `startPosition` to resume exactly after the last handled line.
 *
 * A regular file is read with blocking positioned reads on the calling thread, anything else (a
 * FIFO such as `<(zcat events.gz)`, a device) through the thread pool from its current position,
 * since it cannot seek and a read may block without end. Why: inside a running pipeline a
 * thread-pool read of 2 MiB from the page cache took 1.7-1.9 ms from request to callback, a blocking
 * read 0.54 ms (6M-event replay: 541-599 ms of waiting vs 172 ms of reading); the pool thread is
 * woken onto a core the kernel worker thread keeps busy while the main thread's core idles. A
 * blocking read holds the event loop for less than decoding the chunk it brings does (~7 ms per
 * 2 MiB), and that decode is synchronous anyway.
 */
import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { SourceError } from '../errors.js';
import { LineChunker } from './line-chunker.js';
import { SourceBase } from './source-base.js';
import { DEFAULT_CHUNK_BYTES, isPromiseLike, type ChunkHandler, type Source, type SourceChunk, type SourceHooks } from './source.js';

export interface FileSourceOptions {
  path: string;
  /** Bytes per read; a chunk holds at most this many bytes unless one line is longer. */
  chunkBytes?: number;
  /** Byte offset to start at (a committed position from an earlier run). Must be a line start. */
  startPosition?: number;
}

export interface FileProgress {
  bytesRead: number;
  totalBytes: number;
}

export class FileSource extends SourceBase implements Source {
  readonly kind = 'file' as const;
  private file: FileHandle | null = null;
  private readonly chunker: LineChunker;
  private readPosition: number;
  private loop: Promise<void> | null = null;
  /** Regular file: read with readSync (see the file comment). */
  private blockingReads = false;

  constructor(private readonly options: FileSourceOptions) {
    super();
    this.chunker = new LineChunker(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, options.startPosition ?? 0);
    this.readPosition = options.startPosition ?? 0;
  }

  async start(handler: ChunkHandler, hooks: SourceHooks = {}): Promise<void> {
    if (this.handler) throw new SourceError('file', 'start() called twice');
    this.handler = handler;
    this.hooks = hooks;
    try {
      this.file = await open(this.options.path, 'r');
      const info = await this.file.stat();
      this.totalBytes = info.isFile() ? info.size : -1;
      this.blockingReads = info.isFile();
    } catch (err) {
      throw new SourceError('file', `cannot open ${this.options.path}: ${(err as Error).message}`, { cause: err });
    }
    if (!this.blockingReads && this.readPosition > 0) {
      await this.file.close();
      this.file = null;
      throw new SourceError('file', `cannot resume ${this.options.path} at byte ${this.readPosition}: it is not a regular file (a pipe cannot seek)`);
    }
    this.hooks.onAssign?.([0]);
    this.loop = this.readLoop().then(
      () => this.finish(),
      (err) => this.finish(err instanceof SourceError ? err : new SourceError('file', `reading ${this.options.path} failed`, { cause: err })),
    );
  }

  /** Bytes read so far and the file size, for a progress display. */
  progress(): FileProgress {
    return { bytesRead: this.readPosition - (this.options.startPosition ?? 0), totalBytes: this.totalBytes };
  }

  private async readLoop(): Promise<void> {
    const c = this.chunker;
    const file = this.file!;
    while (!this.stopping) {
      const gate = this.waitWhilePaused();
      if (gate) {
        await gate;
        continue;
      }
      const space = c.ensureSpace();
      // A blocking read never returns to the event loop, and a chunk's handler usually settles in
      // microtasks: one turn per chunk lets timers, signals and worker results in.
      if (this.blockingReads) await yieldToEventLoop();
      // A FIFO or device cannot seek (ESPIPE): it is read from where it is, position null.
      const bytesRead = this.blockingReads
        ? readSync(file.fd, c.buf, c.filled, space, this.readPosition)
        : (await file.read(c.buf, c.filled, space, null)).bytesRead;
      if (bytesRead === 0) {
        // End of file: the last line may have no newline; deliver it as is.
        if (c.filled > 0 && !this.stopping) await this.deliverLines(this.chunker, c.filled);
        return;
      }
      this.readPosition += bytesRead;
      c.filled += bytesRead;
      const complete = c.completeBytes();
      if (complete > 0) await this.deliverLines(this.chunker, complete);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.releasePauseGate();
    await this.loop?.catch(() => undefined);
    this.finish();
  }

  async close(): Promise<void> {
    await this.stop();
    if (this.closed) return;
    this.closed = true;
    await this.file?.close();
  }
}
