import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRingflowConfig, parseRingflowConfig } from '../../../src/daemon/config.js';
import { compileRunPlan } from '../../../src/daemon/plan.js';
import { canonicalConfigPath, loadDefaultConfig, DEFAULT_RATE_PER_SEC } from '../../../src/daemon/default-config.js';
import { ConfigError } from '../../../src/errors.js';

describe('daemon config', () => {
  it('the default is the canonical pipeline on the generator at a moderate rate, with daemon defaults', async () => {
    const cfg = await loadDefaultConfig();
    expect(canonicalConfigPath()).toMatch(/examples[/\\]clickstream\.json$/);
    expect(cfg.source.type).toBe('generator');
    if (cfg.source.type === 'generator') expect(cfg.source.generator.ratePerSec).toBe(DEFAULT_RATE_PER_SEC);
    expect(cfg.daemon).toEqual({
      deadLetterPath: './ringflow-out/dead-letter.ndjson', commitIntervalMs: 500, statusIntervalMs: 5000, shutdownTimeoutMs: 60000,
      checkpoint: { dir: null, intervalMs: 10000 }, caughtUpPollMs: 1000, idleCloseMs: null, metrics: { listen: null, bearerTokenEnv: null },
      scaleOut: { partialsTopic: null, dedupeReplayMs: null },
    });
    expect(cfg.sinks.clickhouse).toBeUndefined();
  });

  it('a bad daemon setting names its full path and the allowed range', async () => {
    const raw = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(canonicalConfigPath(), 'utf8')));
    const dir = mkdtempSync(join(tmpdir(), 'rf-daemon-cfg-'));
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ ...raw, enrich: { ...raw.enrich, table: join(process.cwd(), 'examples', raw.enrich.table) }, daemon: { commitIntervalMs: 1 } }));
    const err = await loadRingflowConfig(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).path).toBe('daemon.commitIntervalMs');
    expect((err as Error).message).toMatch(/daemon\.commitIntervalMs: must be an integer in \[10, 600000\]/);
    writeFileSync(path, JSON.stringify({ ...raw, daemon: { deadLetter: 'x' } }));
    await expect(loadRingflowConfig(path)).rejects.toThrow(/daemon\.deadLetter: unknown setting/);
  });

  it('allowed lateness (updates of emitted windows): not with scale-out or checkpoints yet; the skew guard fields have defaults', async () => {
    const raw = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(canonicalConfigPath(), 'utf8')));
    const base = { ...raw, enrich: { ...raw.enrich, table: join(process.cwd(), 'examples', raw.enrich.table) } };
    const kafka = { type: 'kafka', kafka: { topic: 'clicks', groupId: 'g1' } };
    const late = { ...base.aggregate, allowedLatenessMs: 60_000 };
    expect(() => parseRingflowConfig({ ...base, aggregate: late, source: kafka, daemon: { scaleOut: { partialsTopic: 'p' } } }))
      .toThrow(/aggregate\.allowedLatenessMs: updates of emitted windows are not supported with daemon\.scaleOut/);
    expect(() => parseRingflowConfig({ ...base, aggregate: late, source: kafka, daemon: { checkpoint: { dir: '/tmp/x' } } }))
      .toThrow(/aggregate\.allowedLatenessMs: updates of emitted windows are not supported with daemon\.checkpoint/);
    const cfg = parseRingflowConfig({ ...base, aggregate: late, source: kafka });
    expect([cfg.aggregate.outOfOrdernessMs, cfg.aggregate.allowedLatenessMs, cfg.aggregate.maxFutureSkewMs, cfg.aggregate.jumpConfirmEvents])
      .toEqual([5000, 60_000, 3_600_000, 16]);
    expect(() => parseRingflowConfig({ ...base, aggregate: { ...base.aggregate, jumpConfirmEvents: 1 } })).toThrow(/aggregate\.jumpConfirmEvents/);
    // A config from before issue 15 (allowedLatenessMs meant the watermark delay) is stopped, not reinterpreted.
    const { outOfOrdernessMs: _dropped, ...old } = base.aggregate as Record<string, unknown>;
    expect(() => parseRingflowConfig({ ...base, aggregate: { ...old, allowedLatenessMs: 5000 } })).toThrow(/aggregate\.outOfOrdernessMs: must be set when allowedLatenessMs is/);
  });

  it('scale-out: Kafka source only, not with checkpoints, not on a topic the source reads; the plan resolves its defaults', async () => {
    const raw = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(canonicalConfigPath(), 'utf8')));
    const base = { ...raw, enrich: { ...raw.enrich, table: join(process.cwd(), 'examples', raw.enrich.table) } };
    const kafka = { type: 'kafka', kafka: { topic: 'clicks', groupId: 'g1' } };
    const path = (e: unknown): string => (e as ConfigError).path;
    expect(path((() => { try { parseRingflowConfig({ ...base, daemon: { scaleOut: { partialsTopic: 'p' } } }); } catch (e) { return e; } })()))
      .toBe('daemon.scaleOut.partialsTopic');
    expect(() => parseRingflowConfig({ ...base, source: kafka, daemon: { scaleOut: { partialsTopic: 'p' }, checkpoint: { dir: '/tmp/x' } } }))
      .toThrow(/checkpoints assume one daemon per consumer group/);
    expect(() => parseRingflowConfig({ ...base, source: kafka, daemon: { scaleOut: { partialsTopic: 'clicks' } } })).toThrow(/must not be a topic the source reads/);
    expect(() => parseRingflowConfig({ ...base, source: kafka, daemon: { scaleOut: { partialsTopic: 'p', extra: 1 } } })).toThrow(/daemon\.scaleOut\.extra/);
    const plan = compileRunPlan(parseRingflowConfig({ ...base, source: kafka, daemon: { scaleOut: { partialsTopic: 'p' } } }));
    expect(plan.scaleOut).toMatchObject({ partialsTopic: 'p', mergeGroupId: 'g1.merge', dedupeReplayMs: base.dedupe.horizonMs });
    expect(plan.pipeline.sourcePartitionCells).toBe(true);
    expect(plan.pipeline.processor.aggregate.groupBy.at(-1)).toBe('__source');
    const off = compileRunPlan(parseRingflowConfig({ ...base, source: kafka }));
    expect(off.scaleOut).toBeNull();
    expect(off.pipeline.schema.columns.some((c) => c.name === '__source')).toBe(false);
  });
});
