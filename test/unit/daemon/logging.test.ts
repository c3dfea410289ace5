/**
 * Logs: the config's secrets (passwords, tokens, URL credentials) never reach a log line, in JSON or
 * pretty format, wherever they appear (a field, an error message, JSON-escaped); the format follows
 * RINGFLOW_LOG_FORMAT, else the terminal. The logger writes to fd 2, so each case runs in a child
 * process on the compiled dist/.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { logFormatFromEnv, redactSecrets, secretsOfConfig } from '../../../src/logging.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const LOGGING = pathToFileURL(join(ROOT, 'dist', 'src', 'logging.js')).href;

function logThrough(format: 'json' | 'pretty', secrets: string[], script: string): string {
  const code = `import { createLogger } from ${JSON.stringify(LOGGING)};
const log = createLogger({ name: 't', level: 'info', format: ${JSON.stringify(format)}, secrets: ${JSON.stringify(secrets)} });
${script}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stdout).toBe('');
  return r.stderr;
}

describe('logging', () => {
  it('finds the secrets of a config: secret-named keys and URL credentials, longest first', () => {
    const secrets = secretsOfConfig({
      sinks: {
        clickhouse: { url: 'http://127.0.0.1:8123', username: 'default', password: 'ch-pass-1' },
        redis: { url: 'redis://app:r%40dis-pw@127.0.0.1:6379/0' },
        kafka: { sasl: { mechanism: 'plain', username: 'u', credentials: 'sasl-secret' } },
      },
      daemon: { metrics: { bearerTokenEnv: 'TOKEN_ENV' } },
      other: { apiKey: 'k-123456', password: 'x', list: [{ token: 'tok-abc' }] },
    });
    expect(secrets).toEqual(expect.arrayContaining(['ch-pass-1', 'r@dis-pw', 'r%40dis-pw', 'app:r%40dis-pw', 'sasl-secret', 'k-123456', 'tok-abc']));
    // The env var's name is not a secret (its value is, added by the caller); 1-2 character values are skipped.
    expect(secrets).not.toContain('x');
    expect(secrets).not.toContain('TOKEN_ENV');
    for (let i = 1; i < secrets.length; i++) expect(secrets[i - 1].length).toBeGreaterThanOrEqual(secrets[i].length);
  });

  it('redacts every occurrence', () => {
    expect(redactSecrets('a pw1 b pw1', ['pw1'])).toBe('a [REDACTED] b [REDACTED]');
    expect(redactSecrets('nothing here', ['pw1'])).toBe('nothing here');
  });

  it('chooses the format from RINGFLOW_LOG_FORMAT, else the terminal', () => {
    expect(logFormatFromEnv({ RINGFLOW_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormatFromEnv({ RINGFLOW_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(logFormatFromEnv({}, true)).toBe('pretty');
    expect(logFormatFromEnv({}, false)).toBe('json');
  });

  for (const format of ['json', 'pretty'] as const) {
    it(`keeps secrets out of ${format} lines, in fields, error messages and escaped strings`, () => {
      const secrets = ['s3cr3t-pw', 'we"ird\\pw'];
      const out = logThrough(format, secrets, `
log.info({ url: 'redis://:s3cr3t-pw@127.0.0.1:6379' }, 'connecting');
log.error({ err: new Error('auth failed for s3cr3t-pw') }, 'sink failed');
log.warn({ note: 'we"ird\\\\pw' }, 'odd one');`);
      expect(out).toContain('connecting');
      expect(out).toContain('sink failed');
      expect(out).toContain('[REDACTED]');
      expect(out).not.toContain('s3cr3t-pw');
      expect(out).not.toContain('ird');
      if (format === 'json') for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
      else expect(out).not.toMatch(/^\{"level"/m);
    });
  }
});
