/**
 * The processed-event serializer's row loop in native code (native-bindings/src/events.rs), used by
 * EventSerializer (event-serializer.ts) when the native module has it: one call per batch appends all
 * of the batch's accepted rows, byte for byte what the JS append writes (differential test:
 * test/unit/kernels/event-serializer-native.test.ts).
 *
 * The static parts of a line (field kinds and slot offsets, name and enum literals, the key column,
 * the enriched field's name) go to native once, flattened as events.rs reads them; a call then passes
 * the batch slot's bytes, the enrich value ids and dictionary, the row list and the EventBuffers
 * arrays with their fill positions. Native stops at a row that may not fit: the arrays are grown here
 * and the call repeated from that row, so a batch costs one call plus one per growth.
 */
import { KernelError } from '../../errors.js';
import { loadNativeModule, type NativeEventKernelHandle } from '../../runtime/native-module.js';
import type { BatchLayout, ColumnLayout } from '../../runtime/schema.js';
import type { SharedDictionaryReader } from '../enrich/shared-dictionary.js';
import type { EventBuffers } from './event-buffers.js';

/** Byte strings end to end: item i = bytes[ends[i-1] .. ends[i]). */
export interface PackedLiterals {
  bytes: Uint8Array;
  ends: Int32Array;
}

/** What a line is made of, as EventSerializer derives it from the batch layout. */
export interface EventLinePlan {
  layout: BatchLayout;
  /** The output fields in line order. */
  fields: readonly ColumnLayout[];
  /** Per field: its kind, numbered as event-serializer.ts numbers them (events.rs uses the same numbers). */
  kinds: Uint8Array;
  /** Per field: `"name":`. */
  names: PackedLiterals;
  /** Per field: an enum's value literals, else null. */
  enumLiterals: readonly (PackedLiterals | null)[];
  key: ColumnLayout;
  /** `"as":` of the enriched field; null without enrich. */
  enrichedName: Uint8Array | null;
}

const HEADER_INTS = 8;
const FIELD_INTS = 8;
/** events.rs / lib.rs: state slots and stop reasons of appendRows. */
const STATE_INTS = 6;
const STOP_ROOM = 1;
const NO_INTS = new Int32Array(0);
const NO_BYTES = new Uint8Array(0);

/** The layout ints events.rs reads (its header has the format). */
function flattenLayout(plan: EventLinePlan, enumFirst: readonly number[]): Int32Array {
  const { layout, fields, key } = plan;
  const ints = new Int32Array(HEADER_INTS + FIELD_INTS * fields.length);
  ints.set([layout.slotBytes, layout.rowCapacity, fields.length, key.valuesOffset, key.offsetsOffset, key.stringBytes, key.validityOffset]);
  fields.forEach((c, f) => {
    const count = plan.enumLiterals[f]?.ends.length ?? 0;
    ints.set([plan.kinds[f], c.valuesOffset, Math.max(0, c.offsetsOffset), c.stringBytes, c.validityOffset, enumFirst[f], count], HEADER_INTS + FIELD_INTS * f);
  });
  return ints;
}

/** Every enum field's literals end to end, and the index of each field's first literal. */
function concatEnums(plan: EventLinePlan): { bytes: Uint8Array; ends: Int32Array; first: number[] } {
  const present = plan.enumLiterals.filter((l): l is PackedLiterals => l !== null);
  const bytes = new Uint8Array(present.reduce((n, l) => n + l.bytes.length, 0));
  const ends = new Int32Array(present.reduce((n, l) => n + l.ends.length, 0));
  const first: number[] = [];
  let at = 0;
  let index = 0;
  for (const l of plan.enumLiterals) {
    first.push(index);
    if (l === null) continue;
    bytes.set(l.bytes, at);
    l.ends.forEach((e, i) => { ends[index + i] = at + e; });
    at += l.bytes.length;
    index += l.ends.length;
  }
  return { bytes, ends, first };
}

export class NativeEventWriter {
  /** appendRows' in/out: lineBytes, keyBytes, rows | stop reason, line and key bytes the next row needs. */
  private readonly state = new Uint32Array(STATE_INTS);

  private constructor(private readonly handle: NativeEventKernelHandle, private readonly layout: BatchLayout) {}

  /**
   * A writer for lines of `plan`, or null when the native module is not available (not built,
   * RINGFLOW_NATIVE=0, an older build without EventKernel).
   */
  static create(plan: EventLinePlan): NativeEventWriter | null {
    const Kernel = loadNativeModule()?.EventKernel;
    if (typeof Kernel !== 'function') return null;
    const enums = concatEnums(plan);
    try {
      return new NativeEventWriter(new Kernel(flattenLayout(plan, enums.first), plan.names.bytes, plan.names.ends, enums.bytes, enums.ends,
        plan.enrichedName ?? NO_BYTES), plan.layout);
    } catch (err) {
      throw new KernelError(`native event serializer rejected its plan: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Throws unless batches of `layout` have the slot offsets native was given (it reads the slot by
   * them, where JS reads the batch's own column views). The worker's batches share the plan's layout
   * object, so this is one comparison there.
   */
  checkLayout(layout: BatchLayout): void {
    const mine = this.layout;
    if (layout === mine) return;
    const same = layout.slotBytes === mine.slotBytes && layout.rowCapacity === mine.rowCapacity && layout.columns.length === mine.columns.length
      && layout.columns.every((c, i) => {
        const m = mine.columns[i];
        return c.spec.type === m.spec.type && c.valuesOffset === m.valuesOffset && c.offsetsOffset === m.offsetsOffset
          && c.stringBytes === m.stringBytes && c.validityOffset === m.validityOffset;
      });
    if (!same) throw new KernelError('native event serializer: bound a batch whose layout differs from the one it was built for');
  }

  /**
   * Appends rows[from..count) of the batch in `slot` to `buffers`, growing them as needed. Returns the
   * index of the first row not appended: `count`, or a row whose value id is not among the
   * dictionary's first `dictionaryCount` (for the caller to append in JS, whose check throws).
   */
  appendRows(
    slot: Uint8Array, valueIds: Int32Array | null, dictionary: SharedDictionaryReader | null, dictionaryCount: number,
    rows: Int32Array, from: number, count: number, buffers: EventBuffers,
  ): number {
    const state = this.state;
    let grownFor = -1;
    for (;;) {
      state[0] = buffers.lineBytes;
      state[1] = buffers.keyBytes;
      state[2] = buffers.rows;
      let next: number;
      try {
        next = this.handle.appendRows(slot, valueIds ?? NO_INTS, dictionary?.literals ?? NO_BYTES, dictionary?.ends ?? NO_INTS,
          dictionaryCount, rows, from, count, buffers.lines, buffers.lineEnds, buffers.keys, buffers.keyEnds, state);
      } catch (err) {
        throw new KernelError(`native event serializer: ${(err as Error).message}`, { cause: err });
      }
      buffers.lineBytes = state[0];
      buffers.keyBytes = state[1];
      buffers.rows = state[2];
      if (next >= count || state[3] !== STOP_ROOM) return next;
      // Growing for the row's own report makes room for it, so a second stop there is a bug, not a loop.
      if (next === grownFor) throw new KernelError(`native event serializer: no room for row ${rows[next]} after growing the event buffers`);
      buffers.reserve(state[4], state[5]);
      grownFor = next;
      from = next;
    }
  }
}
