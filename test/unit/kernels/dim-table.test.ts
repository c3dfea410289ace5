import { mkdtempSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDimTableShared, DimTableReader } from '../../../src/kernels/enrich/dim-table.js';
import { DimTableLoader, parseCsv } from '../../../src/kernels/enrich/dim-table-loader.js';
import { EnrichKernel } from '../../../src/kernels/enrich/enrich.js';
import { hashString } from '../../../src/kernels/shared/xxhash32.js';
import { fillBatch, layoutFor, type TestEvent } from './pipeline-fixture.js';
import { BatchView } from '../../../src/runtime/batch.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'ringflow-dim-'));

function lookup(reader: DimTableReader, key: string): number {
  const [lo, hi] = hashString(key);
  reader.begin();
  try {
    return reader.lookup(lo, hi, 0);
  } finally {
    reader.end();
  }
}

describe('parseCsv (RFC 4180)', () => {
  it('handles quotes, escaped quotes, embedded commas and line breaks, CRLF and a missing final newline', () => {
    expect(parseCsv('a,b\r\n"x,1","say ""hi"""\n"multi\nline",\n,z')).toEqual([
      ['a', 'b'], ['x,1', 'say "hi"'], ['multi\nline', ''], ['', 'z'],
    ]);
    expect(parseCsv('k,v\n\nA,1\n')).toEqual([['k', 'v'], ['A', '1']]);
  });

  it('rejects an unterminated quote and a stray quote', () => {
    expect(() => parseCsv('a\n"open')).toThrow(/unterminated/);
    expect(() => parseCsv('a\nx"y')).toThrow(/quote inside/);
  });
});

