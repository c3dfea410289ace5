/**
 * RowAggregator.add (update.ts) compiled for one aggregate plan and batch layout: the same
 * steps, in the same order, with the plan's choices made once. The generic loop reads each group and
 * metric column through an array of typed arrays of several kinds (Uint16Array enums, Uint8Array
 * bools, Int32Array and Float64Array values), and switches on the operator per metric and row; V8 then
 * compiles every such load as a megamorphic one. Here each column is its own variable holding one kind
 * of array, and each metric is straight-line code. State-bench, aggregate of the canonical pipeline:
 * see BENCHMARKS.md ("processor: aggregate only").
 *
 * The generated source holds only numbers (column indexes, radixes, offsets) and fixed code: no name or
 * value from the config is spliced in, so there is nothing to escape.
 */
import { KernelError } from '../../errors.js';
import type { BatchView } from '../../runtime/batch.js';
import { hllAdd } from './hyperloglog.js';
import type { WindowTable } from './table.js';
import { addExact } from './table.js';
import { fmix32 } from '../../runtime/fmix32.js';
import { hash64Into } from '../shared/xxhash32.js';

/** One group-by field: how its code is read, and its place in the dense key. */
export interface CompiledGroupField {
  /** 'lookup': the enrich value id (lookupIds[r]); else the column's value, its null code when null. */
  kind: 'enum' | 'bool' | 'int32' | 'lookup' | 'source';
  /** Batch column index (unused for 'lookup'). */
  column: number;
  radix: number;
  nullCode: number;
}

export interface CompiledMetric {
  op: 'count' | 'sum' | 'min' | 'max' | 'avg' | 'distinct';
  /** Batch column index (unused for count). */
  column: number;
  /** Offset of the metric's accumulator slots in a cell. */
  accOffset: number;
  /** distinct: offset of its HLL registers in a cell's block. */
  hllOffset: number;
  /** distinct input: 'hash' (the column's 64-bit key hash), 'bytes' (hash the string), 'number' (hash the float64 bits). */
  distinctInput: 'hash' | 'bytes' | 'number';
}

export interface CompiledAggregatePlan {
  groups: CompiledGroupField[];
  metrics: CompiledMetric[];
  sizeMs: number;
  slideMs: number;
  accSlots: number;
  hllBytesPerCell: number;
  hllPrecision: number;
}

export interface CompiledAdd {
  bind(batch: BatchView): void;
  add(r: number, ts: number): void;
}

const num = (n: number): string => {
  if (!Number.isFinite(n)) throw new KernelError(`compiled aggregate: non-finite constant ${n}`);
  return String(n);
};

/** The add function for `plan` over `table` (its arrays are fixed for the table's life). */
export function compileAdd(plan: CompiledAggregatePlan, table: WindowTable, lookupIds: Int32Array): CompiledAdd {
  const vars: string[] = [];
  const binds: string[] = [];
  const keyTerms: string[] = [];
  plan.groups.forEach((g, i) => {
    if (g.kind === 'lookup') {
      keyTerms.push(`lookupIds[r] * ${num(g.radix)}`);
      return;
    }
    vars.push(`g${i}v`, `g${i}n`);
    binds.push(`g${i}v = c[${num(g.column)}].values; g${i}n = c[${num(g.column)}].validity;`);
    const value = g.kind === 'int32' ? `g${i}v[r] + 2147483648` : `g${i}v[r]`;
    keyTerms.push(`((g${i}n[byte] & bit) === 0 ? ${num(g.nullCode)} : ${value}) * ${num(g.radix)}`);
  });
  const metricCode: string[] = [];
  plan.metrics.forEach((m, i) => {
    if (m.op === 'count') return;
    vars.push(`m${i}v`, `m${i}n`);
    binds.push(`m${i}v = c[${num(m.column)}].values; m${i}n = c[${num(m.column)}].validity;`);
    const at = `base + ${num(m.accOffset)}`;
    let body: string;
    if (m.op === 'distinct') {
      let hash: string;
      if (m.distinctInput === 'hash') {
        vars.push(`m${i}h`);
        binds.push(`m${i}h = c[${num(m.column)}].hash;`);
        hash = `lo = m${i}h[2 * r]; hi = m${i}h[2 * r + 1];`;
      } else if (m.distinctInput === 'bytes') {
        vars.push(`m${i}o`);
        binds.push(`m${i}o = c[${num(m.column)}].offsets;`);
        hash = `hash64Into(m${i}v, m${i}o[r], m${i}o[r + 1], scratch, 0); lo = scratch[0]; hi = scratch[1];`;
      } else {
        hash = `f64[0] = m${i}v[r]; lo = fmix32(f64Words[0] ^ 0x9e3779b9); hi = fmix32(f64Words[1] ^ lo);`;
      }
      body = `${hash} hllAdd(hll, cell * ${num(plan.hllBytesPerCell)} + ${num(m.hllOffset)}, ${num(plan.hllPrecision)}, lo, hi);`;
    } else if (m.op === 'sum') {
      body = `addExact(acc, ${at}, m${i}v[r]);`;
    } else if (m.op === 'max') {
      body = `const v = m${i}v[r]; if (v > acc[${at}]) acc[${at}] = v;`;
    } else if (m.op === 'min') {
      body = `const v = m${i}v[r]; if (v < acc[${at}]) acc[${at}] = v;`;
    } else {
      body = `addExact(acc, ${at}, m${i}v[r]); acc[${at} + 2]++;`;
    }
    metricCode.push(`if ((m${i}n[byte] & bit) !== 0) { ${body} }`);
  });
  const source = `
    'use strict';
    const count = table.count, acc = table.acc, hll = table.hll;
    const scratch = new Uint32Array(2), f64 = new Float64Array(1), f64Words = new Uint32Array(f64.buffer);
    ${vars.length > 0 ? `let ${vars.join(', ')};` : ''}
    function bind(batch) {
      const c = batch.columns;
      ${binds.join('\n      ')}
    }
    function add(r, ts) {
      const bit = 1 << (r & 7);
      const byte = r >> 3;
      let key = 0;
      ${keyTerms.map((t) => `key += ${t};`).join('\n      ')}
      const first = (Math.floor((ts - ${num(plan.sizeMs)}) / ${num(plan.slideMs)}) + 1) * ${num(plan.slideMs)};
      for (let start = Math.floor(ts / ${num(plan.slideMs)}) * ${num(plan.slideMs)}; start >= first; start -= ${num(plan.slideMs)}) {
        const cell = table.cellFor(start, key);
        count[cell]++;
        const base = cell * ${num(plan.accSlots)};
        let lo = 0, hi = 0;
        ${metricCode.join('\n        ')}
      }
    }
    return { bind, add };`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const factory = new Function('table', 'lookupIds', 'hllAdd', 'addExact', 'hash64Into', 'fmix32', source) as (
    t: WindowTable, l: Int32Array, h: typeof hllAdd, a: typeof addExact, x: typeof hash64Into, f: typeof fmix32) => CompiledAdd;
  return factory(table, lookupIds, hllAdd, addExact, hash64Into, fmix32);
}
