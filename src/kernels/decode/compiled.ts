/**
 * The decoder's fast tier: a line decoder generated per input config for the lines producers write —
 * compact JSON, plain keys (any order; declared ones in declaration order are just the common case),
 * ASCII string values without escapes. Column indexes, key bytes, numeric bounds and kinds are
 * constants in the generated source, so V8 compiles straight-line code per field with no table loads
 * or kind dispatch: much faster than the general scanner + filter (scan.ts, filter/row-filter.ts); a
 * table-driven generic variant of the same idea was not, and was dropped.
 *
 * It only ever accepts: it returns the index of the line's '\n' when the row is valid and complete
 * (declared columns, string offsets, optional fields' validity bits, key hashes of hashed fields,
 * read from the input through `view`), else COMPILED_DECLINE and the general path
 * decides the line (reasons, fallbacks, NO_ROOM). So every check below need only be sufficient: a
 * repeated or escaped key, whitespace, an escape or non-ASCII in a value, a failed rule — all decline.
 *
 * What goes into the source: field indexes, column indexes, int32 key words and numeric bounds (all
 * numbers, printed by lit()). Field names, enum values, patterns and default strings are never
 * spliced into code; the generated function reads them from `deps`.
 *
 * Key match, e.g. `"user_id":` (10 bytes): three little-endian int32 words, the last one ending with
 * the key (it may overlap the one before; every key is at least 4 bytes, `"x":`). The first word is
 * read once per key and compared with every field's first word, so a non-matching field costs one
 * register compare:
 *
 *   bytes  " u s e | r _ i d | i d " :
 *   words  [  w0  ] [  w1  ]
 *                       [  w2  ]      (read at p + 6)
 */
import type { ColumnView } from '../../runtime/batch.js';
import { parseNumberFast } from './number.js';
import { skipValue, skipWs } from './scan.js';
import { PLAIN, scanString, scannedString } from './string.js';
import { FNV_BASIS, FNV_PRIME, type EnumTable } from './enum.js';
import { K_BOOL, K_ENUM, K_STRING, patternMatches, type RuleField } from '../filter/row-filter.js';
import { hash64Into, hash64View } from '../shared/xxhash32.js';

export const COMPILED_DECLINE = -1;

/** Bigger configs skip this tier: one function per config must stay small enough for V8 to optimize well. */
export const COMPILED_MAX_FIELDS = 30;

/** `view` is a DataView over exactly b's bytes (the caller makes one per chunk). */
export type CompiledLineDecoder = (b: Uint8Array, view: DataView<ArrayBufferLike>, p: number, cols: readonly ColumnView[], row: number) => number;

/**
 * Generated factories by source text. Decoders of one config (one per source partition, and on each
 * decode worker) then run one function literal: V8 shares its bytecode, type feedback and optimized
 * code between them, so the JIT warms up once instead of once per partition. One entry per config.
 */
const factories = new Map<string, (...args: unknown[]) => CompiledLineDecoder>();

/** A number as JS source that evaluates to exactly that double. */
function lit(x: number): string {
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (Object.is(x, -0)) return '-0';
  if (!Number.isFinite(x)) throw new Error(`decode: cannot compile the bound ${x}`);
  return `(${String(x)})`;
}

/** Little-endian int32 words of `key`: whole words from its start, then one ending at its end. */
function keyWords(key: Uint8Array): Array<[offset: number, word: number]> {
  const dv = new DataView(key.buffer, key.byteOffset, key.length);
  const words: Array<[number, number]> = [];
  for (let o = 0; o + 4 < key.length; o += 4) words.push([o, dv.getInt32(o, true)]);
  words.push([key.length - 4, dv.getInt32(key.length - 4, true)]);
  return words;
}

/** Small enums: compared inline by length and words (the value is b[p + 1, e)); big ones via the hash table. */
const INLINE_ENUM_VALUES = 16;

function enumSource(i: number, values: readonly Uint8Array[]): string {
  if (values.length > INLINE_ENUM_VALUES) {
    return `h = ${FNV_BASIS};
        for (q = p + 1; q < e; q++) h = Math.imul(h ^ b[q], ${FNV_PRIME});
        v = enums.lookup(${i}, h, b, p + 1, e);`;
  }
  const tests = values.map((value, index) => {
    const same = value.length >= 4
      ? keyWords(value).map(([o, w]) => `view.getInt32(p + ${1 + o}, true) === ${w}`)
      : Array.from(value, (c, k) => `b[p + ${1 + k}] === ${c}`);
    return `if (${[`e - p === ${value.length + 1}`, ...same].join(' && ')}) v = ${index};`;
  });
  return `v = -1;
        ${tests.join('\n        else ')}`;
}

