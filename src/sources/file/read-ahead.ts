/**
 * Positioned reads of a regular file one chunk ahead, into two buffers taken in turn: while the
 * caller handles the complete lines of one, the thread pool reads the next chunk into the other.
 * The read's copy out of the page cache then runs on another core, not on the thread that decodes;
 * and since it is issued a whole chunk's handling before its bytes are needed, the thread pool's
 * wake-up latency is hidden.
 *
 *   cur   [ carried tail | bytes of read k ................ ]   handled: up to its last '\n'
 *   next  [ tail of cur  | read k + 1 in flight ........... ]   issued before cur is handed out
 *
 * The tail after cur's last '\n' is copied to the front of next before read k + 1 is issued, so a
 * line split across reads arrives whole. A line longer than a buffer doubles both buffers.
 */
import type { FileHandle } from 'node:fs/promises';

export interface ReadAheadChunk {
  /** Complete lines (or, at the end of the file, the last line without its '\n'). */
  bytes: Uint8Array;
  /** File offset of bytes[0]. */
  position: number;
}

export class ReadAhead {
  private cur: Uint8Array;
  private next: Uint8Array;
  /** Bytes at the front of cur carried over from the previous buffer (the read lands after them). */
  private carried = 0;
  /** File offset of cur[0]. */
  private curPosition: number;
  /** File offset the next read starts at. */
  private readPosition: number;
  private pending: Promise<number> | null = null;
  private ended = false;

  constructor(private readonly file: FileHandle, chunkBytes: number, startPosition: number) {
    this.cur = new Uint8Array(chunkBytes);
    this.next = new Uint8Array(chunkBytes);
    this.curPosition = startPosition;
    this.readPosition = startPosition;
  }

  /** File offset the reads have reached (the start position plus every byte read). */
  get readOffset(): number { return this.readPosition; }

  /**
   * The next chunk, or null at the end of the file. Its bytes stay valid until the following call,
   * which also starts the read after it.
   */
  async nextChunk(): Promise<ReadAheadChunk | null> {
    if (this.ended) return null;
    this.pending ??= this.readInto(this.cur, this.carried);
    for (;;) {
      const n = await this.pending;
      this.pending = null;
      const filled = this.carried + n;
      if (n === 0) {
        // End of the file: what is left is the last line, without a '\n'.
        this.ended = true;
        return filled > 0 ? { bytes: this.cur.subarray(0, filled), position: this.curPosition } : null;
      }
      const complete = this.cur.lastIndexOf(0x0a, filled - 1) + 1;
      if (complete === 0) {
        // No line ends in the buffer yet: read on into it, doubled when full.
        if (filled === this.cur.length) this.grow(filled);
        this.carried = filled;
        this.pending = this.readInto(this.cur, filled);
        continue;
      }
      const tail = filled - complete;
      if (tail * 2 > this.next.length) this.next = new Uint8Array(Math.max(this.next.length * 2, this.cur.length));
      this.next.set(this.cur.subarray(complete, filled), 0);
      const chunk = { bytes: this.cur.subarray(0, complete), position: this.curPosition };
      // The read after this chunk, into the other buffer, while the caller handles this one. Nothing
      // awaits it until the next call: a failure must not surface as an unhandled rejection meanwhile
      // (awaiting it later still throws).
      const ahead = this.readInto(this.next, tail);
      ahead.catch(() => undefined);
      this.pending = ahead;
      const handed = this.cur;
      this.cur = this.next;
      this.next = handed;
      this.carried = tail;
      this.curPosition += complete;
      return chunk;
    }
  }

  /** Waits for a read in flight (before the file is closed). */
  async settle(): Promise<void> {
    await this.pending?.catch(() => 0);
  }

  private readInto(buf: Uint8Array, at: number): Promise<number> {
    const position = this.readPosition;
    return this.file.read(buf, at, buf.length - at, position).then(({ bytesRead }) => {
      this.readPosition = position + bytesRead;
      return bytesRead;
    });
  }

  private grow(filled: number): void {
    const bigger = new Uint8Array(this.cur.length * 2);
    bigger.set(this.cur.subarray(0, filled));
    this.cur = bigger;
    if (this.next.length < bigger.length) this.next = new Uint8Array(bigger.length);
  }
}
