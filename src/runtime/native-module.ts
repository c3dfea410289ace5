/**
 * Loading of the optional native module (native-bindings/, Rust + Node-API), for every thread that
 * uses it: the main thread's NDJSON decoder (kernels/decode/native.ts) and scatter copy
 * (runtime/scatter/native.ts), the workers' Bloom kernel (kernels/dedupe/bloom.ts) and event
 * serializer (kernels/events/native-serializer.ts). Its own module so a worker thread loads the
 * binary without the decoder's plan builder and config code.
 *
 * Each part of the module is optional to its caller: a build from an older checkout may lack a newer
 * export, and every caller falls back to its JS twin (same results, more CPU) when its part is missing.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * The decoder plan format and result protocol this code speaks (kernels/decode/native-plan.ts,
 * STOP_REJECT in kernels/decode/native.ts); a build speaking another is not used. 2: rejects with a
 * verdict; 3: storeMaxBytes.
 */
export const PLAN_VERSION = 3;

export interface NativeDecoderHandle {
  decode(chunk: Uint8Array, start: number, end: number, slot: Uint8Array, rowStart: number, rowLimit: number, out: Int32Array): number;
  setHashKeys(on: boolean): void;
}

export interface NativeSlotScatterHandle {
  copySegment(staging: Uint8Array, slots: Uint8Array[], part: Uint16Array, start: number, count: number, base: Int32Array): void;
}

export interface NativeBloomHandle {
  checkAndAdd(
    words: Uint32Array, hashes: Uint32Array, timesMs: Float64Array, from: number, to: number, duplicateOut: Uint8Array,
    newestSlot: number, noRotationBeforeMs: number, started: boolean, rotatedFirst: boolean, status: Int32Array,
  ): number;
}

export interface NativeEventKernelHandle {
  /**
   * Rows rows[from..to) of the batch in `slot` appended to the event arrays from the fill positions in
   * state[0..3) (lineBytes, keyBytes, rows); writes the new positions back, state[3] = why it stopped
   * and state[4], state[5] = the line and key bytes the next row needs. Returns the first row index not appended.
   */
  appendRows(
    slot: Uint8Array, valueIds: Int32Array, dictLiterals: Uint8Array, dictEnds: Int32Array, dictCount: number,
    rows: Int32Array, from: number, to: number, lines: Uint8Array, lineEnds: Uint32Array, keys: Uint8Array, keyEnds: Uint32Array,
    state: Uint32Array,
  ): number;
}

export interface NativeModule {
  BlockDecoder: new (ints: Int32Array, floats: Float64Array, bytes: Uint8Array) => NativeDecoderHandle;
  /** The key hash of bytes[start, end) into out[at], out[at + 1] (tests compare it with hash64Into). */
  hash64Into(bytes: Uint8Array, start: number, end: number, out: Uint32Array, at: number): void;
  planVersion(): number;
  SlotScatter?: new (staging: Int32Array, slot: Int32Array) => NativeSlotScatterHandle;
  BloomKernel?: new (blocks: number, generations: number, probes: number) => NativeBloomHandle;
  /** Key hashes of rows 0..rows of a string column into out (lo, hi per row; (0, 0) for a null). */
  hashColumn?: (values: Uint8Array, offsets: Int32Array, validity: Uint8Array, out: Uint32Array, rows: number) => void;
  /** The processed-event serializer's row loop (kernels/events/native-serializer.ts flattens its plan). */
  EventKernel?: new (
    layout: Int32Array, names: Uint8Array, nameEnds: Int32Array, enumBytes: Uint8Array, enumEnds: Int32Array, enrichedName: Uint8Array,
  ) => NativeEventKernelHandle;
}

let loaded: NativeModule | null | undefined;
let loadProblem: string | null = null;

/** Where the build script puts the module, from src/runtime/ (tests) or dist/src/runtime/ (compiled). */
const CANDIDATES = ['../../native-bindings/ringflow_native.node', '../../../native-bindings/ringflow_native.node'];

/**
 * The native module, or null when it is not built, fails to load, is from another plan version, or
 * RINGFLOW_NATIVE=0. Loaded once per thread; never throws.
 */
export function loadNativeModule(): NativeModule | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  if (process.env.RINGFLOW_NATIVE === '0') {
    loadProblem = 'disabled by RINGFLOW_NATIVE=0';
    return null;
  }
  const path = CANDIDATES.map((c) => fileURLToPath(new URL(c, import.meta.url))).find((p) => existsSync(p));
  if (path === undefined) {
    loadProblem = 'native-bindings/ringflow_native.node is not built (run: bash scripts/build-native.sh)';
    return null;
  }
  try {
    const mod = createRequire(import.meta.url)(path) as NativeModule;
    const version = mod.planVersion();
    if (version !== PLAN_VERSION) {
      loadProblem = `${path} reads plan version ${version}, this code writes ${PLAN_VERSION} (rebuild it)`;
      return null;
    }
    loaded = mod;
  } catch (err) {
    loadProblem = `${path} failed to load: ${(err as Error).message}`;
  }
  return loaded;
}

/** Why loadNativeModule() returned null (null when it loaded or was not tried). */
export function nativeModuleProblem(): string | null {
  return loadProblem;
}
