import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyClickHouseError, clickHouseErrorCode } from '../../../src/sinks/clickhouse/errors.js';

interface Captured {
  label: string;
  error: { message: string; code: string | null } | null;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/clickhouse-18.16-errors.json', import.meta.url), 'utf8')) as {
  server: string;
  captured: Captured[];
};

/** Rebuilds the error the client threw: a plain Error with the server text (and errno code if any). */
function errorFor(label: string): Error {
  const entry = fixture.captured.find((c) => c.label === label);
  if (!entry?.error) throw new Error(`fixture has no error for ${label}`);
  const err = new Error(entry.error.message);
  if (entry.error.code) (err as Error & { code: string }).code = entry.error.code;
  return err;
}

describe(`ClickHouse error classification (texts captured from ${fixture.server})`, () => {
  it.each([
    ['syntax', 62],
    ['unknown_table', 60],
    ['unknown_database', 81],
    ['string_in_uint64', 27],
    ['unknown_field', 117],
    ['negative_in_uint64', 72],
    ['number_in_string', 26],
    ['malformed_json', 26],
    ['memory_limit', 241],
    ['readonly', 164],
    ['query_parameter', 115],
  ])('reads the code of %s as %i', (label, code) => {
    expect(clickHouseErrorCode(errorFor(label))).toBe(code);
  });

  it.each(['string_in_uint64', 'unknown_field', 'negative_in_uint64', 'number_in_string', 'malformed_json'])(
    'treats the data error %s as not retriable and row-level',
    (label) => {
      const v = classifyClickHouseError(errorFor(label));
      expect(v).toMatchObject({ retriable: false, rowLevel: true });
      expect(v.code).toMatch(/^clickhouse:\d+$/);
    },
  );

  it.each(['syntax', 'readonly', 'query_parameter'])('treats the request error %s as not retriable for any row', (label) => {
    const v = classifyClickHouseError(errorFor(label));
    expect(v.retriable).toBe(false);
    expect(v.rowLevel).toBeFalsy();
  });

  it.each([
    ['connection_refused', 'ECONNREFUSED'],
    ['request_timeout', 'ETIMEDOUT'],
    ['socket_hang_up', 'ECONNRESET'],
    ['memory_limit', 'clickhouse:241'],
  ])('retries the transient failure %s (%s)', (label, code) => {
    expect(classifyClickHouseError(errorFor(label))).toMatchObject({ retriable: true, code });
  });

  it('retries a missing table or database only when it can create it', async () => {
    let created = 0;
    const fix = async () => {
      created++;
    };
    for (const label of ['unknown_table', 'unknown_database']) {
      const withFix = classifyClickHouseError(errorFor(label), fix);
      expect(withFix.retriable).toBe(true);
      await withFix.fix?.();
      expect(classifyClickHouseError(errorFor(label)).retriable).toBe(false);
    }
    expect(created).toBe(2);
  });

  it('strips the e.what() trailer from the message kept in dead letters', () => {
    const v = classifyClickHouseError(errorFor('unknown_field'));
    expect(v.message).toContain('Unknown field found while parsing JSONEachRow format: zzz');
    expect(v.message).not.toContain('e.what()');
  });

  it('does not retry errors that come from neither the server nor the network', () => {
    expect(classifyClickHouseError(new TypeError('x is not a function'))).toMatchObject({ retriable: false, code: 'clickhouse:client' });
  });
});