/** A string pattern: fixed-count ASCII atoms checked inline, other byte patterns and RegExps by call. */
function patternSource(i: number, r: RuleField): string {
  const atoms = r.bytePattern?.fixedAtoms;
  if (atoms) {
    let from = 0;
    const loops = atoms.map((a, k) => {
      const loop = `for (q = at + ${from}; q < at + ${from + a.count}; q++) { c = dst[q]; if (c >= 128 || atomSets[${i}][${k}][c] === 0) return -1; }`;
      from += a.count;
      return loop;
    });
    return `if (q - at !== ${from}) return -1;
        ${loops.join('\n        ')}`;
  }
  if (r.bytePattern !== null) return `if (!patterns[${i}].test(dst, at, q)) return -1;`;
  return r.regex !== null ? `if (!patternMatches(rules[${i}], dst, at, q)) return -1;` : '';
}

/** A present value's validity bit; required fields' bits are set per decode call (RowFinisher.setAlwaysValid). */
function validSource(r: RuleField): string {
  return r.required ? '' : 'col.validity[byte] |= bit;';
}

function numberSource(i: number, r: RuleField): string {
  const checks = ['v - v !== 0']; // not finite
  if (r.integer) checks.push('v - Math.floor(v) !== 0');
  if (r.lo !== -Infinity || r.loExclusive) checks.push(r.loExclusive ? `!(v > ${lit(r.lo)})` : `!(v >= ${lit(r.lo)})`);
  if (r.hi !== Infinity || r.hiExclusive) checks.push(r.hiExclusive ? `!(v < ${lit(r.hi)})` : `!(v <= ${lit(r.hi)})`);
  return `
        e = parseNumberFast(b, p, num, 0);
        if (e < 0) return -1;
        v = num[0];
        if (${checks.join(' || ')}) return -1;
        col = cols[${r.column}];
        col.values[row] = v;
        ${validSource(r)}
        p = e;
        s${i} = 1;`;
}

function valueSource(i: number, r: RuleField, storeMaxBytes: number, enumValues: readonly Uint8Array[], hashed: boolean): string {
  if (r.kind === K_STRING) {
    const max = Math.min(storeMaxBytes, 0x7fffffff);
    const pattern = patternSource(i, r);
    return `
        if (b[p] !== 34) return -1;
        col = cols[${r.column}];
        offsets = col.offsets;
        dst = col.values;
        at = offsets[row];
        room = dst.length - at;
        limit = at + (room < ${max} ? room : ${max});
        q = at;
        e = p + 1;
        c = b[e];
        while (PLAIN[c] === 1 && q < limit) { dst[q++] = c; c = b[++e]; }
        if (c !== 34) return -1;
        ${r.minBytes > 0 ? `if (q - at < ${r.minBytes}) return -1;` : ''}
        ${pattern}
        offsets[row + 1] = q;
        ${validSource(r)}
        ${hashed ? 'hash64View(view, p + 1, e, col.hash, 2 * row);' : ''}
        p = e + 1;
        s${i} = 1;`;
  }
  if (r.kind === K_ENUM) {
    return `
        if (b[p] !== 34) return -1;
        e = p + 1;
        c = b[e];
        while (PLAIN[c] === 1) c = b[++e];
        if (c !== 34) return -1;
        ${enumSource(i, enumValues)}
        if (v < 0) return -1;
        col = cols[${r.column}];
        col.values[row] = v;
        ${validSource(r)}
        p = e + 1;
        s${i} = 1;`;
  }
  if (r.kind === K_BOOL) {
    return `
        c = b[p];
        if (c === 116 && b[p + 1] === 114 && b[p + 2] === 117 && b[p + 3] === 101) { v = 1; p += 4; }
        else if (c === 102 && b[p + 1] === 97 && b[p + 2] === 108 && b[p + 3] === 115 && b[p + 4] === 101) { v = 0; p += 5; }
        else return -1;
        col = cols[${r.column}];
        col.values[row] = v;
        ${validSource(r)}
        s${i} = 1;`;
  }
  return numberSource(i, r);
}

