/**
 * Byte-level matcher for the common shape of field patterns: an anchored sequence of ASCII character
 * classes and literals with quantifiers, e.g. `^[A-Z]{2}$`, `^[a-z0-9_-]{1,32}$`, `^u-\d+$`.
 * It tests UTF-8 bytes in the batch directly, without creating a string per row.
 *
 * Why it gives the same answer as `new RegExp(source).test(string)`: every class and literal it
 * accepts is made of ASCII characters and is not negated, so a non-ASCII character (any byte >= 0x80
 * in UTF-8, one or two UTF-16 code units in JS) can match none of them in either world, and an
 * all-ASCII subject has one byte per code unit. Without the `m` flag, JS `^`/`$` anchor at the
 * ends of the input only. Anything else (alternation, groups, `.`, negated classes, lookaround,
 * lazy quantifiers, non-ASCII) returns null and the filter falls back to RegExp on a decoded
 * string: one string allocation per checked row.
 */

interface Atom {
  /** set[c] = 1 when ASCII byte c matches. */
  set: Uint8Array;
  min: number;
  max: number;
}

export interface BytePattern {
  /** Shortest and longest matching input in bytes (maxBytes is Infinity for unbounded patterns). */
  minBytes: number;
  maxBytes: number;
  test(bytes: Uint8Array, start: number, end: number): boolean;
  /**
   * When every atom repeats a fixed number of times (`^[A-Z]{2}$`, `^u-\d{4}$`): the atoms as
   * (128-entry ASCII set, count) pairs, so a caller can check them inline; else null.
   */
  readonly fixedAtoms: ReadonlyArray<{ set: Uint8Array; count: number }> | null;
}

const META = new Set(['.', '^', '$', '|', '(', ')', '[', ']', '{', '}', '*', '+', '?', '\\', '/']);

function addClassEscape(set: Uint8Array, c: string): boolean {
  if (c === 'd') { for (let k = 48; k <= 57; k++) set[k] = 1; return true; }
  if (c === 'w') {
    for (let k = 48; k <= 57; k++) set[k] = 1;
    for (let k = 65; k <= 90; k++) set[k] = 1;
    for (let k = 97; k <= 122; k++) set[k] = 1;
    set[95] = 1;
    return true;
  }
  // An escaped punctuation character stands for itself; letters other than d/w are classes or
  // control escapes we do not model.
  if (/^[!-/:-@[-`{-~]$/.test(c)) { set[c.charCodeAt(0)] = 1; return true; }
  return false;
}

/** Parses `[...]` starting after '['; returns the index after ']' or -1 if unsupported. */
function parseClass(src: string, i: number, set: Uint8Array): number {
  if (src[i] === '^' || src[i] === ']') return -1;
  while (i < src.length && src[i] !== ']') {
    let lo: number;
    if (src[i] === '\\') {
      const e = src[i + 1];
      if (e === undefined) return -1;
      if (e === 'd' || e === 'w') { addClassEscape(set, e); i += 2; continue; }
      if (!/^[!-/:-@[-`{-~]$/.test(e)) return -1;
      lo = e.charCodeAt(0);
      i += 2;
    } else {
      lo = src.charCodeAt(i);
      if (lo < 0x20 || lo > 0x7e || src[i] === '[') return -1;
      i++;
    }
    if (src[i] === '-' && src[i + 1] !== undefined && src[i + 1] !== ']') {
      const hiChar = src[i + 1];
      if (hiChar === '\\' || hiChar === '[') return -1;
      const hi = hiChar.charCodeAt(0);
      if (hi < lo || hi > 0x7e) return -1;
      for (let k = lo; k <= hi; k++) set[k] = 1;
      i += 2;
    } else {
      set[lo] = 1;
    }
  }
  return src[i] === ']' ? i + 1 : -1;
}

/** Parses an optional quantifier at i into atom; returns the index after it, or -1 if unsupported. */
function parseQuantifier(src: string, i: number, atom: Atom): number {
  const c = src[i];
  if (c === '*') { atom.min = 0; atom.max = Infinity; i++; }
  else if (c === '+') { atom.min = 1; atom.max = Infinity; i++; }
  else if (c === '?') { atom.min = 0; atom.max = 1; i++; }
  else if (c === '{') {
    const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(src.slice(i));
    if (!m) return -1;
    atom.min = Number(m[1]);
    atom.max = m[2] === undefined ? atom.min : m[3] === '' ? Infinity : Number(m[3]);
    if (atom.max < atom.min) return -1;
    i += m[0].length;
  }
  // A lazy or possessive suffix changes nothing for a fully anchored match, but keep the grammar small.
  if (src[i] === '?' || src[i] === '+' || src[i] === '*' || src[i] === '{') return -1;
  return i;
}

