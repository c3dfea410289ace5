/**
 * The produce-side kafkajs patch (src/sinks/kafka/producer-patch.ts). Each case runs in a child
 * process of its own (compiled dist/: run `npx tsc -p tsconfig.json` first), because the patch works
 * on Node's module cache and only before kafkajs loads its record batch encoder, which a shared test
 * process cannot promise.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PATCH = join(ROOT, 'dist', 'src', 'sinks', 'kafka', 'producer-patch.js');

function runChild(script: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

const PRELUDE = `
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
const require = createRequire(${JSON.stringify(join(ROOT, 'package.json'))});
const jsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js');
const unsigned = (v) => v >>> 0;
`;

describe('kafkajs producer patch', () => {
  it('before kafkajs loads: record batches carry the same CRC-32C as kafkajs computes, from @node-rs/crc32', () => {
    const out = runChild(`${PRELUDE}
const { installProducerPatch, recordBatchCrc } = await import(${JSON.stringify(PATCH)});
const state = installProducerPatch();
const { Kafka } = await import('kafkajs');
const inUse = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') === recordBatchCrc;
let mismatches = 0;
for (const n of [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4096, 131072 + 3]) {
  for (let k = 0; k < 5; k++) {
    const b = randomBytes(n);
    if (recordBatchCrc(b) !== unsigned(jsCrc(b))) mismatches++;
  }
}
// A whole record batch as the producer encodes it: the CRC field covers the bytes after it.
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js');
const records = Array.from({ length: 50 }, (_, i) => Record({ offsetDelta: i, key: Buffer.from('k' + i), value: randomBytes(3000) }));
const batch = (await RecordBatch({ records, lastOffsetDelta: 49 })).buffer;
const crcField = batch.readUInt32BE(17);
const batchCrcOk = crcField === unsigned(jsCrc(batch.subarray(21)));
console.log(JSON.stringify({ ...state, inUse, mismatches, batchCrcOk, kafka: typeof Kafka }));
`);
    expect(out).toEqual({ nativeCrc: true, unzeroedGrowth: true, inUse: true, mismatches: 0, batchCrcOk: true, kafka: 'function' });
  });

  it('after kafkajs has encoded a record batch: the CRC stays kafkajs own and the patch says so', () => {
    const out = runChild(`${PRELUDE}
await import('kafkajs');
require('kafkajs/src/protocol/requests/produce/v3/request.js');
const { installProducerPatch, recordBatchCrc } = await import(${JSON.stringify(PATCH)});
const state = installProducerPatch();
const inUse = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') === recordBatchCrc;
console.log(JSON.stringify({ ...state, inUse }));
`);
    expect(out).toEqual({ nativeCrc: false, unzeroedGrowth: true, inUse: false });
  });

  it('the unzeroed Encoder still produces exactly the bytes written, across growth', () => {
    const out = runChild(`${PRELUDE}
const { installProducerPatch } = await import(${JSON.stringify(PATCH)});
installProducerPatch();
const Encoder = require('kafkajs/src/protocol/encoder.js');
const parts = Array.from({ length: 40 }, (_, i) => randomBytes(1 + i * 997));
const e = new Encoder();
for (const p of parts) e.writeVarIntBytes(p);
const expected = new Encoder(1 << 22);
for (const p of parts) expected.writeVarIntBytes(p);
console.log(JSON.stringify({ equal: Buffer.compare(e.buffer, expected.buffer) === 0, bytes: e.buffer.length }));
`);
    expect(out.equal).toBe(true);
    expect(out.bytes).toBeGreaterThan(40 * 997);
  });
});
