/**
 * A one-line progress display on stderr (rate and percent done), redrawn a few times a second. Only
 * when stderr is a terminal: redirected output must stay clean for scripts and CI logs.
 */
export interface ProgressSample {
  doneBytes: number;
  /** -1 when the total is unknown (stdin). */
  totalBytes: number;
  events: number;
}

const REDRAW_INTERVAL_MS = 250;

export class ProgressLine {
  private readonly timer: NodeJS.Timeout | null;
  private readonly startedMs = Date.now();
  private drawn = false;

  constructor(enabled: boolean, private readonly sample: () => ProgressSample, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.timer = enabled ? setInterval(() => this.draw(), REDRAW_INTERVAL_MS) : null;
    this.timer?.unref();
  }

  private draw(): void {
    const s = this.sample();
    const seconds = Math.max(0.001, (Date.now() - this.startedMs) / 1000);
    const rate = s.events / seconds;
    const pct = s.totalBytes > 0 ? `${((100 * s.doneBytes) / s.totalBytes).toFixed(1)}%` : `${(s.doneBytes / 2 ** 20).toFixed(0)} MiB`;
    this.out.write(`\r\x1b[2Kringflow: ${pct}  ${s.events.toLocaleString('en-US')} events  ${formatRate(rate)} events/s`);
    this.drawn = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.drawn) {
      this.out.write('\r\x1b[2K');
      this.drawn = false;
    }
  }
}

export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}K`;
  return perSecond.toFixed(0);
}
