/**
 * `ringflow top` as an operator runs it: in a pseudo-terminal (util-linux `script`), against a
 * running daemon (the generator source, metrics on a free loopback port; compiled dist/). It shows
 * the daemon's name and figures that grow while events flow, and exits 0 on `q`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../services/host.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = join(ROOT, 'bin', 'ringflow.js');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function until(what: string, deadlineMs: number, check: () => boolean | Promise<boolean>, detail: () => string): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The input counts of every frame drawn so far, in order. */
function inputCounts(screen: string): number[] {
  return [...screen.matchAll(/\ninput ([\d,]+) = accepted/g)].map((m) => Number(m[1].replace(/,/g, '')));
}

describe('ringflow top', () => {
  it('shows a running daemon\'s figures in a terminal, moving while events flow, and quits on q', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'rf-top-'));
    const port = await findFreePort();
    const raw = JSON.parse(readFileSync(join(ROOT, 'examples', 'clickstream.json'), 'utf8'));
    writeFileSync(join(cwd, 'c.json'), JSON.stringify({
      ...raw, name: 'top-test', enrich: { ...raw.enrich, table: join(ROOT, 'examples', raw.enrich.table) },
      source: { type: 'generator', generator: { ...raw.source?.generator, ratePerSec: 20_000 } },
      daemon: { metrics: { listen: `127.0.0.1:${port}` } },
    }));
    const daemon = spawn(process.execPath, [BIN, 'run', '--config', 'c.json', '--duration-ms', '60000'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    children.push(daemon);
    let daemonErr = '';
    daemon.stderr!.on('data', (d: Buffer) => { daemonErr += d.toString(); });
    await until('/readyz 200', 30_000, async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.status === 200, () => daemonErr);

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
