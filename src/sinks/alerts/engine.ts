/**
 * Evaluates alert rules on window rows. Each alert is emitted at most once per (window, group, rule):
 * replays of a window (after a restart or a retried delivery) find its id in the emitted set. The set
 * keeps the last `retainedWindows` distinct windows, so memory stays bounded; alert_id is stable, so
 * a consumer can still dedupe replays older than that (or from before a restart).
 */
import { ConfigError } from '../../errors.js';
import { groupKeyOf } from '../sink.js';
import type { Alert } from './alert.js';
import type { AlertRule, AlertsConfig } from './config.js';
import type { WindowRow, WindowShape } from '../../contracts/index.js';

interface SeenWindow {
  windowStart: number;
  windowEnd: number;
  row: WindowRow;
}

/** The two most recent windows of one group: `current` may be replayed, then `previous` is the base. */
interface GroupHistory {
  previous: SeenWindow | undefined;
  current: SeenWindow;
}

export class AlertEngine {
  private readonly history = new Map<string, GroupHistory>();
  private readonly emitted = new Map<number, Set<string>>();
  private readonly rules: readonly AlertRule[];

  constructor(
    config: AlertsConfig,
    private readonly shape: WindowShape,
    private readonly retainedWindows = config.retainedWindows,
    path = 'sinks.alerts',
  ) {
    const metrics = new Set(shape.metrics.map((m) => m.name));
    config.rules.forEach((rule, i) => {
      if (!metrics.has(rule.metric)) {
        throw new ConfigError(`${path}.rules[${i}].metric`, `"${rule.metric}" is not a metric; allowed: ${[...metrics].join(', ')}`);
      }
      for (const field of Object.keys(rule.where)) {
        if (!shape.groupFields.includes(field)) {
          throw new ConfigError(`${path}.rules[${i}].where.${field}`, `not a group field; allowed: ${shape.groupFields.join(', ')}`);
        }
      }
    });
    this.rules = config.rules;
  }

  /** Alerts for `rows`, in row order then rule order. Rows of one group must come in window order. */
  evaluate(rows: readonly WindowRow[]): Alert[] {
    const alerts: Alert[] = [];
    for (const row of rows) {
      const groupKey = groupKeyOf(row, this.shape.groupFields);
      const base = this.remember(groupKey, row);
      for (const rule of this.rules) {
        // A null metric (min / max / avg of no values) has nothing to compare.
        if (row[rule.metric] === null || !this.matches(rule, row)) continue;
        const alert = rule.kind === 'threshold' ? this.threshold(rule, row, groupKey) : this.change(rule, row, groupKey, base);
        if (alert && this.markEmitted(alert)) alerts.push(alert);
      }
    }
    return alerts;
  }

  private matches(rule: AlertRule, row: WindowRow): boolean {
    for (const field in rule.where) if (String(row[field]) !== rule.where[field]) return false;
    return true;
  }

  /** Records `row` and returns the window to compare it with. */
  private remember(groupKey: string, row: WindowRow): SeenWindow | undefined {
    const seen: SeenWindow = { windowStart: row.window_start, windowEnd: row.window_end, row };
    const h = this.history.get(groupKey);
    if (!h) {
      this.history.set(groupKey, { previous: undefined, current: seen });
      return undefined;
    }
    if (row.window_start > h.current.windowStart) {
      h.previous = h.current;
      h.current = seen;
      return h.previous;
    }
    if (row.window_start === h.current.windowStart) {
      h.current = seen;
      return h.previous;
    }
    // An older window than the latest (a replay from further back): no reliable base.
    return undefined;
  }

  private threshold(rule: Extract<AlertRule, { kind: 'threshold' }>, row: WindowRow, groupKey: string): Alert | undefined {
    const value = Number(row[rule.metric]);
    const hit =
      rule.op === '>' ? value > rule.value : rule.op === '>=' ? value >= rule.value : rule.op === '<' ? value < rule.value : value <= rule.value;
    if (!hit) return undefined;
    return { ...this.base(rule, row, groupKey, value), condition: `${rule.metric} ${rule.op} ${rule.value}`, threshold: rule.value };
  }

  private change(
    rule: Extract<AlertRule, { kind: 'change' }>,
    row: WindowRow,
    groupKey: string,
    base: SeenWindow | undefined,
  ): Alert | undefined {
    if (!base || (rule.adjacentOnly && base.windowEnd !== row.window_start) || base.row[rule.metric] === null) return undefined;
    const value = Number(row[rule.metric]);
    const previous = Number(base.row[rule.metric]);
    const delta = value - previous;
    let change: number;
    if (rule.mode === 'absolute') change = delta;
    else if (previous !== 0) change = delta / Math.abs(previous);
    else if (delta === 0) change = 0;
    else change = delta > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
    const size = rule.direction === 'increase' ? change : rule.direction === 'decrease' ? -change : Math.abs(change);
    if (!(size >= rule.atLeast) || size === 0) return undefined;
    const sign = rule.direction === 'decrease' ? '-' : rule.direction === 'increase' ? '+' : '±';
    const unit = rule.mode === 'relative' ? ` (${rule.atLeast * 100}%)` : '';
    return {
      ...this.base(rule, row, groupKey, value),
      condition: `${rule.metric} changed ${sign}${rule.atLeast}${unit} vs previous window`,
      previous_window_start: base.windowStart,
      previous_value: previous,
      // JSON has no Infinity (it would serialize as null): a change from 0 reports the largest finite number.
      change: Number.isFinite(change) ? change : Math.sign(change) * Number.MAX_VALUE,
    };
  }

  private base(rule: AlertRule, row: WindowRow, groupKey: string, value: number): Omit<Alert, 'condition'> {
    const group: Record<string, string> = {};
    for (const g of this.shape.groupFields) group[g] = String(row[g]);
    return {
      alert_id: `${rule.name}:${row.window_start}:${groupKey}`,
      rule: rule.name,
      kind: rule.kind,
      window_start: row.window_start,
      window_end: row.window_end,
      group,
      group_key: groupKey,
      metric: rule.metric,
      value,
    };
  }

  /** False when this alert was already emitted. */
  private markEmitted(alert: Alert): boolean {
    let ids = this.emitted.get(alert.window_start);
    if (!ids) {
      ids = new Set();
      this.emitted.set(alert.window_start, ids);
      if (this.emitted.size > this.retainedWindows) this.evictOldest();
    }
    if (ids.has(alert.alert_id)) return false;
    ids.add(alert.alert_id);
    return true;
  }

  private evictOldest(): void {
    let oldest = Number.POSITIVE_INFINITY;
    for (const start of this.emitted.keys()) if (start < oldest) oldest = start;
    this.emitted.delete(oldest);
  }
}