/** A field absent or null: declined when required, else its default or null (key hash 0). */
function absentSource(i: number, r: RuleField, hashed: boolean): string {
  if (r.required) return `if (s${i} !== 1) return -1;`;
  if (!r.hasDefault) {
    return `if (s${i} !== 1) {
      col = cols[${r.column}];
      ${r.kind === K_STRING ? 'col.offsets[row + 1] = col.offsets[row];' : ''}
      ${hashed ? 'col.hash[2 * row] = 0; col.hash[2 * row + 1] = 0;' : ''}
      col.validity[byte] &= ~bit;
    }`;
  }
  if (r.kind === K_STRING) {
    return `if (s${i} !== 1) {
      col = cols[${r.column}];
      offsets = col.offsets;
      dst = col.values;
      at = offsets[row];
      const d = defaults[${i}];
      if (at + d.length > dst.length) return -1;
      for (let k = 0; k < d.length; k++) dst[at + k] = d[k];
      offsets[row + 1] = at + d.length;
      ${hashed ? 'hash64Into(dst, at, at + d.length, col.hash, 2 * row);' : ''}
      col.validity[byte] |= bit;
    }`;
  }
  return `if (s${i} !== 1) {
      col = cols[${r.column}];
      col.values[row] = ${lit(r.defaultNumber)};
      col.validity[byte] |= bit;
    }`;
}

/** One branch of the key if-chain: field i's key at p, its value, then s_i = 1 (value) or 2 (null). */
function fieldSource(i: number, name: string, r: RuleField, storeMaxBytes: number, enumValues: readonly Uint8Array[], hashed: boolean): string {
  const key = new TextEncoder().encode(`"${name}":`);
  // w holds the four bytes at p: one register compare rejects most other keys.
  const [[, first], ...rest] = keyWords(key);
  const match = [`w === ${first}`, `p + ${key.length} <= len`, ...rest.map(([o, word]) => `view.getInt32(p + ${o}, true) === ${word}`)].join(' && ');
  return `if (${match}) {
          // A repeated key: JSON.parse keeps the last one; the general path applies that.
          if (s${i} !== 0) return -1;
          p += ${key.length};
          if (b[p] === 110) {
            if (b[p + 1] !== 117 || b[p + 2] !== 108 || b[p + 3] !== 108) return -1;
            p += 4;
            s${i} = 2;
          } else {${valueSource(i, r, storeMaxBytes, enumValues, hashed)}
          }
        }`;
}

/**
 * Generates the first-tier decoder for the declared fields (declaration order). Returns null when the
 * config has more than COMPILED_MAX_FIELDS fields.
 */
export function compileLineDecoder(
  names: readonly string[],
  rules: readonly RuleField[],
  storeMaxBytes: readonly number[],
  enumValues: readonly (readonly Uint8Array[])[],
  enums: EnumTable,
  hashed: readonly boolean[],
): CompiledLineDecoder | null {
  if (names.length > COMPILED_MAX_FIELDS) return null;
  for (const name of names) {
    // Names come validated from input/config.ts; checked again because they shape generated code.
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`decode: field name ${JSON.stringify(name)} is not an identifier`);
  }
  const flags = names.map((_, i) => `s${i} = 0`).join(', ');
  const source = `"use strict";
  return function decodeLine(b, view, p, cols, row) {
    if (b[p] !== 123) return -1;
    p++;
    const len = b.length;
    const byte = row >> 3;
    const bit = 1 << (row & 7);
    let c = 0, e = 0, h = 0, q = 0, v = 0, w = 0;
    let col = null, offsets = null, dst = null, at = 0, room = 0, limit = 0;
    let ${flags};
    body: {
      if (b[p] === 125) break body;
      for (;;) {
        w = p + 4 <= len ? view.getInt32(p, true) : 0;
        ${names.map((name, i) => fieldSource(i, name, rules[i], storeMaxBytes[i], enumValues[i], hashed[i])).join(' else ')} else {
          // Another key: skipped when plain and followed by ':' (its value must still be valid JSON).
          if (b[p] !== 34) return -1;
          e = scanString(b, p + 1);
          if (e < 0 || scannedString.escapes || b[e + 1] !== 58) return -1;
          p = skipValue(b, e + 2, 1);
          if (p < 0) return -1;
        }
        c = b[p];
        if (c === 125) break body;
        if (c !== 44) return -1;
        p++;
      }
    }
    p = skipWs(b, p + 1);
    if (b[p] !== 10) return -1;
    ${names.map((_, i) => absentSource(i, rules[i], hashed[i])).join('\n    ')}
    return p;
  };`;
  const deps = {
    PLAIN, parseNumberFast, skipWs, skipValue, scanString, scannedString, patternMatches, hash64Into, hash64View, enums, rules,
    num: new Float64Array(1),
    patterns: rules.map((r) => r.bytePattern),
    atomSets: rules.map((r) => (r.bytePattern?.fixedAtoms ?? []).map((a) => a.set)),
    defaults: rules.map((r) => r.defaultBytes),
  };
  let factory = factories.get(source);
  if (factory === undefined) {
    factory = new Function(...Object.keys(deps), source) as (...args: unknown[]) => CompiledLineDecoder;
    factories.set(source, factory);
  }
  return factory(...Object.values(deps));
}
