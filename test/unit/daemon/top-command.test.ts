/**
 * `ringflow top` as an operator runs it: in a pseudo-terminal (util-linux `script`), against a
 * running daemon (the generator source, metrics on a free loopback port; compiled dist/). It shows
 * the daemon's name and figures that grow while events flow, and exits 0 on `q`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, startMetricsDaemon, until } from './metrics-daemon.js';

const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

/** The input counts of every frame drawn so far, in order. */
function inputCounts(screen: string): number[] {
  return [...screen.matchAll(/\ninput ([\d,]+) = accepted/g)].map((m) => Number(m[1].replace(/,/g, '')));
}

describe('ringflow top', () => {
  it('shows a running daemon\'s figures in a terminal, moving while events flow, and quits on q', async () => {
    const d = await startMetricsDaemon('top-test');
    const daemon = d.child;
    children.push(daemon);
    const { port, cwd } = d;

    // `script` gives the command a pseudo-terminal, so top runs as on a terminal: raw keys, frames redrawn in place.
    const command = `${process.execPath} ${BIN} top --url http://127.0.0.1:${port} --interval-ms 300`;
    const top = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(top);
    let screen = '';
    top.stdout!.on('data', (d: Buffer) => { screen += d.toString(); });
    top.stderr!.on('data', (d: Buffer) => { screen += d.toString(); });
    const exited = new Promise<number | null>((r) => top.once('exit', (code) => r(code)));
    await until('three frames', 30_000, () => inputCounts(screen).length >= 3, () => screen.slice(-3000));
    expect(screen).toContain('ringflow top: top-test at http://127.0.0.1:');
    expect(screen).toContain('press q to quit');
    expect(screen).toContain('\x1b[2J');
    expect(screen).toMatch(/files\.windows/);
    const counts = inputCounts(screen);
    expect(counts[counts.length - 1]).toBeGreaterThan(counts[0]);
    // What top shows is what /metrics says: the daemon's total only grows, so it is at least the last frame's.
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const total = Number(/^ringflow_input_events_total\{[^}]*\} (\d+)$/m.exec(text)?.[1]);
    expect(total).toBeGreaterThanOrEqual(counts[counts.length - 1]);

    top.stdin!.write('q');
    expect(await exited).toBe(0);
    daemon.kill('SIGTERM');
  }, 90_000);
});
