/** How the scatter copies each column: the codes the JS loops and the native copier (scatter.rs) share. */
import type { BatchLayout } from '../schema.js';

export const KIND_F64 = 0;
export const KIND_I32 = 1;
export const KIND_U8 = 2;
export const KIND_U16 = 3;
export const KIND_STRING = 4;

export function columnKinds(layout: BatchLayout): Uint8Array {
  return Uint8Array.from(layout.columns, (c) => {
    switch (c.spec.type) {
      case 'int32': return KIND_I32;
      case 'bool': return KIND_U8;
      case 'enum': return KIND_U16;
      case 'string': return KIND_STRING;
      default: return KIND_F64;
    }
  });
}