/** Compiles `source` to a byte matcher, or returns null when the pattern is outside the supported shape. */
export function compileBytePattern(source: string): BytePattern | null {
  if (!source.startsWith('^') || !source.endsWith('$') || source.endsWith('\\$')) return null;
  const body = source.slice(1, -1);
  const atoms: Atom[] = [];
  let i = 0;
  while (i < body.length) {
    const atom: Atom = { set: new Uint8Array(128), min: 1, max: 1 };
    const c = body[i];
    if (c === '[') {
      i = parseClass(body, i + 1, atom.set);
    } else if (c === '\\') {
      const e = body[i + 1];
      i = e !== undefined && addClassEscape(atom.set, e) ? i + 2 : -1;
    } else if (!META.has(c) && c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0x7e) {
      atom.set[c.charCodeAt(0)] = 1;
      i++;
    } else {
      i = -1;
    }
    if (i < 0) return null;
    i = parseQuantifier(body, i, atom);
    if (i < 0) return null;
    atoms.push(atom);
  }
  return new AtomPattern(atoms);
}

/**
 * The compiled matcher. One class (not a closure per pattern) so the call site in the filter stays
 * monomorphic and V8 can inline test(); atoms live in flat typed arrays:
 *
 *   sets  [ atom 0: 128 bytes | atom 1: 128 bytes | ... ]   sets[128 * a + c] = 1 when c matches
 *   mins / maxs  [ atom 0 | atom 1 | ... ]                 (max = Infinity for unbounded)
 */
class AtomPattern implements BytePattern {
  readonly minBytes: number;
  readonly maxBytes: number;
  private readonly count: number;
  private readonly sets: Uint8Array;
  private readonly mins: Int32Array;
  private readonly maxs: Float64Array;
  /** Every atom repeats a fixed number of times: one linear pass decides (no backtracking). */
  private readonly fixed: boolean;
  readonly fixedAtoms: ReadonlyArray<{ set: Uint8Array; count: number }> | null;

  constructor(atoms: readonly Atom[]) {
    this.count = atoms.length;
    this.sets = new Uint8Array(128 * atoms.length);
    atoms.forEach((a, i) => this.sets.set(a.set, 128 * i));
    this.mins = Int32Array.from(atoms, (a) => a.min);
    this.maxs = Float64Array.from(atoms, (a) => a.max);
    this.fixed = atoms.every((a) => a.min === a.max);
    this.fixedAtoms = this.fixed ? atoms.map((a) => ({ set: a.set, count: a.min })) : null;
    let minBytes = 0;
    let maxBytes = 0;
    for (const a of atoms) { minBytes += a.min; maxBytes += a.max; }
    this.minBytes = minBytes;
    this.maxBytes = maxBytes;
  }

  test(bytes: Uint8Array, start: number, end: number): boolean {
    const len = end - start;
    if (len < this.minBytes || len > this.maxBytes) return false;
    if (!this.fixed) return this.matchFrom(bytes, 0, start, end);
    // Fixed counts and len === minBytes: byte p belongs to exactly one atom.
    const sets = this.sets;
    let p = start;
    for (let a = 0; a < this.count; a++) {
      const base = 128 * a;
      for (const stop = p + this.mins[a]; p < stop; p++) {
        const c = bytes[p];
        if (c >= 128 || sets[base + c] === 0) return false;
      }
    }
    return true;
  }

  private matchFrom(bytes: Uint8Array, ai: number, p: number, end: number): boolean {
    if (ai === this.count) return p === end;
    const base = 128 * ai;
    const min = this.mins[ai];
    const max = this.maxs[ai];
    // Greedy run of matching bytes, then give back one at a time (backtracking over this atom only).
    let k = 0;
    while (k < max && p + k < end) {
      const c = bytes[p + k];
      if (c >= 128 || this.sets[base + c] === 0) break;
      k++;
    }
    if (ai === this.count - 1) return k >= min && p + k === end;
    for (; k >= min; k--) if (this.matchFrom(bytes, ai + 1, p + k, end)) return true;
    return false;
  }
}
