/**
 * A running `ringflow run` with its metrics server, for the tests of what reads that server (the
 * dashboard, `ringflow top`): the canonical pipeline on the generator source, files sink in a temp
 * dir, metrics on a free loopback port; compiled dist/ (run `npx tsc -p tsconfig.json` first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findFreePort } from '../../services/host.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = join(ROOT, 'bin', 'ringflow.js');

export interface MetricsDaemon {
  child: ChildProcess;
  cwd: string;
  port: number;
  /** http://127.0.0.1:<port> */
  base: string;
  stderr(): string;
}

/** Polls `check` every 100 ms until it holds; fails naming `what` (and `detail()`) at the deadline. */
export async function until(what: string, deadlineMs: number, check: () => boolean | Promise<boolean>, detail: () => string = () => ''): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the daemon named `name` at 20,000 generated events/s for at most 60 s; resolves once /readyz answers 200. */
export async function startMetricsDaemon(name: string): Promise<MetricsDaemon> {
  const cwd = mkdtempSync(join(tmpdir(), `rf-${name}-`));
  const port = await findFreePort();
  const raw = JSON.parse(readFileSync(join(ROOT, 'examples', 'clickstream.json'), 'utf8'));
  writeFileSync(join(cwd, 'c.json'), JSON.stringify({
    ...raw, name, enrich: { ...raw.enrich, table: join(ROOT, 'examples', raw.enrich.table) },
    source: { type: 'generator', generator: { ...raw.source?.generator, ratePerSec: 20_000 } },
    daemon: { metrics: { listen: `127.0.0.1:${port}` } },
  }));
  const child = spawn(process.execPath, [BIN, 'run', '--config', 'c.json', '--duration-ms', '60000'], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const base = `http://127.0.0.1:${port}`;
  try {
    await until('/readyz 200', 30_000, async () => (await fetch(`${base}/readyz`).catch(() => null))?.status === 200, () => err);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return { child, cwd, port, base, stderr: () => err };
}
