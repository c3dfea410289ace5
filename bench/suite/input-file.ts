/**
 * The generated clickstream NDJSON file the replay section and its peers read: made once per
 * (events, seed) in the cache directory and reused by later runs. The generator's counts are kept
 * next to it (<file>.json), so a cached file still reports its invalid / duplicate counts.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeClickstreamFile } from '../gen/make-clickstream-file.js';

export interface InputFile {
  path: string;
  events: number;
  sizeBytes: number;
  bytesPerEvent: number;
  invalid: number;
  duplicates: number;
  blankLines: number;
  /** Milliseconds spent generating it in this run (0 when it came from the cache). */
  generatedMs: number;
}

/** The canonical benchmark input of issue 4: ~100 bytes per event, 2% invalid, 5% duplicates. */
export const INPUT_SHAPE = { seed: 1, invalidRate: 0.02, duplicateRate: 0.05, lateRate: 0, variantRate: 0.01, eventsPerSecond: 5000, userCardinality: 100_000 };

export function ensureInputFile(cacheDir: string, events: number): InputFile {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, `clickstream-${events}-seed${INPUT_SHAPE.seed}.ndjson`);
  const meta = `${path}.json`;
  if (existsSync(path) && existsSync(meta)) {
    const m = JSON.parse(readFileSync(meta, 'utf8')) as InputFile;
    if (statSync(path).size === m.sizeBytes) return { ...m, generatedMs: 0 };
  }
  const r = makeClickstreamFile(path, events, INPUT_SHAPE);
  const info: InputFile = {
    path,
    events: r.events,
    sizeBytes: r.sizeBytes,
    bytesPerEvent: Number(r.bytesPerEvent.toFixed(1)),
    invalid: r.stats.invalid,
    duplicates: r.stats.duplicates,
    blankLines: r.stats.blankLines,
    generatedMs: Math.round(r.elapsedMs),
  };
  writeFileSync(meta, `${JSON.stringify(info)}\n`);
  return info;
}
