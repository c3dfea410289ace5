import { describe, expect, it } from 'vitest';
import { ConfigError, SourceError } from '../../../src/errors.js';
import {
  ClickstreamGenerator,
  MAX_GENERATED_LINE_BYTES,
} from '../../../src/sources/generators/clickstream-events.js';
import { runReferenceOnLines, runReferenceOnText } from '../../reference/canonical-reference.js';

const EVENTS = 20_000;

function bytesOf(options: ConstructorParameters<typeof ClickstreamGenerator>[0], events: number): Buffer {
  const generator = new ClickstreamGenerator(options);
  const buffer = Buffer.alloc(events * 200 + MAX_GENERATED_LINE_BYTES);
  let offset = 0;
  while (generator.stats.events < events) offset = generator.writeNdjson(buffer, offset);
  return buffer.subarray(0, offset);
}

describe('ClickstreamGenerator: determinism', () => {
  it('gives the same bytes for the same seed and different bytes for another seed', () => {
    const a = bytesOf({ seed: 42, lateRate: 0.01 }, 5000);
    const b = bytesOf({ seed: 42, lateRate: 0.01 }, 5000);
    const c = bytesOf({ seed: 43, lateRate: 0.01 }, 5000);
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('writes the same lines through writeNdjson, nextLine and fillLines', () => {
    const viaBuffer = bytesOf({ seed: 7 }, 3000).toString('utf8');
    const viaLines = new ClickstreamGenerator({ seed: 7 }).fillLines(3000).join('\n') + '\n';
    const single = new ClickstreamGenerator({ seed: 7 });
    const viaNext: string[] = [];
    while (single.stats.events < 3000) viaNext.push(single.nextLine());
    expect(viaLines).toBe(viaBuffer);
    expect(viaNext.join('\n') + '\n').toBe(viaBuffer);
  });

  it('writeTo streams the same bytes in chunks', async () => {
    const chunks: Buffer[] = [];
    const { Writable } = await import('node:stream');
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(Buffer.from(chunk)); done(); } });
    await new ClickstreamGenerator({ seed: 9 }).writeTo(sink, 4000, 4096);
    expect(Buffer.concat(chunks).equals(bytesOf({ seed: 9 }, 4000))).toBe(true);
  });

  it('refuses to write without room for the longest line', () => {
    const generator = new ClickstreamGenerator();
    expect(() => generator.writeNdjson(Buffer.alloc(MAX_GENERATED_LINE_BYTES), 1)).toThrow(SourceError);
  });
});

describe('ClickstreamGenerator: distribution', () => {
  const generator = new ClickstreamGenerator({ seed: 3, lateRate: 0.01 });
  const lines = generator.fillLines(EVENTS);
  const { stats } = generator;
  const within = (count: number, rate: number) => {
    // 5 standard deviations of a binomial count: never flaky for a fixed seed, still catches a wrong rate.
    const sd = Math.sqrt(EVENTS * rate * (1 - rate));
    expect(Math.abs(count - EVENTS * rate)).toBeLessThanOrEqual(5 * sd);
  };

  it('injects invalid, duplicate and late lines at the configured rates', () => {
    expect(stats.events).toBe(EVENTS);
    within(stats.invalid, 0.02);
    within(stats.duplicates, 0.05);
    within(stats.late, 0.01);
    within(stats.variants, 0.01 * (1 - 0.08));
    expect(stats.blankLines).toBe(lines.length - EVENTS);
  });

  it('covers every reject reason and keeps lines near 100 bytes', () => {
    expect(Object.keys(stats.invalidByReason).length).toBeGreaterThanOrEqual(18);
    const bytes = lines.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
    expect(bytes / EVENTS).toBeGreaterThan(90);
    expect(bytes / EVENTS).toBeLessThan(130);
    expect(Math.max(...lines.map((l) => Buffer.byteLength(l) + 1))).toBeLessThanOrEqual(MAX_GENERATED_LINE_BYTES);
  });

  it('weights types view >> click > add_to_cart > purchase', () => {
    const counts = new Map<string, number>();
    for (const row of runReferenceOnLines(lines).aggregates) counts.set(row.type, (counts.get(row.type) ?? 0) + row.count);
    const [view, click, cart, purchase] = ['view', 'click', 'add_to_cart', 'purchase'].map((t) => counts.get(t) ?? 0);
    expect(view).toBeGreaterThan(4 * click);
    expect(click).toBeGreaterThan(2 * cart);
    expect(cart).toBeGreaterThan(purchase);
    expect(purchase).toBeGreaterThan(0);
  });

  it('keeps event ids unique except for the injected duplicates', () => {
    const ids = new Set<string>();
    let repeats = 0;
    for (const line of lines) {
      let id: unknown;
      try {
        id = (JSON.parse(line) as { event_id?: unknown } | null)?.event_id;
      } catch {
        continue; // malformed lines carry no id
      }
      // Generated ids only: some invalid kinds share a constant id (e.g. 65 x "e").
      if (typeof id !== 'string' || !/^e[0-9a-f]{18}$/.test(id)) continue;
      if (ids.has(id)) repeats++;
      ids.add(id);
    }
    expect(repeats).toBe(stats.duplicates);
  });
});

