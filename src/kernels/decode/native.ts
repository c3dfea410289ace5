/**
 * The optional native NDJSON decoder (native-bindings/, Rust + Node-API): a fast path in front of the
 * JS decoder (ndjson.ts). One call decodes a block of lines straight into the batch being
 * filled (a staging batch, or a ring slot) and stops at the first line it is not certain the JS
 * decoder would accept with the same column contents, or would reject with a verdict native can give
 * exactly (STOP_REJECT); the JS decoder decides a declined line, then native continues from the next.
 *
 * What native writes per accepted row: every declared column (values, string bytes and offsets,
 * validity bits, defaults of absent/null optional fields) and, unless setHashKeys(false), the key
 * hashes of hashed string columns, byte-identical to the JS decoder. What the caller still does per accepted row k (row rowStart + k),
 * in order, as RowFinisher.finishRows does:
 *   1. __line = firstLineNumber + lineIndex[k] (validity set);
 *   2. __late = 0 and __raw an empty null span (__late validity set): the event-time gate after
 *      decoding (pipeline/event-time-gate.ts) flags late rows and copies their lines;
 *   3. staging.rowCount = rowStart + rows.
 * Then: linesConsumed physical lines were used (linesBlank of them blank: count them as the JS does);
 * on stopReason STOP_LINE hand the line at stopOffset to the JS decoder (after setting rowCount; if
 * illFormed, it is `bad_utf8`: the lines native decodes or rejects are well-formed UTF-8), on
 * STOP_REJECT reject it with the verdict native gives, and call native again after it. The JS decoder's own state (skipping the rest of an over-long line,
 * unterminated tails, `final`) stays with the JS decoder: native only ever sees complete lines.
 *
 * Output array shared with native (one Int32Array, views made once):
 *   [ status: rows, stopOffset, linesConsumed, linesBlank, stopReason, verdict, rejectNewline, illFormed |
 *     lineStarts: rowCapacity | lineEnds: rowCapacity | lineIndex: rowCapacity ]
 */
import { KernelError } from '../../errors.js';
import type { BatchView } from '../../runtime/batch.js';
import type { BatchLayout } from '../../runtime/schema.js';
import { buildNativePlan } from './native-plan.js';
import { reasonCodes } from '../filter/row-filter.js';
import type { InputConfig } from '../input/config.js';
import { loadNativeModule, nativeModuleProblem, type NativeDecoderHandle } from '../../runtime/native-module.js';

/** All complete lines of the range were consumed; stopOffset is the start of the unterminated tail. */
export const STOP_END = 0;
/** Native declined the line at stopOffset: the JS decoder decides it. */
export const STOP_LINE = 1;
/** The row limit was reached; stopOffset is the next line. */
export const STOP_ROWS = 2;
/**
 * The line at stopOffset breaks a rule: `verdict` is RowFilter.check's verdict for it (a RowFilter
 * reason id), `rejectNewline` the index of its '\n'. Reject it and call native again after it.
 */
export const STOP_REJECT = 3;

const STATUS_INTS = 8;

export class NativeBlockDecoder {
  /** Per accepted row k of the last decode(): start of its line in the chunk. */
  readonly lineStarts: Int32Array;
  /** Per accepted row k: end of the line's content (before '\n' and one trailing '\r'). */
  readonly lineEnds: Int32Array;
  /** Per accepted row k: the line's 0-based index among the lines the last call consumed. */
  readonly lineIndex: Int32Array;
  readonly layout: BatchLayout;
  private readonly handle: NativeDecoderHandle;
  private readonly out: Int32Array;
  /** Reason of each verdict id native may report (filter/row-filter.ts reasonCodes). */
  private readonly reasons: readonly string[];
  /** Layouts found equal to `layout` (a staging batch's bytes view is cached by BatchView itself). */
  private readonly checkedLayouts = new WeakSet<BatchLayout>();

  private constructor(handle: NativeDecoderHandle, layout: BatchLayout, reasons: readonly string[]) {
    this.handle = handle;
    this.layout = layout;
    this.reasons = reasons;
    const cap = layout.rowCapacity;
    this.out = new Int32Array(STATUS_INTS + 3 * cap);
    this.lineStarts = this.out.subarray(STATUS_INTS, STATUS_INTS + cap);
    this.lineEnds = this.out.subarray(STATUS_INTS + cap, STATUS_INTS + 2 * cap);
    this.lineIndex = this.out.subarray(STATUS_INTS + 2 * cap, STATUS_INTS + 3 * cap);
  }

