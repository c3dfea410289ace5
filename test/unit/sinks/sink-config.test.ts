import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { parseSinksConfig, withDefaultFileSink } from '../../../src/sinks/sink-config.js';
import { resolveLeaderboards, escapeKeyPart, latestKey, leaderboardKey, leaderboardMember, windowKey } from '../../../src/sinks/redis/keys.js';
import { CANONICAL_WINDOW_SHAPE } from '../../../src/sinks/sink.js';
import { createWindowTableSql, quoteIdentifier, quoteString } from '../../../src/sinks/clickhouse/sql.js';
import { windowShapeFromAggregate } from '../../../src/contracts/index.js';

function configError(input: unknown): ConfigError {
  try {
    parseSinksConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('sinks config', () => {
  it('fills defaults and falls back to local files when no destination is configured', () => {
    const cfg = withDefaultFileSink(parseSinksConfig({}));
    expect(cfg.files).toEqual({ dir: './ringflow-out', events: false, maxRows: 10_000, maxDelayMs: 200 });
    expect(cfg.alerts.rules).toEqual([]);
    const ch = parseSinksConfig({ clickhouse: {} }).clickhouse!;
    expect(ch.retry).toEqual({ maxAttempts: 30, initialBackoffMs: 100, maxBackoffMs: 5000, maxElapsedMs: 120_000 });
    expect(withDefaultFileSink(parseSinksConfig({ clickhouse: {} })).files).toBeUndefined();
  });

  it.each([
    [{ clickhouse: { maxRows: 0 } }, 'sinks.clickhouse.maxRows', />=\s*1/],
    [{ clickhouse: { retry: { maxAttempts: 5000 } } }, 'sinks.clickhouse.retry.maxAttempts', /<=\s*1000/],
    [{ clickhouse: { table: 'x; DROP TABLE y' } }, 'sinks.clickhouse.table', /plain identifier/],
    [{ redis: { bogus: 1 } }, 'sinks.redis.bogus', /unknown setting/],
    [{ kafka: { brokers: ['nohost'] } }, 'sinks.kafka.brokers[0]', /host:port/],
    [{ alerts: { rules: [{ kind: 'threshold', name: 'a', metric: 'count', op: '!', value: 1 }] } }, 'sinks.alerts.rules[0].op', /">"/],
    [{ alerts: { rules: [{ kind: 'change', name: 'a', metric: 'count', atLeast: 1 }, { kind: 'change', name: 'a', metric: 'count', atLeast: 1 }] } },
      'sinks.alerts.rules[1].name', /duplicate/],
  ])('rejects %j naming %s', (input, path, allowed) => {
    const err = configError(input);
    expect(err.path).toBe(path);
    expect(err.message).toMatch(allowed);
  });
});

describe('Redis key layout', () => {
  const row = { window_start: 60_000, window_end: 120_000, type: 'click', region: 'eu:west|1', count: 3, amount_sum: 1, amount_max: 1, users_approx: 2 };

  it('escapes separators inside group values', () => {
    expect(escapeKeyPart('a:b|c%d')).toBe('a%3Ab%7Cc%25d');
    expect(windowKey('p', row, ['type', 'region'])).toBe('p:win:60000:click:eu%3Awest%7C1');
    expect(latestKey('p', row, ['type', 'region'])).toBe('p:latest:click:eu%3Awest%7C1');
    expect(latestKey('p', row, [])).toBe('p:latest:all');
    expect(leaderboardKey('p', 'count', 60_000)).toBe('p:top:count:60000');
  });

  it('requires leaderboard members to identify one row per window', () => {
    const [byRegion] = resolveLeaderboards([{ name: 'purchases', metric: 'count', memberFields: ['region'], where: { type: 'purchase' } }],
      CANONICAL_WINDOW_SHAPE, 'sinks.redis.leaderboards');
    expect(leaderboardMember({ ...row, type: 'purchase' }, byRegion)).toBe('eu%3Awest%7C1');
    expect(leaderboardMember(row, byRegion)).toBeUndefined();
    expect(() => resolveLeaderboards([{ name: 'x', metric: 'count', memberFields: ['region'], where: {} }], CANONICAL_WINDOW_SHAPE, 'sinks.redis.leaderboards'))
      .toThrowError(expect.objectContaining({ path: 'sinks.redis.leaderboards[0].memberFields' }) as Error);
    expect(() => resolveLeaderboards([{ name: 'x', metric: 'nope', where: {} }], CANONICAL_WINDOW_SHAPE, 'sinks.redis.leaderboards'))
      .toThrowError(expect.objectContaining({ path: 'sinks.redis.leaderboards[0].metric' }) as Error);
  });
});

describe('window shape from the aggregate config', () => {
  it('types metrics by op and makes min / max / avg nullable', () => {
    const shape = windowShapeFromAggregate({
      groupBy: ['type', 'region'],
      metrics: [
        { name: 'count', op: 'count' }, { name: 'amount_sum', op: 'sum' }, { name: 'amount_max', op: 'max' },
        { name: 'users_approx', op: 'distinct' }, { name: 'amount_avg', op: 'avg' },
      ],
    });
    expect(shape).toEqual({
      groupFields: ['type', 'region'],
      metrics: [
        { name: 'count', kind: 'integer' }, { name: 'amount_sum', kind: 'float', nullable: false },
        { name: 'amount_max', kind: 'float', nullable: true }, { name: 'users_approx', kind: 'integer' },
        { name: 'amount_avg', kind: 'float', nullable: true },
      ],
    });
    expect(createWindowTableSql('d', 't', shape)).toContain('`amount_max` Nullable(Float64), `users_approx` Int64, `amount_avg` Nullable(Float64)');
  });
});

describe('ClickHouse SQL', () => {
  it('quotes identifiers and strings', () => {
    expect(quoteIdentifier('a`b\\c')).toBe('`a\\`b\\\\c`');
    expect(quoteString("it's \\ ok")).toBe("'it\\'s \\\\ ok'");
  });

  it('builds the window table DDL from the shape', () => {
    expect(createWindowTableSql('db', 'w', CANONICAL_WINDOW_SHAPE)).toBe(
      'CREATE TABLE IF NOT EXISTS `db`.`w` (`window_start` UInt64, `window_end` UInt64, `type` String, `region` String, '
      + '`count` Int64, `amount_sum` Float64, `amount_max` Float64, `users_approx` Int64, `version` UInt64) '
      + 'ENGINE = ReplacingMergeTree(`version`) ORDER BY (`window_start`, `type`, `region`)',
    );
  });
});
