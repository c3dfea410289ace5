/**
 * The decoder's UTF-8 check (ARCHITECTURE.md, "Deterministic semantics" 1: a line that is not
 * well-formed UTF-8 is `bad_utf8`, after `line_too_long` only) for lines the JS tiers decode without
 * the native one (which checks the lines it sees itself: native-bindings/src/block.rs) and for a last
 * line without '\n'. Instead of a check per line, whole lines are checked a window at a time with
 * node:buffer isUtf8 (native and vectorized) before a tier sees them; only a window that fails is
 * walked in JS, to its first bad byte, and the lines before that one are decoded as usual.
 *
 * The window grows while windows pass and drops to its minimum when one fails, so input with many bad
 * lines costs a small check per bad line rather than a large one.
 */
import { isUtf8 } from 'node:buffer';
import { firstIllFormedUtf8 } from './string.js';

const MIN_WINDOW_BYTES = 4 << 10;
const MAX_WINDOW_BYTES = 64 << 10;

export class Utf8Gate {
  private window = MAX_WINDOW_BYTES;

  /**
   * b[p, end) are whole lines (b[end - 1] is '\n'; p starts a line). Returns q > p such that b[p, q)
   * holds whole lines of well-formed UTF-8, or p itself when the line at p is not well-formed.
   * `wantBytes` caps the window (about what the caller can still use: a batch's free rows).
   */
  wellFormedUntil(b: Uint8Array, p: number, end: number, wantBytes: number): number {
    let w = p + Math.max(MIN_WINDOW_BYTES, Math.min(this.window, wantBytes));
    if (w >= end) {
      w = end;
    } else {
      // Window ends on a line end: the last '\n' inside it, or the first after it (a long line).
      const nl = b.lastIndexOf(10, w - 1);
      w = (nl >= p ? nl : b.indexOf(10, w)) + 1;
    }
    if (isUtf8(b.subarray(p, w))) {
      if (this.window < MAX_WINDOW_BYTES) this.window *= 2;
      return w;
    }
    this.window = MIN_WINDOW_BYTES;
    const bad = firstIllFormedUtf8(b, p, w);
    if (bad >= w) return w; // isUtf8 and the JS walk define the same thing: not reached
    return Math.max(p, b.lastIndexOf(10, bad) + 1);
  }
}
