/**
 * A reusable read buffer that yields runs of complete lines and carries the partial last line
 * over to the next read. One buffer for the life of a source: no allocation per chunk except
 * the subarray view handed to the handler.
 *
 *   buf  [ complete lines ........ \n | partial line ]  free space ]
 *        0                      cutEnd              filled        buf.length
 *        ^ position = input offset of buf[0]
 *
 * After the handler is done with the complete part, the partial line is moved to the front
 * (copyWithin) and the next read appends after it. A line longer than the buffer doubles the
 * buffer: the decode kernel, not the reader, decides what is too long (`line_too_long`).
 */
const NEWLINE = 0x0a;

export class LineChunker {
  buf: Uint8Array;
  /** Bytes of buf holding data. */
  filled = 0;
  /** Input offset of buf[0]. */
  position: number;

  constructor(chunkBytes: number, startPosition = 0) {
    this.buf = new Uint8Array(chunkBytes);
    this.position = startPosition;
  }

  /** Free bytes after the filled part; grows the buffer when a single line fills it. */
  ensureSpace(): number {
    if (this.filled === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    return this.buf.length - this.filled;
  }

  /** Copy bytes in, growing as needed (stream sources). */
  append(piece: Uint8Array): void {
    while (this.buf.length - this.filled < piece.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf.subarray(0, this.filled));
      this.buf = bigger;
    }
    this.buf.set(piece, this.filled);
    this.filled += piece.length;
  }

  /** Length of the complete-line prefix (through the last '\n'), 0 if there is none. */
  completeBytes(): number {
    if (this.filled === 0) return 0;
    return this.buf.lastIndexOf(NEWLINE, this.filled - 1) + 1;
  }

  /** Drop the first `n` bytes (already delivered) and keep the rest at the front. */
  consume(n: number): void {
    if (n === 0) return;
    this.buf.copyWithin(0, n, this.filled);
    this.filled -= n;
    this.position += n;
  }
}
