/**
 * `ringflow run` as a user runs it (child process, compiled dist/: run `npx tsc -p tsconfig.json`
 * first), with no external service: the embedded default and configuration errors.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClickstreamGenerator } from '../../../src/sources/generators/clickstream-events.js';
import { compareAggregates, HLL_BOUND, runReferenceOnLines } from '../../reference/canonical-reference.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin', 'ringflow.js');

function run(args: string[], cwd: string) {
  return spawnSync(process.execPath, [BIN, 'run', ...args], { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, RINGFLOW_LOG_LEVEL: 'warn' } });
}

describe('ringflow run', () => {
  it('with no --config runs the canonical pipeline on the generator into ./ringflow-out/ of the working directory', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rf-run-default-'));
    const r = run(['--max-events', '20000'], cwd);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ringflow: stopped \(finish\); committed \{"0":20000\}/);
    // --max-events ends the generator after 20000 lines: input ended, so every window was closed.
    const lines = new ClickstreamGenerator({}).fillLines(20_000).slice(0, 20_000);
    const reference = runReferenceOnLines(lines);
    const rows = readFileSync(join(cwd, 'ringflow-out', 'windows.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.length).toBeGreaterThan(0);
    expect(compareAggregates(rows, reference.aggregates, HLL_BOUND)).toEqual([]);
    const deadLetter = readFileSync(join(cwd, 'ringflow-out', 'dead-letter.ndjson'), 'utf8').trim().split('\n');
    expect(deadLetter.length).toBe(reference.summary.invalid + reference.summary.late);
  });

  it('exits 2 naming the full path of a bad setting, before starting anything', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rf-run-bad-'));
    const raw = JSON.parse(readFileSync(join(ROOT, 'examples', 'clickstream.json'), 'utf8'));
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ ...raw, enrich: { ...raw.enrich, table: join(ROOT, 'examples', raw.enrich.table) },
      source: { type: 'kafka', kafka: { brokers: ['nohost'] } } }));
    const r = run(['--config', 'bad.json'], cwd);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/source\.kafka\.brokers\[0\]: must be host:port/);
    writeFileSync(join(cwd, 'bad2.json'), JSON.stringify({ ...raw, enrich: { ...raw.enrich, table: join(ROOT, 'examples', raw.enrich.table) },
      daemon: { checkpoint: { dir: 'ckpt' } } }));
    const r2 = run(['--config', 'bad2.json'], cwd);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/daemon\.checkpoint\.dir: checkpoints need a source that resumes/);
  });
});
