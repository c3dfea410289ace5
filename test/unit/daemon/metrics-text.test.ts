/**
 * The Prometheus text reader of `ringflow top`: samples with escaped label values, sums over label
 * matches, and histogram quantiles interpolated inside buckets as PromQL's histogram_quantile does.
 */
import { describe, expect, it } from 'vitest';
import { MetricsSnapshot, parseMetricsText } from '../../../src/daemon/top/metrics-text.js';

const TEXT = `# HELP x_total a counter
# TYPE x_total counter
x_total{daemon="d",outcome="accepted"} 900
x_total{daemon="d",outcome="invalid"} 50
weird{reason="a \\"quoted\\", back\\\\slash\\nnewline"} 3
lat_bucket{sink="s",le="0.1"} 10
lat_bucket{sink="s",le="0.2"} 30
lat_bucket{sink="s",le="+Inf"} 40
up 1 1700000000000
`;

describe('metrics text', () => {
  it('parses samples, labels with escapes, and an optional timestamp', () => {
    const samples = parseMetricsText(TEXT);
    expect(samples).toHaveLength(7);
    expect(samples[2]).toEqual({ name: 'weird', labels: { reason: 'a "quoted", back\\slash\nnewline' }, value: 3 });
    expect(samples[5].value).toBe(40);
    expect(samples[6]).toEqual({ name: 'up', labels: {}, value: 1 });
  });

  it('sums over matching labels, NaN when nothing matches', () => {
    const s = MetricsSnapshot.parse(TEXT, 0);
    expect(s.value('x_total')).toBe(950);
    expect(s.value('x_total', { outcome: 'invalid' })).toBe(50);
    expect(s.value('x_total', { outcome: 'late' })).toBeNaN();
    expect(s.labelValues('x_total', 'outcome')).toEqual(['accepted', 'invalid']);
  });

  it('interpolates quantiles inside a bucket; the +Inf bucket answers its lower bound', () => {
    const s = MetricsSnapshot.parse(TEXT, 0);
    expect(s.quantile('lat', 0.25, { sink: 's' })).toBeCloseTo(0.1, 10); // rank 10: the end of the first bucket
    expect(s.quantile('lat', 0.5, { sink: 's' })).toBeCloseTo(0.15, 10); // rank 20: half way through (0.1, 0.2]
    expect(s.quantile('lat', 0.99, { sink: 's' })).toBe(0.2); // rank 39.6 falls in +Inf
    expect(s.quantile('lat', 0.5, { sink: 'other' })).toBeNaN();
  });
});
