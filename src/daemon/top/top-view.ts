/**
 * One frame of `ringflow top`: the daemon's figures from two scrapes of its /metrics (rates are the
 * difference over the interval between them), laid out as plain text lines.
 */
import { formatRate } from '../progress.js';
import { formatWatermark } from '../status-line.js';
import type { MetricsSnapshot } from './metrics-text.js';

const n = (v: number): string => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const pad = (s: string, w: number): string => (s.length >= w ? s : s + ' '.repeat(w - s.length));
const padLeft = (s: string, w: number): string => (s.length >= w ? s : ' '.repeat(w - s.length) + s);
const mib = (bytes: number): string => (Number.isFinite(bytes) ? `${(bytes / 1048576).toFixed(0)} MiB` : '-');
const ms = (seconds: number): string => (Number.isFinite(seconds) ? (seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1) : '-');

function rate(prev: MetricsSnapshot | null, cur: MetricsSnapshot, name: string, match: Record<string, string> = {}): number {
  if (prev === null || cur.atMs <= prev.atMs) return NaN;
  const d = cur.value(name, match) - prev.value(name, match);
  return d >= 0 ? d / ((cur.atMs - prev.atMs) / 1000) : NaN;
}

const fmtRate = (v: number): string => (Number.isFinite(v) ? formatRate(v) : '-');

export function formatTopFrame(prev: MetricsSnapshot | null, cur: MetricsSnapshot, source: string): string[] {
  const lines: string[] = [];
  const name = cur.all('ringflow_ready')[0]?.labels.daemon ?? '?';
  const ready = cur.value('ringflow_ready') === 1 ? 'ready' : 'NOT READY';
  lines.push(`ringflow top: ${name} at ${source}   ${ready}   ${new Date(cur.atMs).toISOString()}`);
  const outcome = (o: string): number => cur.value('ringflow_events_total', { outcome: o });
  lines.push(`events/s: input ${fmtRate(rate(prev, cur, 'ringflow_input_events_total'))}   accepted ${fmtRate(rate(prev, cur, 'ringflow_events_total', { outcome: 'accepted' }))}`
    + `   window rows ${fmtRate(rate(prev, cur, 'ringflow_window_rows_emitted_total'))}`);
  lines.push(`input ${n(cur.value('ringflow_input_events_total'))} = accepted ${n(outcome('accepted'))} + invalid ${n(outcome('invalid'))}`
    + ` + duplicate ${n(outcome('duplicate'))} + late ${n(outcome('late'))} + failed ${n(outcome('failed'))}`);
  const reasons = cur.all('ringflow_dead_letter_lines_total').sort((a, b) => b.value - a.value).slice(0, 6);
  lines.push(`dead letters: ${reasons.length === 0 ? 'none' : reasons.map((s) => `${s.labels.reason} ${n(s.value)}`).join('   ')}`);
  const wm = cur.value('ringflow_watermark_seconds');
  const wmLag = cur.value('ringflow_watermark_lag_seconds');
  lines.push(`watermark ${Number.isFinite(wm) ? formatWatermark(wm * 1000) : 'none'}   behind wall clock ${Number.isFinite(wmLag) ? `${wmLag.toFixed(1)} s` : '-'}`
    + `   windows ${n(cur.value('ringflow_windows_emitted_total'))} (${n(cur.value('ringflow_window_rows_emitted_total'))} rows)`
    + `   unsettled chunks ${n(cur.value('ringflow_unsettled_chunks'))}`);
  lines.push('');
  const partitions = cur.labelValues('ringflow_source_delivered_position', 'source_partition');
  lines.push(`${pad('partition', 10)}${padLeft('end', 14)}${padLeft('committed', 14)}${padLeft('delivered', 14)}${padLeft('lag', 12)}`);
  for (const p of partitions) {
    const at = { source_partition: p };
    lines.push(`${pad(p, 10)}${padLeft(n(cur.value('ringflow_source_end_position', at)), 14)}${padLeft(n(cur.value('ringflow_source_committed_position', at)), 14)}`
      + `${padLeft(n(cur.value('ringflow_source_delivered_position', at)), 14)}${padLeft(n(cur.value('ringflow_source_lag', at)), 12)}`);
  }
  if (partitions.length === 0) lines.push('(no source partition assigned)');
  lines.push('');
  lines.push(`${pad('sink', 22)}${padLeft('rows/s', 10)}${padLeft('rows', 14)}${padLeft('retries', 9)}${padLeft('dead', 8)}${padLeft('buffered', 10)}${padLeft('p50 ms', 9)}${padLeft('p99 ms', 9)}`);
  for (const sink of cur.labelValues('ringflow_sink_rows_written_total', 'sink')) {
    const at = { sink };
    lines.push(`${pad(sink, 22)}${padLeft(fmtRate(rate(prev, cur, 'ringflow_sink_rows_written_total', at)), 10)}`
      + `${padLeft(n(cur.value('ringflow_sink_rows_written_total', at)), 14)}${padLeft(n(cur.value('ringflow_sink_retries_total', at)), 9)}`
      + `${padLeft(n(cur.value('ringflow_sink_dead_lettered_rows_total', at)), 8)}${padLeft(n(cur.value('ringflow_sink_buffered_rows', at)), 10)}`
      + `${padLeft(ms(cur.quantile('ringflow_sink_write_seconds', 0.5, at)), 9)}${padLeft(ms(cur.quantile('ringflow_sink_write_seconds', 0.99, at)), 9)}`);
  }
  lines.push('');
  lines.push(`process: RSS ${mib(cur.value('ringflow_process_resident_memory_bytes'))}   heap ${mib(cur.value('ringflow_nodejs_heap_size_used_bytes'))}`
    + `   event loop p99 ${ms(cur.value('ringflow_nodejs_eventloop_lag_p99_seconds'))} ms   CPU ${fmtRate(rate(prev, cur, 'ringflow_process_cpu_seconds_total') * 100)}%`);
  return lines;
}
