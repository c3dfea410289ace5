/**
 * The periodic one-line status of `ringflow run` on stderr, e.g.
 *
 *   ringflow: 49.8K events/s | input 1,250,000 = accepted 1,163,911 + invalid 24,870 + dups 61,219 + late 0 |
 *   windows 4 (56 rows) | watermark 2026-01-01T00:04:05.000Z | unsettled chunks 61 | committed {0:1250000}
 *
 * A plain line per interval (not redrawn in place) so it reads the same in a terminal and in a log.
 */
import type { PipelineStats } from '../pipeline/pipeline.js';
import { formatRate } from './progress.js';

export interface StatusSample {
  stats: PipelineStats;
  unsettledChunks: number;
  committed: Record<number, number>;
}

const n = (v: number): string => v.toLocaleString('en-US');

export function formatWatermark(ms: number): string {
  if (!Number.isFinite(ms)) return ms > 0 ? '+inf' : 'none';
  return new Date(ms).toISOString();
}

export function formatStatus(s: StatusSample, eventsPerSec: number): string {
  const st = s.stats;
  const committed = Object.entries(s.committed).map(([p, pos]) => `${p}:${pos}`).join(',');
  // Rows in the rings or on a worker have no outcome yet; naming them keeps the equation true mid-stream.
  const inFlight = st.input - st.accepted - st.invalid - st.duplicates - st.late - st.failed;
  return `ringflow: ${formatRate(eventsPerSec)} events/s | input ${n(st.input)} = accepted ${n(st.accepted)} + invalid ${n(st.invalid)}`
    + ` + dups ${n(st.duplicates)} + late ${n(st.late)}${st.failed > 0 ? ` + failed ${n(st.failed)}` : ''}`
    + `${inFlight > 0 ? ` + in flight ${n(inFlight)}` : ''}`
    + ` | windows ${n(st.windowsEmitted)} (${n(st.windowRowsEmitted)} rows) | watermark ${formatWatermark(st.watermarkMs)}`
    + ` | unsettled chunks ${n(s.unsettledChunks)} | committed {${committed}}`;
}

/** Prints formatStatus every intervalMs; the rate is over the last interval. */
export class StatusLine {
  private readonly timer: NodeJS.Timeout | null;
  private lastInput = 0;
  private lastMs = Date.now();

  constructor(intervalMs: number, private readonly sample: () => StatusSample, private readonly out: NodeJS.WritableStream = process.stderr) {
    this.timer = intervalMs > 0 ? setInterval(() => this.print(), intervalMs) : null;
    this.timer?.unref();
  }

  print(): void {
    const s = this.sample();
    const now = Date.now();
    const rate = (s.stats.input - this.lastInput) / Math.max(0.001, (now - this.lastMs) / 1000);
    this.lastInput = s.stats.input;
    this.lastMs = now;
    this.out.write(`${formatStatus(s, rate)}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
