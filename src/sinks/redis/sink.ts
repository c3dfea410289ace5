/**
 * Redis sink for window rows: one MULTI/EXEC per batch (atomic, so readers never see half a window's
 * leaderboard), with absolute writes only — see keys.ts for the layout and why replays are harmless.
 */
import { Redis } from 'ioredis';
import { BufferedSink, type SinkDriver, type SinkEvents } from '../buffered-sink.js';
import { rowFragment, type DeadLetterFile } from '../dead-letter-file.js';
import { errorMessage, networkErrorCode, type ErrorVerdict } from '../retry.js';
import type { Sink } from '../sink.js';
import type { RedisSinkConfig } from './config.js';
import { latestKey, leaderboardKey, leaderboardMember, resolveLeaderboards, windowKey, type ResolvedLeaderboard } from './keys.js';
import type { WindowRow, WindowShape } from '../../contracts/index.js';

/**
 * Moves `latest` forward only: a replayed or late-arriving older window must not replace a newer one.
 * KEYS[1] = latest key; ARGV = window_start, ttlSeconds, field, value, field, value, ...
 */
const SET_LATEST_LUA = `
local cur = redis.call('HGET', KEYS[1], 'window_start')
if cur and tonumber(cur) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'window_start', ARGV[1], unpack(ARGV, 3))
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1`;

type RingflowRedis = Redis & {
  ringflowSetLatest(key: string, windowStart: string, ttlSeconds: number, ...fieldValues: string[]): Promise<number>;
};

/** Replies that mean "try again later"; any other server reply (WRONGTYPE, ERR ...) will fail again. */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|OOM|READONLY|MASTERDOWN|CLUSTERDOWN|NOREPLICAS|MISCONF)\b/;

/**
 * A command inside MULTI failed (e.g. WRONGTYPE on one key) while the others were applied: the
 * failure belongs to a row, so the batch is split to find it (re-applying the rest is harmless).
 */
class RedisCommandError extends Error {
  readonly rowLevel = true;
}

export function classifyRedisError(err: unknown): ErrorVerdict {
  const message = errorMessage(err);
  const network = networkErrorCode(err);
  if (network) return { retriable: true, code: network, message };
  const name = (err as { name?: string } | null)?.name ?? '';
  if (name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable|Command timed out/i.test(message)) {
    return { retriable: true, code: 'redis:connection', message };
  }
  const reply = /^([A-Z]+)\b/.exec(message)?.[1];
  if (reply && TRANSIENT_REPLY.test(message)) return { retriable: true, code: `redis:${reply}`, message };
  const rowLevel = err instanceof RedisCommandError;
  return { retriable: false, rowLevel, code: reply ? `redis:${reply}` : 'redis:client', message };
}

class RedisWindowDriver implements SinkDriver<WindowRow> {
  readonly name = 'redis.windows';
  private readonly metrics: string[];

  constructor(
    private readonly redis: RingflowRedis,
    private readonly config: RedisSinkConfig,
    private readonly shape: WindowShape,
    private readonly boards: readonly ResolvedLeaderboard[],
  ) {
    this.metrics = shape.metrics.map((m) => m.name);
  }

  rowsOf(): number {
    return 1;
  }

  async writeBatch(rows: readonly WindowRow[]): Promise<void> {
    const { keyPrefix: prefix, windowTtlSeconds, latestTtlSeconds } = this.config;
    const groups = this.shape.groupFields;
    const multi = this.redis.multi();
    const touchedBoards = new Set<string>();
    for (const row of rows) {
      const fields: string[] = ['window_end', String(row.window_end)];
      // A null metric (min / max / avg of no values) is stored as '' so it replaces an older value.
      for (const m of this.metrics) fields.push(m, row[m] === null ? '' : String(row[m]));
      const winKey = windowKey(prefix, row, groups);
      multi.hset(winKey, ...fields);
      if (windowTtlSeconds > 0) multi.expire(winKey, windowTtlSeconds);
      for (const board of this.boards) {
        const member = leaderboardMember(row, board);
        if (member === undefined) continue;
        const key = leaderboardKey(prefix, board.name, row.window_start);
        const score = row[board.metric];
        if (score === null) multi.zrem(key, member);
        else multi.zadd(key, String(score), member);
        touchedBoards.add(key);
      }
      (multi as unknown as RingflowRedis).ringflowSetLatest(
        latestKey(prefix, row, groups), String(row.window_start), latestTtlSeconds, ...fields,
      );
    }
    if (windowTtlSeconds > 0) for (const key of touchedBoards) multi.expire(key, windowTtlSeconds);
    const results = await multi.exec();
    if (results === null) throw new Error('Redis MULTI was aborted (EXEC returned null)');
    for (const [err] of results) if (err) throw new RedisCommandError(err.message, { cause: err });
  }

  classify = classifyRedisError;

  deadLetterFragments(row: WindowRow): string[] {
    return [rowFragment(row)];
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export function createRedisClient(config: RedisSinkConfig): RingflowRedis {
  const redis = new Redis(config.url, {
    lazyConnect: true,
    // Fail a command after one reconnect attempt: the sink's own retry loop (with backoff and a
    // budget) decides what happens next, instead of ioredis queueing it without bound.
    maxRetriesPerRequest: 1,
    commandTimeout: config.commandTimeoutMs,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
  });
  redis.on('error', () => {
    // Connection errors surface through the failed commands; without a listener ioredis logs them.
  });
  redis.defineCommand('ringflowSetLatest', { numberOfKeys: 1, lua: SET_LATEST_LUA });
  return redis as RingflowRedis;
}

export function createRedisSink(
  config: RedisSinkConfig,
  shape: WindowShape,
  deadLetter: DeadLetterFile,
  events: SinkEvents = {},
  path = 'sinks.redis',
): Sink<WindowRow> {
  const boards = resolveLeaderboards(config.leaderboards, shape, `${path}.leaderboards`);
  const redis = createRedisClient(config);
  redis.connect().catch(() => {
    // Not fatal: ioredis keeps reconnecting, and writes retry until the budget is spent.
  });
  return new BufferedSink(
    new RedisWindowDriver(redis, config, shape, boards),
    { maxRows: config.maxRows, maxDelayMs: config.maxDelayMs, maxBufferedRows: config.maxBufferedRows, retry: config.retry },
    deadLetter,
    events,
  );
}
