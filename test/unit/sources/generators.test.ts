import { describe, expect, test } from 'vitest';
import { createGeneratorSource } from '../../../src/sources/create-source.js';
import { CdcGenerator, type CdcRow } from '../../../src/sources/generators/cdc-generator.js';
import { GeneratorSource } from '../../../src/sources/generators/generator-source.js';
import { IotGenerator, SENSOR_KINDS } from '../../../src/sources/generators/iot-generator.js';
import { generatorSourceSchema } from '../../../src/sources/source-config.js';

const take = (gen: { nextLine(): string }, n: number): string[] => Array.from({ length: n }, () => gen.nextLine());

describe('IotGenerator', () => {
  test('same seed gives the same lines; another seed other lines', () => {
    expect(take(new IotGenerator({ seed: 7 }), 2000)).toEqual(take(new IotGenerator({ seed: 7 }), 2000));
    expect(take(new IotGenerator({ seed: 8 }), 50)).not.toEqual(take(new IotGenerator({ seed: 7 }), 50));
  });

  test('readings are valid, in range, drift smoothly, and batteries stay in (0, 1]', () => {
    const devices = 20;
    const intervalMs = 1000;
    const startTsMs = 1_700_000_000_000;
    const gen = new IotGenerator({ seed: 3, devices, intervalMs, startTsMs });
    const last = new Map<string, { value: number; sensor: string }>();
    const ids = new Set<string>();
    let maxStep = 0;
    for (let i = 0; i < devices * 200; i++) {
      const r = JSON.parse(gen.nextLine());
      expect(Object.keys(r)).toEqual(['event_id', 'device_id', 'ts', 'sensor', 'unit', 'value', 'battery', 'seq']);
      expect(r.device_id).toMatch(/^dev-\d{6}$/);
      const kind = SENSOR_KINDS.find((k) => k.name === r.sensor)!;
      expect(kind.unit).toBe(r.unit);
      expect(r.value).toBeGreaterThanOrEqual(kind.floor);
      expect(r.value).toBeLessThanOrEqual(kind.ceil);
      expect(r.battery).toBeGreaterThan(0);
      expect(r.battery).toBeLessThanOrEqual(1);
      const round = Math.floor(i / devices);
      expect(r.seq).toBe(round);
      expect(r.ts).toBeGreaterThanOrEqual(startTsMs + round * intervalMs);
      expect(r.ts).toBeLessThan(startTsMs + round * intervalMs + intervalMs / 4);
      ids.add(r.event_id);
      const prev = last.get(r.device_id);
      if (prev) {
        expect(prev.sensor).toBe(r.sensor); // one sensor per device
        maxStep = Math.max(maxStep, Math.abs(r.value - prev.value) / (kind.setPointMax - kind.setPointMin));
      }
      last.set(r.device_id, { value: r.value, sensor: r.sensor });
    }
    expect(ids.size).toBe(devices * 200);
    expect(last.size).toBe(devices);
    // A random walk, not white noise: one step moves a small part of the set-point range.
    expect(maxStep).toBeLessThan(0.25);
  });
});