describe('ClickstreamGenerator: reconciliation through the reference', () => {
  it.each([
    { seed: 11, invalidRate: 0.02, duplicateRate: 0.05, lateRate: 0 },
    { seed: 12, invalidRate: 0.1, duplicateRate: 0.2, lateRate: 0.05, variantRate: 0.2, blankLineRate: 0.05 },
    { seed: 13, eventsPerSecond: 0.5, userCardinality: 10, lateRate: 0.02 },
  ])('input = accepted + invalid + duplicates + late, and the counts are the generator\'s (%o)', (options) => {
    const generator = new ClickstreamGenerator(options);
    const text = generator.fillLines(EVENTS).join('\n') + '\n';
    const { summary, aggregates, deadLetter } = runReferenceOnText(text);
    expect(summary.accepted + summary.invalid + summary.duplicates + summary.late).toBe(summary.input);
    expect(summary.input).toBe(EVENTS);
    expect(summary.invalid).toBe(generator.stats.invalid);
    expect(summary.duplicates).toBe(generator.stats.duplicates);
    expect(summary.late).toBe(generator.stats.late);
    // Every accepted event is counted in exactly one window.
    expect(aggregates.reduce((sum, r) => sum + r.count, 0)).toBe(summary.accepted);
    const reasons: Record<string, number> = {};
    for (const d of deadLetter) if (d.reason !== 'late') reasons[d.reason] = (reasons[d.reason] ?? 0) + 1;
    expect(reasons).toEqual(generator.stats.invalidByReason);
  });
});

describe('ClickstreamGenerator: options', () => {
  it('rejects bad values naming the config path and the allowed range', () => {
    expect(() => new ClickstreamGenerator({ invalidRate: 1.5 })).toThrow(ConfigError);
    expect(() => new ClickstreamGenerator({ invalidRate: 1.5 })).toThrow(/generator\.invalidRate: .*1/);
    expect(() => new ClickstreamGenerator({ maxJitterMs: 6000 })).toThrow(/generator\.maxJitterMs: .*5000/);
    expect(() => new ClickstreamGenerator({ nope: 1 } as never)).toThrow(/generator\.nope: unknown setting/);
    expect(() => new ClickstreamGenerator({ invalidRate: 0.6, duplicateRate: 0.6 })).toThrow(/at most 1/);
  });

  it('fills every default', () => {
    expect(new ClickstreamGenerator().config).toEqual({
      seed: 1, startTsMs: 1767225600000, eventsPerSecond: 5000, maxJitterMs: 3000, jitterFraction: 0.3,
      userCardinality: 100000, userSkewExponent: 2, invalidRate: 0.02, duplicateRate: 0.05, lateRate: 0,
      variantRate: 0.01, blankLineRate: 0.001, dedupeHorizonMs: 3600000,
    });
  });
});
