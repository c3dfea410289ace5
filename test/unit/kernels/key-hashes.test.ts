/**
 * Key hashes filled on the worker (key-hashes.ts) equal the ones the decoder writes: the JS decoder's
 * rows (every tier hashes there) against KeyHasher over the same rows with their hashes wiped, native
 * and JS, with null keys and defaults.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createNdjsonDecoder } from '../../../src/kernels/decode/ndjson.js';
import { inputSchemaToBatchSchema, parseInputConfig } from '../../../src/kernels/input/config.js';
import { KeyHasher } from '../../../src/kernels/shared/key-hashes.js';
import { loadNativeModule } from '../../../src/runtime/native-module.js';
import { BatchView } from '../../../src/runtime/batch.js';
import { computeLayout } from '../../../src/runtime/schema.js';

const cfg = parseInputConfig({
  format: 'ndjson', decoder: 'js', fields: {
    id: { type: 'string', required: true, maxBytes: 40, hashed: true, partitionKey: true },
    ts: { type: 'timestamp_ms', required: true, eventTime: true },
    user: { type: 'string', maxBytes: 40, hashed: true },
    tag: { type: 'string', maxBytes: 40, hashed: true, default: 'none' },
    note: { type: 'string', maxBytes: 40 },
  },
});
const layout = computeLayout(inputSchemaToBatchSchema(cfg), 64);
const hashedColumns = layout.columns.filter((c) => c.hashOffset >= 0).map((c) => c.index);

describe.each([['native', true], ['JS', false]])('KeyHasher (%s)', (_name, native) => {
  it.skipIf(native && loadNativeModule()?.hashColumn === undefined)('gives every row the hash the decoder gives it (property)', () => {
    const value = fc.option(fc.string({ maxLength: 30 }), { nil: undefined });
    fc.assert(fc.property(fc.array(fc.record({ id: fc.string({ minLength: 1, maxLength: 30 }), user: value, tag: value }), { minLength: 1, maxLength: 64 }), (rows) => {
      const text = rows.map((r, i) => JSON.stringify({ id: r.id, ts: 1_700_000_000_000 + i, user: r.user ?? null, ...(r.tag === undefined ? {} : { tag: r.tag }) })).join('\n') + '\n';
      const decoded = BatchView.standalone(layout);
      decoded.clear();
      const bytes = new TextEncoder().encode(text);
      const result = createNdjsonDecoder(cfg).decode(bytes, 0, bytes.length, 1, decoded, () => undefined, true);
      expect(result.rowsWritten).toBe(rows.length);
      const wiped = BatchView.standalone(layout);
      new Uint8Array(wiped.buffer).set(new Uint8Array(decoded.buffer));
      for (const c of hashedColumns) wiped.columns[c].hash!.fill(0xdeadbeef);
      new KeyHasher(layout, { native }).fill(wiped);
      for (const c of hashedColumns) {
        expect(Array.from(wiped.columns[c].hash!.subarray(0, 2 * rows.length))).toEqual(Array.from(decoded.columns[c].hash!.subarray(0, 2 * rows.length)));
      }
    }), { numRuns: 100 });
  });
});