  /** Why create() gives null for this config and layout, or null when it would not. */
  static unsupportedReason(cfg: InputConfig, layout: BatchLayout): string | null {
    if (loadNativeModule() === null) return nativeModuleProblem();
    const plan = buildNativePlan(cfg, layout);
    return typeof plan === 'string' ? plan : null;
  }

  /**
   * A native decoder for `cfg` writing batches of `layout` (from inputSchemaToBatchSchema(cfg)), or
   * null when the module is not available or the config is outside what native handles (a pattern
   * that needs a RegExp, more than 64 fields).
   */
  static create(cfg: InputConfig, layout: BatchLayout): NativeBlockDecoder | null {
    const mod = loadNativeModule();
    if (mod === null) return null;
    const plan = buildNativePlan(cfg, layout);
    if (typeof plan === 'string') return null;
    try {
      return new NativeBlockDecoder(new mod.BlockDecoder(plan.ints, plan.floats, plan.bytes), layout, reasonCodes(cfg));
    } catch (err) {
      throw new KernelError(`native decoder rejected its plan: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Decodes the complete lines of chunk[start, end) into `staging` from row staging.rowCount on, up
   * to rowLimit (default: the batch's capacity). Does not change staging.rowCount (see the file
   * comment for what the caller completes per row). Returns the number of rows written.
   */
  decode(chunk: Uint8Array, start: number, end: number, staging: BatchView, rowLimit = this.layout.rowCapacity): number {
    if (staging.layout !== this.layout && !this.checkedLayouts.has(staging.layout)) this.checkLayout(staging.layout);
    if (chunk.buffer === staging.buffer) throw new KernelError('native decode: the chunk and the staging batch share one buffer');
    return this.handle.decode(chunk, start, end, staging.bytes, staging.rowCount, rowLimit, this.out);
  }

  /** Whether decoded rows get the key hashes of hashed string columns (default true; see key-hashes.ts). */
  setHashKeys(on: boolean): void { this.handle.setHashKeys(on); }

  get rowsWritten(): number { return this.out[0]; }
  /** First byte not consumed: the declined line, the next line (rows full) or the unterminated tail. */
  get stopOffset(): number { return this.out[1]; }
  /** Physical lines consumed by the last call: accepted rows + blank lines. */
  get linesConsumed(): number { return this.out[2]; }
  get linesBlank(): number { return this.out[3]; }
  /** STOP_END, STOP_LINE, STOP_ROWS or STOP_REJECT. */
  get stopReason(): number { return this.out[4]; }
  /** STOP_REJECT: the rejected line's dead-letter reason (RowFilter's for the same verdict). */
  get rejectReason(): string { return this.reasons[this.out[5]]; }
  /** STOP_REJECT: index of the rejected line's '\n' in the chunk. */
  get rejectNewline(): number { return this.out[6]; }
  /** STOP_LINE: the declined line is not well-formed UTF-8 (checked when within maxLineBytes). */
  get illFormed(): boolean { return this.out[7] === 1; }

  private checkLayout(layout: BatchLayout): void {
    if (!sameLayout(layout, this.layout)) throw new KernelError('native decode: the staging batch layout differs from the one the decoder was created for');
    this.checkedLayouts.add(layout);
  }
}

function sameLayout(a: BatchLayout, b: BatchLayout): boolean {
  if (a === b) return true;
  if (a.slotBytes !== b.slotBytes || a.rowCapacity !== b.rowCapacity || a.columns.length !== b.columns.length) return false;
  return a.columns.every((c, i) => {
    const d = b.columns[i];
    return c.spec.name === d.spec.name && c.spec.type === d.spec.type && c.valuesOffset === d.valuesOffset &&
      c.offsetsOffset === d.offsetsOffset && c.stringBytes === d.stringBytes && c.hashOffset === d.hashOffset &&
      c.validityOffset === d.validityOffset;
  });
}
