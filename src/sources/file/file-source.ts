/**
 * NDJSON file source: positioned reads of `chunkBytes` into one reused buffer, chunks cut at the
 * last newline. A file is source partition 0; positions are byte offsets, so a checkpointed
 * position can be passed back as `startPosition` to resume exactly after the last handled line.
 *
 * A regular file is read one chunk ahead in the thread pool (read-ahead.ts): the copy out of the
 * page cache then runs beside the decode instead of on its thread, and no read waits on the thread
 * pool's wake-up. Anything else (a FIFO such as `<(zcat events.gz)`, a device) is read from its
 * current position when needed, since it cannot seek.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { ReadAhead } from './read-ahead.js';
import { SourceError } from '../../errors.js';
import { LineChunker } from './line-chunker.js';
import { SourceBase } from '../source-base.js';
import { DEFAULT_CHUNK_BYTES, isPromiseLike, type ChunkHandler, type Source, type SourceChunk, type SourceHooks } from '../source.js';

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
  private readPosition: number;
  private loop: Promise<void> | null = null;
  /** Regular file: read ahead at positions (see the file comment). */
  private seekable = false;
  private readonly chunkBytes: number;

  constructor(private readonly options: FileSourceOptions) {
    super();
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
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
      this.seekable = info.isFile();
    } catch (err) {
      throw new SourceError('file', `cannot open ${this.options.path}: ${(err as Error).message}`, { cause: err });
    }
    if (!this.seekable && this.readPosition > 0) {
      await this.file.close();
      this.file = null;
      throw new SourceError('file', `cannot resume ${this.options.path} at byte ${this.readPosition}: it is not a regular file (a pipe cannot seek)`);
    }
    this.hooks.onAssign?.([0]);
    this.loop = (this.seekable ? this.readAheadLoop() : this.readLoop()).then(
      () => this.finish(),
      (err) => this.finish(err instanceof SourceError ? err : new SourceError('file', `reading ${this.options.path} failed`, { cause: err })),
    );
  }

  /** Bytes read so far and the file size, for a progress display. */
  progress(): FileProgress {
    return { bytesRead: this.readPosition - (this.options.startPosition ?? 0), totalBytes: this.totalBytes };
  }

  /** A regular file: chunks of complete lines, each read while the one before it is handled. */
  private async readAheadLoop(): Promise<void> {
    const reader = new ReadAhead(this.file!, this.chunkBytes, this.readPosition);
    try {
      while (!this.stopping) {
        const gate = this.waitWhilePaused();
        if (gate) {
          await gate;
          continue;
        }
        const chunk = await reader.nextChunk();
        this.readPosition = reader.readOffset;
        if (chunk === null || this.stopping) return;
        await this.deliverBytes(chunk.bytes, chunk.position);
      }
    } finally {
      // The read in flight must end before the file is closed.
      await reader.settle();
    }
  }

  /** A FIFO or device: it cannot seek (ESPIPE), so it is read from where it is, position null. */
  private async readLoop(): Promise<void> {
    const c = new LineChunker(this.chunkBytes, this.readPosition);
    const file = this.file!;
    while (!this.stopping) {
      const gate = this.waitWhilePaused();
      if (gate) {
        await gate;
        continue;
      }
      const space = c.ensureSpace();
      const { bytesRead } = await file.read(c.buf, c.filled, space, null);
      if (bytesRead === 0) {
        // End of file: the last line may have no newline; deliver it as is.
        if (c.filled > 0 && !this.stopping) await this.deliverLines(c, c.filled);
        return;
      }
      this.readPosition += bytesRead;
      c.filled += bytesRead;
      const complete = c.completeBytes();
      if (complete > 0) await this.deliverLines(c, complete);
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