describe('CdcGenerator', () => {
  test('same seed gives the same events', () => {
    expect(take(new CdcGenerator({ seed: 11 }), 1000)).toEqual(take(new CdcGenerator({ seed: 11 }), 1000));
    expect(take(new CdcGenerator({ seed: 12 }), 50)).not.toEqual(take(new CdcGenerator({ seed: 11 }), 50));
  });

  test('envelopes are Debezium-shaped and consistent with a replay of the stream', () => {
    const gen = new CdcGenerator({ seed: 5, rowsPerTable: 10 });
    const state = new Map<string, CdcRow>();
    const ops = { c: 0, u: 0, d: 0 };
    let lastLsn = 0;
    for (let i = 0; i < 5000; i++) {
      const e = JSON.parse(gen.nextLine());
      expect(Object.keys(e)).toEqual(['before', 'after', 'source', 'op', 'ts_ms']);
      expect(['users', 'orders']).toContain(e.source.table);
      expect(e.source).toMatchObject({ connector: 'postgresql', db: 'shop', schema: 'public' });
      expect(e.source.lsn).toBeGreaterThan(lastLsn);
      lastLsn = e.source.lsn;
      expect(e.ts_ms).toBeGreaterThan(e.source.ts_ms);
      const id = (e.after ?? e.before).id;
      const key = `${e.source.table}/${id}`;
      const current = state.get(key) ?? null;
      ops[e.op as 'c' | 'u' | 'd']++;
      if (e.op === 'c') {
        expect(current).toBeNull();
        expect(e.before).toBeNull();
        expect(e.after.id).toBe(id);
        state.set(key, e.after);
      } else if (e.op === 'u') {
        expect(e.before).toEqual(current);
        expect(e.after.id).toBe(id);
        expect(e.after.updated_at).toBe(e.source.ts_ms);
        state.set(key, e.after);
      } else {
        expect(e.op).toBe('d');
        expect(e.before).toEqual(current);
        expect(e.after).toBeNull();
        state.delete(key);
      }
    }
    expect(ops.c).toBeGreaterThan(20); // re-creations after deletes, not just the first 20 inserts
    expect(ops.u).toBeGreaterThan(ops.d);
    expect(ops.d).toBeGreaterThan(0);
  });
});

describe('GeneratorSource', () => {
  test('emits exactly totalEvents lines in chunks with contiguous positions', async () => {
    const source = new GeneratorSource({ generator: new CdcGenerator({ seed: 2 }), totalEvents: 10_001, chunkLines: 1000 });
    let lines = 0;
    let pos = 0;
    let text = '';
    await source.start((c) => {
      expect(c.startPosition).toBe(pos);
      expect(c.endPosition - c.startPosition).toBe(c.lineCount);
      const s = Buffer.from(c.bytes).toString();
      expect(s.split('\n').length - 1).toBe(c.lineCount);
      lines += c.lineCount;
      pos = c.endPosition;
      text += s;
    });
    await source.finished();
    expect(lines).toBe(10_001);
    expect(text).toBe(take(new CdcGenerator({ seed: 2 }), 10_001).join('\n') + '\n');
    await source.close();
  });

  test('with a rate, chunks are bounded by the bucket burst (no burst of the whole total)', async () => {
    const source = new GeneratorSource({ generator: new IotGenerator({ seed: 1 }), ratePerSec: 5000, totalEvents: 600, chunkLines: 4096 });
    const sizes: number[] = [];
    await source.start((c) => void sizes.push(c.lineCount));
    await source.finished();
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(600);
    // burst = rate / 50 = 100 lines: at least 6 chunks, none larger than the burst.
    expect(sizes.length).toBeGreaterThanOrEqual(6);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(100);
  });

  test('clickstream through the config: byte path equals nextLine(), deterministic', async () => {
    const config = generatorSourceSchema.parse({ kind: 'clickstream', totalEvents: 3000, chunkLines: 700, clickstream: { seed: 9 } });
    const run = async (): Promise<string> => {
      const source = createGeneratorSource(config);
      let text = '';
      await source.start((c) => void (text += Buffer.from(c.bytes).toString()));
      await source.finished();
      await source.close();
      return text;
    };
    const first = await run();
    expect(await run()).toBe(first);
    expect(first.split('\n').length - 1).toBe(3000);
  });

  test('stop() ends an unbounded source; pause() holds it', async () => {
    const source = new GeneratorSource({ generator: new IotGenerator(), chunkLines: 10 });
    let chunks = 0;
    await source.start(async () => {
      chunks++;
      if (chunks === 3) source.pause();
      await new Promise((r) => setImmediate(r));
    });
    while (chunks < 3) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 50));
    expect(chunks).toBe(3);
    source.resume();
    while (chunks < 6) await new Promise((r) => setTimeout(r, 1));
    await source.stop();
    await expect(source.finished()).resolves.toBeUndefined();
    const after = chunks;
    await new Promise((r) => setTimeout(r, 20));
    expect(chunks).toBe(after);
  });
});
