/** The `input` config section: defaults, rejected values with their full path, and the batch schema. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../../../src/errors.js';
import { eventTimeField, inputSchemaToBatchSchema, parseInputConfig, partitionKeyField } from '../../../src/kernels/input/config.js';

const canonicalRaw = JSON.parse(readFileSync(new URL('../../../examples/clickstream.json', import.meta.url), 'utf8')).input;
const minimal = (fields: Record<string, unknown>) => ({
  fields: {
    id: { type: 'string', required: true, partitionKey: true },
    t: { type: 'timestamp_ms', required: true, eventTime: true },
    ...fields,
  },
});
const errorOf = (raw: unknown): ConfigError => {
  try {
    parseInputConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('input config', () => {
  it('parses the canonical clickstream input and fills defaults', () => {
    const cfg = parseInputConfig(canonicalRaw);
    expect(cfg.format).toBe('ndjson');
    expect(cfg.maxLineBytes).toBe(1048576);
    expect(cfg.fields.amount).toMatchObject({ type: 'float64', required: false, default: 0, min: 0, hashed: false });
    expect(eventTimeField(cfg)).toBe('ts');
    expect(partitionKeyField(cfg)).toBe('event_id');
    expect(parseInputConfig(minimal({})).maxLineBytes).toBe(1048576);
  });

  it('maps to the batch schema: declared fields in order, then __line, __late, __raw', () => {
    const schema = inputSchemaToBatchSchema(parseInputConfig(canonicalRaw));
    expect(schema.columns).toEqual([
      { name: 'event_id', type: 'string', hashed: true, avgBytes: 32, maxRowBytes: 64 },
      { name: 'ts', type: 'timestamp_ms' },
      { name: 'user_id', type: 'string', hashed: true, avgBytes: 32, maxRowBytes: 64 },
      { name: 'type', type: 'enum', enumValues: ['view', 'click', 'add_to_cart', 'purchase'] },
      { name: 'amount', type: 'float64' },
      { name: 'country', type: 'string', hashed: false, avgBytes: 4, maxRowBytes: 2 },
      { name: '__line', type: 'float64' },
      { name: '__late', type: 'bool' },
      { name: '__raw', type: 'string', avgBytes: 16, maxRowBytes: 4096 },
    ]);
  });

  it('names the full path of a bad value', () => {
    const e = errorOf({ ...canonicalRaw, fields: { ...canonicalRaw.fields, ts: { ...canonicalRaw.fields.ts, min: 'zero' } } });
    expect(e.path).toBe('input.fields.ts.min');
    expect(e.message).toMatch(/^input\.fields\.ts\.min: .*number/);
    expect(errorOf({ ...canonicalRaw, maxLineBytes: 8 }).message).toMatch(/^input\.maxLineBytes: .*16/);
    expect(errorOf(minimal({ x: { type: 'string', colour: 1 } })).path).toBe('input.fields.x.colour');
    expect(errorOf({ ...minimal({}), extra: 1 }).path).toBe('input.extra');
    expect(errorOf(minimal({ x: { type: 'text' } })).path).toBe('input.fields.x.type');
  });

  it('rejects rule/type combinations that make no sense', () => {
    expect(errorOf(minimal({ e: { type: 'enum' } })).path).toBe('input.fields.e.values');
    expect(errorOf(minimal({ s: { type: 'string', min: 1 } })).path).toBe('input.fields.s.min');
    expect(errorOf(minimal({ n: { type: 'int32', maxBytes: 3 } })).path).toBe('input.fields.n.maxBytes');
    expect(errorOf(minimal({ n: { type: 'int32', hashed: true } })).path).toBe('input.fields.n.hashed');
    expect(errorOf(minimal({ s: { type: 'string', minBytes: 5, maxBytes: 2 } })).path).toBe('input.fields.s.minBytes');
    expect(errorOf(minimal({ s: { type: 'string', pattern: '([' } })).path).toBe('input.fields.s.pattern');
    expect(errorOf(minimal({ n: { type: 'float64', min: 1, exclusiveMin: 0 } })).path).toBe('input.fields.n.exclusiveMin');
  });

  it('requires defaults to pass the field rules and not to be set on required fields', () => {
    expect(errorOf(minimal({ c: { type: 'string', pattern: '^[A-Z]{2}$', default: 'zz' } })).path).toBe('input.fields.c.default');
    expect(errorOf(minimal({ a: { type: 'float64', min: 0, default: -1 } })).path).toBe('input.fields.a.default');
    expect(errorOf(minimal({ e: { type: 'enum', values: ['a'], default: 'b' } })).path).toBe('input.fields.e.default');
    expect(errorOf(minimal({ r: { type: 'bool', required: true, default: true } })).path).toBe('input.fields.r.default');
  });

  it('needs exactly one eventTime and one partitionKey, and identifier names without the reserved __ prefix', () => {
    expect(errorOf({ fields: { id: { type: 'string', partitionKey: true } } }).message).toMatch(/eventTime/);
    expect(errorOf(minimal({ t2: { type: 'timestamp_ms', eventTime: true } })).path).toBe('input.fields');
    expect(errorOf(minimal({ s: { type: 'string', partitionKey: true } })).message).toMatch(/partitionKey/);
    expect(errorOf(minimal({ __x: { type: 'string' } })).path).toBe('input.fields.__x');
    expect(errorOf(minimal({ 'a-b': { type: 'string' } })).path).toBe('input.fields.a-b');
  });
});
