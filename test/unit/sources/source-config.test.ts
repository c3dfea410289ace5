import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { createSource } from '../../../src/sources/create-source.js';
import { parseSourceConfig, sourceConfigSchema } from '../../../src/sources/source-config.js';

function errorOf(input: unknown): ConfigError {
  try {
    parseSourceConfig(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe('source config', () => {
  test('defaults to the clickstream generator, every field filled in', () => {
    const c = parseSourceConfig(undefined);
    expect(c.type).toBe('generator');
    if (c.type !== 'generator') return;
    expect(c.generator).toMatchObject({ kind: 'clickstream', ratePerSec: 0, totalEvents: -1, chunkLines: 4096 });
    expect(c.generator.clickstream.seed).toBe(1);
    expect(createSource(c).kind).toBe('generator');
  });

  test('a kafka section gets defaults for everything not given', () => {
    const c = parseSourceConfig({ type: 'kafka', kafka: { topic: 'clicks', brokers: ['127.0.0.1:19092'] } });
    expect(c).toEqual({
      type: 'kafka',
      kafka: expect.objectContaining({ topic: 'clicks', brokers: ['127.0.0.1:19092'], groupId: 'ringflow', sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000 }),
    });
    expect(createSource(c).kind).toBe('kafka');
    expect(createSource(parseSourceConfig({ type: 'http' })).kind).toBe('http');
    expect(createSource(parseSourceConfig({ type: 'stdin' })).kind).toBe('stdin');
    expect(createSource(parseSourceConfig({ type: 'file', file: { path: '/tmp/x.ndjson' } })).kind).toBe('file');
  });

  test('errors name the full path and the allowed values', () => {
    expect(errorOf({ type: 'kafka', kafka: { brokers: ['127.0.0.1:9092', 'no-port'] } }).message).toBe('source.kafka.brokers[1]: must be host:port');
    const timeout = errorOf({ type: 'kafka', kafka: { sessionTimeoutMs: 10 } });
    expect(timeout.path).toBe('source.kafka.sessionTimeoutMs');
    expect(timeout.message).toContain('must be an integer in [6000, 300000]');
    expect(errorOf({ type: 'kafka', kafka: { heartbeatIntervalMs: 20_000 } }).message).toBe(
      'source.kafka.heartbeatIntervalMs: must be at most sessionTimeoutMs / 3 (10000)',
    );
    expect(errorOf({ type: 'nope' }).path).toBe('source.type');
    expect(errorOf({ type: 'nope' }).message).toMatch(/file.*stdin.*kafka.*http.*generator/);
    expect(errorOf({ type: 'http', http: { port: 70000 } }).message).toBe('source.http.port: must be an integer in [0, 65535]');
    expect(errorOf({ type: 'http', http: { bearerToken: 'short' } }).path).toBe('source.http.bearerToken');
    expect(errorOf({ type: 'file' }).path).toBe('source.file');
    expect(errorOf({ type: 'generator', generator: { kind: 'iot', iot: { devices: 0 } } }).path).toBe('source.generator.iot.devices');
    expect(errorOf({ type: 'generator', generator: { clickstream: { invalidRate: 2 } } }).path).toBe('source.generator.clickstream.invalidRate');
  });

  test('unknown keys are rejected at every level, with their path', () => {
    expect(errorOf({ type: 'kafka', kafka: { topc: 'x' } }).message).toBe('source.kafka.topc: unknown setting');
    expect(errorOf({ type: 'http', extra: true }).message).toBe('source.extra: unknown setting');
    expect(errorOf({ type: 'generator', generator: { iot: { devics: 3 } } }).path).toBe('source.generator.iot.devics');
  });

  test('every leaf field documents its default', () => {
    const missing: string[] = [];
    const walk = (schema: any, path: string): void => {
      const def = schema?._zod?.def;
      if (!def) return;
      if (def.type === 'object') {
        for (const [key, child] of Object.entries(def.shape)) {
          const c = child as any;
          // `.describe(...).default(...)` leaves the text on the wrapped schema.
          const text: string | undefined = c.description ?? c._zod.def.innerType?.description;
          if (text === undefined || !/Default: |Required\./.test(text)) missing.push(`${path}.${key}`);
          if (c._zod.def.type !== 'literal') walk(c, `${path}.${key}`);
        }
      } else if (def.type === 'default' || def.type === 'prefault' || def.type === 'pipe') {
        walk(def.innerType ?? def.in, path);
      } else if (def.type === 'union') {
        def.options.forEach((o: unknown) => walk(o, path));
      }
    };
    walk(sourceConfigSchema, 'source');
    // The variant sub-objects (file, kafka, ...) are containers: their fields carry the defaults.
    expect(missing.filter((p) => !/^source\.(file|stdin|kafka|http|generator)$/.test(p))).toEqual([]);
  });
});
