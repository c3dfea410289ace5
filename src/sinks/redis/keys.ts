/**
 * Redis key layout (all under `<p>` = keyPrefix; group values escaped so ':' and '|' stay separators):
 *
 *   <p>:win:<window_start>:<g1>:<g2>...   HASH   window_end, <metric>... = values     (TTL windowTtlSeconds)
 *   <p>:top:<name>:<window_start>         ZSET   member <g..> joined by '|', score = metric (TTL windowTtlSeconds)
 *   <p>:latest:<g1>:<g2>...               HASH   window_start, window_end, <metric>...  (TTL latestTtlSeconds)
 *
 * Every write sets absolute values (HSET / ZADD), never increments, so writing a window twice leaves
 * the same state. `latest` only moves forward: replaying an older window does not overwrite it.
 */
import { ConfigError } from '../../errors.js';
import type { LeaderboardConfig } from './config.js';
import type { WindowRow, WindowShape } from '../../contracts/index.js';

/** Escapes the separators so distinct group tuples never map to the same key. */
export function escapeKeyPart(value: string): string {
  return value.replace(/%/g, '%25').replace(/:/g, '%3A').replace(/\|/g, '%7C');
}

export function groupSuffix(row: WindowRow, groupFields: readonly string[]): string {
  let out = '';
  for (const g of groupFields) out += `:${escapeKeyPart(String(row[g]))}`;
  return out;
}

export const windowKey = (prefix: string, row: WindowRow, groupFields: readonly string[]): string =>
  `${prefix}:win:${row.window_start}${groupSuffix(row, groupFields)}`;

/** With no group fields there is one group; its key ends in `:all`. */
export const latestKey = (prefix: string, row: WindowRow, groupFields: readonly string[]): string =>
  `${prefix}:latest${groupFields.length > 0 ? groupSuffix(row, groupFields) : ':all'}`;

export const leaderboardKey = (prefix: string, name: string, windowStart: number): string =>
  `${prefix}:top:${name}:${windowStart}`;

export interface ResolvedLeaderboard {
  name: string;
  metric: string;
  memberFields: readonly string[];
  where: readonly [string, string][];
}

/**
 * Checks leaderboards against the window shape. A member must identify one row per window (member
 * fields plus `where` cover every group field); otherwise two rows would race for one member and the
 * score would depend on write order instead of being a pure function of the window.
 */
export function resolveLeaderboards(boards: readonly LeaderboardConfig[], shape: WindowShape, path: string): ResolvedLeaderboard[] {
  const metrics = new Set(shape.metrics.map((m) => m.name));
  return boards.map((b, i) => {
    const at = `${path}[${i}]`;
    if (!metrics.has(b.metric)) {
      throw new ConfigError(`${at}.metric`, `"${b.metric}" is not a metric; allowed: ${[...metrics].join(', ')}`);
    }
    const memberFields = b.memberFields ?? shape.groupFields;
    for (const f of [...memberFields, ...Object.keys(b.where)]) {
      if (!shape.groupFields.includes(f)) {
        throw new ConfigError(`${at}`, `"${f}" is not a group field; allowed: ${shape.groupFields.join(', ')}`);
      }
    }
    const uncovered = shape.groupFields.filter((g) => !memberFields.includes(g) && !(g in b.where));
    if (uncovered.length > 0) {
      throw new ConfigError(`${at}.memberFields`, `group fields ${uncovered.join(', ')} must be in memberFields or fixed by where`);
    }
    return { name: b.name, metric: b.metric, memberFields, where: Object.entries(b.where) };
  });
}

export function leaderboardMember(row: WindowRow, board: ResolvedLeaderboard): string | undefined {
  for (const [field, value] of board.where) if (String(row[field]) !== value) return undefined;
  let member = '';
  board.memberFields.forEach((f, i) => {
    member += (i > 0 ? '|' : '') + escapeKeyPart(String(row[f]));
  });
  return member;
}
