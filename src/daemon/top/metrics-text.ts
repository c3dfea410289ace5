/**
 * A reader of the Prometheus text exposition format, enough for `ringflow top` and the dashboard to
 * read ringflow's own /metrics: one sample per line, `name{label="value",...} number`; comments and
 * blank lines skipped. Label values may hold escaped quotes, backslashes and newlines.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

export function parseMetricsText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) for (const l of m[2].matchAll(LABEL)) labels[l[1]] = unescape(l[2]);
    out.push({ name: m[1], labels, value: parseValue(m[3]) });
  }
  return out;
}

/** Samples of one scrape, looked up by name and labels. */
export class MetricsSnapshot {
  private readonly byName = new Map<string, Sample[]>();

  constructor(samples: readonly Sample[], readonly atMs: number) {
    for (const s of samples) (this.byName.get(s.name) ?? this.byName.set(s.name, []).get(s.name)!).push(s);
  }

  static parse(text: string, atMs: number): MetricsSnapshot {
    return new MetricsSnapshot(parseMetricsText(text), atMs);
  }

  all(name: string): Sample[] {
    return this.byName.get(name) ?? [];
  }

  /** The sum over every sample of `name` whose labels include `match`; NaN when there is none. */
  value(name: string, match: Record<string, string> = {}): number {
    let sum = 0;
    let found = false;
    for (const s of this.all(name)) {
      if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) {
        sum += s.value;
        found = true;
      }
    }
    return found ? sum : NaN;
  }

  /** Distinct values of one label over the samples of `name`, sorted. */
  labelValues(name: string, label: string): string[] {
    return [...new Set(this.all(name).map((s) => s.labels[label]).filter((v) => v !== undefined))].sort((a, b) =>
      a.localeCompare(b, 'en', { numeric: true }));
  }

  /**
   * The q-quantile of a histogram's observations, linearly interpolated inside the bucket, as
   * Prometheus's histogram_quantile does over the cumulative `_bucket` counts; NaN without data.
   */
  quantile(histogram: string, q: number, match: Record<string, string> = {}): number {
    const buckets = this.all(`${histogram}_bucket`)
      .filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v))
      .map((s) => ({ le: parseValue(s.labels.le ?? 'NaN'), count: s.value }))
      .sort((a, b) => a.le - b.le);
    const total = buckets.length > 0 ? buckets[buckets.length - 1].count : 0;
    if (total <= 0) return NaN;
    const rank = q * total;
    let prevLe = 0;
    let prevCount = 0;
    for (const b of buckets) {
      if (b.count >= rank) {
        if (!Number.isFinite(b.le)) return prevLe;
        return prevLe + (b.le - prevLe) * ((rank - prevCount) / Math.max(1e-12, b.count - prevCount));
      }
      prevLe = b.le;
      prevCount = b.count;
    }
    return prevLe;
  }
}
