/**
 * `ringflow top`: the figures of a running daemon in the terminal, like `vector top`, read from the
 * daemon's /metrics (daemon.metrics.listen) every interval. On a terminal the frame is redrawn in
 * place and `q` or Ctrl-C quits; otherwise (a pipe, a log) each frame is printed after the previous
 * one, and `--once` prints one frame and exits.
 */
import { formatTopFrame } from './top-view.js';
import { MetricsSnapshot } from './metrics-text.js';

export interface TopOptions {
  /** Base URL of the daemon's metrics server, e.g. http://127.0.0.1:9464. */
  url: string;
  intervalMs: number;
  /** Bearer token for /metrics, or null. */
  token: string | null;
  once: boolean;
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
}

const CLEAR = '\x1b[H\x1b[2J';
/** How long one scrape may take before the frame says the daemon cannot be reached. */
const FETCH_TIMEOUT_MS = 5_000;

async function scrape(url: string, token: string | null): Promise<MetricsSnapshot> {
  const res = await fetch(`${url.replace(/\/+$/, '')}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}${res.status === 401 ? ' (set the token with --token-env)' : ''}`);
  return MetricsSnapshot.parse(await res.text(), Date.now());
}

/** Runs until `q` / Ctrl-C (or after one frame with `once`); returns the exit code. */
export async function runTop(o: TopOptions): Promise<number> {
  const input = o.input ?? process.stdin;
  const output = o.output ?? process.stdout;
  const tty = output.isTTY === true && !o.once;
  let prev: MetricsSnapshot | null = null;
  if (o.once) {
    // Two scrapes one interval apart, so the frame has rates.
    prev = await scrape(o.url, o.token);
    await new Promise((r) => setTimeout(r, o.intervalMs));
    output.write(`${formatTopFrame(prev, await scrape(o.url, o.token), o.url).join('\n')}\n`);
    return 0;
  }
  let quit!: () => void;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const onKey = (key: Buffer): void => {
    const k = key.toString();
    if (k === 'q' || k === 'Q' || k === '\u0003') quit();
  };
  if (input.isTTY) input.setRawMode(true);
  input.on('data', onKey);
  input.resume();
  let stop = false;
  void quitting.then(() => { stop = true; });
  try {
    while (!stop) {
      let frame: string[];
      try {
        const cur = await scrape(o.url, o.token);
        frame = formatTopFrame(prev, cur, o.url);
        prev = cur;
      } catch (err) {
        frame = [`ringflow top: cannot read ${o.url}/metrics: ${(err as Error).message}; retrying`];
      }
      frame.push('', tty ? 'press q to quit' : '');
      output.write(tty ? CLEAR + frame.join('\n') : `${frame.join('\n')}\n`);
      await Promise.race([quitting, new Promise((r) => setTimeout(r, o.intervalMs))]);
    }
  } finally {
    input.off('data', onKey);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
    if (tty) output.write('\n');
  }
  return 0;
}