describe('dim table', () => {
  it('loads the example countries table; a missing key gets the default id', async () => {
    const shared = createDimTableShared(1024, 64, 4);
    const loader = new DimTableLoader(shared, {
      path: new URL('../../../examples/dims/countries.csv', import.meta.url).pathname,
      keyColumn: 'country', valueColumn: 'region', defaultValue: 'unknown',
    });
    expect(await loader.load()).toBe(1);
    const reader = new DimTableReader(shared, 0);
    const region = (c: string): string => loader.dictionary[lookup(reader, c)];
    expect(region('US')).toBe('north_america');
    expect(region('NZ')).toBe('oceania');
    expect(region('KE')).toBe('africa');
    expect(region('ZZ')).toBe('unknown');
    expect(region('us')).toBe('unknown');
    expect(loader.dictionary[0]).toBe('unknown');
  });

  it('a table that cannot be read fails with its own error code, not a source failure', async () => {
    const loader = new DimTableLoader(createDimTableShared(16, 16, 1), {
      path: join(tmp(), 'absent.csv'), keyColumn: 'k', valueColumn: 'v', defaultValue: 'unknown',
    });
    await expect(loader.load()).rejects.toMatchObject({ code: 'DIM_TABLE_FAILED', name: 'DimTableError' });
  });

  it('reloads on file change without stopping readers; ids stay stable; a bad file keeps the old table', async () => {
    const dir = tmp();
    const path = join(dir, 'dim.csv');
    writeFileSync(path, 'code,name\nA,alpha\nB,beta\n');
    const shared = createDimTableShared(16, 16, 2);
    const loader = new DimTableLoader(shared, { path, keyColumn: 'code', valueColumn: 'name', defaultValue: 'none' });
    await loader.load();
    const reader = new DimTableReader(shared, 1);
    const betaId = lookup(reader, 'B');
    expect(loader.dictionary[betaId]).toBe('beta');

    // A reader pinned on version 1 during the reload keeps reading version 1 consistently.
    const [alo, ahi] = hashString('A');
    reader.begin();
    const reloaded = new Promise<number>((resolve, reject) => loader.watch(10, resolve, reject));
    writeFileSync(path, 'code,name\nA,gamma\nB,beta\nC,"quoted, value"\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const version = await reloaded;
    expect(version).toBe(2);
    expect(loader.dictionary[reader.lookup(alo, ahi, 0)]).toBe('alpha');
    reader.end();
    // The next batch picks up the new version.
    expect(loader.dictionary[lookup(reader, 'A')]).toBe('gamma');
    expect(loader.dictionary[lookup(reader, 'C')]).toBe('quoted, value');
    expect(lookup(reader, 'B')).toBe(betaId);

    // Version 3 must wait for readers of version 1 (same region) — none left — then publishes.
    const failed = new Promise<unknown>((resolve) => { loader.unwatch(); loader.watch(10, () => resolve('reloaded'), resolve); });
    writeFileSync(path, 'code,name\nA,"broken\n');
    utimesSync(path, new Date(), new Date(Date.now() + 10_000));
    expect(String(await failed)).toMatch(/unterminated/);
    loader.unwatch();
    expect(loader.version).toBe(2);
    expect(loader.dictionary[lookup(reader, 'A')]).toBe('gamma');
  });

  it('refuses to overwrite a region a reader still uses until it is released', async () => {
    const dir = tmp();
    const path = join(dir, 'dim.csv');
    writeFileSync(path, 'k,v\nx,1\n');
    const shared = createDimTableShared(8, 8, 2);
    const loader = new DimTableLoader(shared, { path, keyColumn: 'k', valueColumn: 'v', defaultValue: '?' });
    await loader.load(); // version 1 in region 1
    const reader = new DimTableReader(shared, 0);
    reader.begin(); // pins version 1
    await loader.load(); // version 2 goes to region 0: allowed
    const third = loader.load(); // version 3 needs region 1: waits for the reader
    await new Promise((r) => setTimeout(r, 30));
    expect(loader.version).toBe(2);
    reader.end();
    expect(await third).toBe(3);
  });
});

describe('enrich kernel', () => {
  it('writes value ids per row from the column bytes; unknown keys get the default', async () => {
    const shared = createDimTableShared(1024, 64, 2);
    const loader = new DimTableLoader(shared, {
      path: new URL('../../../examples/dims/countries.csv', import.meta.url).pathname,
      keyColumn: 'country', valueColumn: 'region', defaultValue: 'unknown',
    });
    await loader.load();
    const layout = layoutFor(8);
    const countries = ['DE', 'ZZ', 'JP', 'BR', 'XX', 'AU'];
    const events: TestEvent[] = countries.map((c, i) => ({ event_id: `e${i}`, ts: 1e12, user_id: 'u', type: 'view', country: c, line: i + 1 }));
    const batch = fillBatch(BatchView.standalone(layout), events);
    const out = new Int32Array(8);
    new EnrichKernel({ table: shared, joinOn: 'country', as: 'region' }, 0).run(batch, out);
    expect(Array.from(out.subarray(0, 6), (id) => loader.dictionary[id])).toEqual(
      ['europe', 'unknown', 'asia', 'south_america', 'unknown', 'oceania']);
  });

  it('property: ids equal a hash lookup per row, short (cached) and long keys, across table reloads', async () => {
    // Keys of 1..3 bytes take the kernel's cache (multi-byte UTF-8 too), longer ones the hash path.
    const known = ['A', 'AB', 'ABC', 'ABCD', 'é', '€', 'x€', 'Zz9', 'long-key-1'];
    const unknown = ['Q', 'QQ', 'QQQ', 'QQQQ', 'ü'];
    const dir = tmp();
    const path = join(dir, 'dim.csv');
    const shared = createDimTableShared(64, 64, 2);
    const loader = new DimTableLoader(shared, { path, keyColumn: 'k', valueColumn: 'v', defaultValue: 'none' });
    const kernel = new EnrichKernel({ table: shared, joinOn: 'country', as: 'v' }, 0);
    const reader = new DimTableReader(shared, 1);
    const layout = layoutFor(64);
    const out = new Int32Array(64);
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ mapping: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: known.length, maxLength: known.length }),
        rows: fc.array(fc.constantFrom(...known, ...unknown), { minLength: 1, maxLength: 64 }) }), { minLength: 1, maxLength: 4 }),
      async (rounds) => {
        for (const { mapping, rows } of rounds) {
          // A new table version each round: some keys change value, some leave the table (mapping 0).
          const lines = known.flatMap((k, i) => (mapping[i] === 0 ? [] : [`"${k}",value-${mapping[i]}`]));
          writeFileSync(path, `k,v\n${lines.join('\n')}\n`);
          await loader.load();
          const batch = fillBatch(BatchView.standalone(layout), rows.map((c, i) => ({ event_id: `e${i}`, ts: 1e12, user_id: 'u', type: 'view' as const, country: c, line: i + 1 })));
          kernel.run(batch, out);
          expect(Array.from(out.subarray(0, rows.length))).toEqual(rows.map((k) => lookup(reader, k)));
        }
      }), { numRuns: 60 });
  });
});
