/**
 * Transparent huge pages for large shared buffers, through the native module (madvise
 * MADV_HUGEPAGE; native-bindings/src/lib.rs). The Bloom generations of a partition are tens of MiB
 * probed at random: with 4 KiB pages nearly every probe also misses the TLB, with 2 MiB pages the
 * whole filter fits in it. Advice only: without the native module, off Linux, or with THP off, the
 * buffer works the same on normal pages.
 */
import { loadNativeModule } from '../kernels/native-module.js';

/** Below this a buffer spans few huge pages and the TLB already holds its 4 KiB pages. */
const MIN_ADVISED_BYTES = 8 << 20;

/** Advises huge pages for `buffer` (call it before the buffer is written); true when madvise accepted the advice. */
export function adviseHugePages(buffer: SharedArrayBuffer): boolean {
  if (buffer.byteLength < MIN_ADVISED_BYTES) return false;
  const mod = loadNativeModule();
  if (mod === null || typeof mod.adviseHugePages !== 'function') return false;
  return mod.adviseHugePages(new Uint8Array(buffer));
}
