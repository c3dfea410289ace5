/**
 * The native decoder's plan: an input config's rules (as filter/row-filter.ts compiles them) and the staging
 * batch layout's offsets, flattened once into three typed arrays that native-bindings/src/plan.rs
 * reads when a decoder is created. Nothing of it crosses the boundary again per call.
 *
 *   ints    [ header: 8 | field 0: 18 | field 1: 18 | ... | atoms: 3 each | enum values: 2 each ]
 *   floats  [ field 0: lo, hi, defaultNumber | field 1 ... ]
 *   bytes   [ names | enum values | default strings | pattern sets (128 bytes per atom) ]
 *
 *   header  0 version  1 fieldCount  2 maxLineBytes  3 rowCapacity  4 slotBytes  5 atomCount  6 enumValueCount
 *   field   0 kind (K_*)  1 flags  2 valuesOffset  3 offsetsOffset  4 stringBytes  5 hashOffset (-1 = none)
 *           6 validityOffset  7 minBytes  8 maxBytes  9 nameStart  10 nameLength  11 enumFirst
 *           12 enumCount  13 defaultStart  14 defaultLength  15 atomFirst  16 atomCount (-1 = no pattern)
 *           17 storeMaxBytes (the longest value the JS scanner stores: maxBytes and the pattern's longest)
 *   atom    setStart, min, max (-1 = unbounded)        enum value  start, length
 *
 * Bounds come from compileField, so they already include the type's range (int32, safe integers).
 */
import type { BatchLayout } from '../../runtime/schema.js';
import type { BytePattern } from '../filter/pattern.js';
import { compileField, K_STRING, longestValidBytes } from '../filter/row-filter.js';
import type { InputConfig } from '../input/config.js';
import { PLAN_VERSION } from '../../runtime/native-module.js';

const HEADER_INTS = 8;
const FIELD_INTS = 18;
/** Fields are tracked in 64-bit masks natively. */
export const NATIVE_MAX_FIELDS = 64;
const INT32_MAX = 0x7fffffff;
const F_REQUIRED = 1, F_DEFAULT = 2, F_INTEGER = 4, F_LO_EXCL = 8, F_HI_EXCL = 16;

export interface NativePlan {
  ints: Int32Array;
  floats: Float64Array;
  bytes: Uint8Array;
}

interface Atom { set: Uint8Array; min: number; max: number }

/**
 * The atoms of a compiled byte pattern. filter/pattern.ts keeps them in private typed arrays
 * (count, sets, mins, maxs); they are read here with a shape check, so a change there turns the
 * native decoder off for such configs (create() returns null) instead of matching differently.
 */
function patternAtoms(p: BytePattern): Atom[] | null {
  const inner = p as unknown as { count?: unknown; sets?: unknown; mins?: unknown; maxs?: unknown };
  const { count, sets, mins, maxs } = inner;
  if (typeof count !== 'number' || !(sets instanceof Uint8Array) || !(mins instanceof Int32Array) || !(maxs instanceof Float64Array)) return null;
  if (sets.length !== 128 * count || mins.length !== count || maxs.length !== count) return null;
  const atoms: Atom[] = [];
  for (let a = 0; a < count; a++) {
    const max = maxs[a];
    if (max !== Infinity && (!Number.isInteger(max) || max > INT32_MAX)) return null;
    atoms.push({ set: sets.subarray(128 * a, 128 * (a + 1)), min: mins[a], max: max === Infinity ? -1 : max });
  }
  return atoms;
}

/** The plan for `cfg` writing into batches of `layout`, or a reason why native cannot take this config. */
export function buildNativePlan(cfg: InputConfig, layout: BatchLayout): NativePlan | string {
  const names = Object.keys(cfg.fields);
  if (names.length > NATIVE_MAX_FIELDS) return `more than ${NATIVE_MAX_FIELDS} declared fields`;
  const enc = new TextEncoder();
  const blob: number[] = [];
  const put = (bytes: ArrayLike<number>): number => {
    const at = blob.length;
    for (let k = 0; k < bytes.length; k++) blob.push(bytes[k]);
    return at;
  };
  const fieldInts: number[] = [];
  const floats: number[] = [];
  const atomInts: number[] = [];
  const enumInts: number[] = [];
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const f = cfg.fields[name];
    const col = layout.columns[i];
    if (col === undefined || col.spec.name !== name || col.spec.type !== f.type) return 'the layout is not inputSchemaToBatchSchema(cfg)';
    const r = compileField(f, i);
    if (r.regex !== null) return `field ${name}: its pattern needs a RegExp`;
    const nameBytes = enc.encode(name);
    const nameStart = put(nameBytes);
    const enumFirst = enumInts.length / 2;
    for (const v of f.values ?? []) {
      const b = enc.encode(v);
      enumInts.push(put(b), b.length);
    }
    const defaultStart = put(r.defaultBytes);
    let atomFirst = 0;
    let atomCount = -1;
    if (r.bytePattern !== null) {
      const atoms = patternAtoms(r.bytePattern);
      if (atoms === null) return `field ${name}: the byte pattern's atoms are not readable`;
      atomFirst = atomInts.length / 3;
      atomCount = atoms.length;
      for (const a of atoms) atomInts.push(put(a.set), a.min, a.max);
    }
    const flags = (r.required ? F_REQUIRED : 0) | (r.hasDefault ? F_DEFAULT : 0) | (r.integer ? F_INTEGER : 0) |
      (r.loExclusive ? F_LO_EXCL : 0) | (r.hiExclusive ? F_HI_EXCL : 0);
    const isString = r.kind === K_STRING;
    // The rule's own bound, not the pattern's: a longer value that the pattern alone forbids is
    // bad_pattern, not too_long (RowFilter.check), and native's pattern test fails it either way.
    const maxBytes = isString ? Math.min(r.maxBytes, INT32_MAX) : 0;
    fieldInts.push(
      r.kind, flags, col.valuesOffset, isString ? col.offsetsOffset : -1, isString ? col.stringBytes : 0, col.hashOffset,
      col.validityOffset, isString ? Math.min(r.minBytes, INT32_MAX) : 0, maxBytes, nameStart, nameBytes.length,
      enumFirst, (f.values ?? []).length, defaultStart, r.defaultBytes.length, atomFirst, atomCount,
      isString ? Math.min(longestValidBytes(f), INT32_MAX) : 0,
    );
    floats.push(r.lo, r.hi, r.defaultNumber);
  }
  const header = [PLAN_VERSION, names.length, cfg.maxLineBytes, layout.rowCapacity, layout.slotBytes, atomInts.length / 3, enumInts.length / 2, 0];
  if (header.length !== HEADER_INTS || fieldInts.length !== FIELD_INTS * names.length) throw new Error('decode-native-plan: plan shape drifted');
  return {
    ints: Int32Array.from([...header, ...fieldInts, ...atomInts, ...enumInts]),
    floats: Float64Array.from(floats),
    bytes: Uint8Array.from(blob),
  };
}
