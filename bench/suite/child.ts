/**
 * Runs one measured system in its own process: peak RSS is then that system's alone (a Node process's
 * maxRSS covers all of its threads), and no JIT or heap state leaks between measurements. The child
 * prints one JSON line on stdout; its stderr is kept (tail) for the error message.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** Repository root (this file is at dist/bench/suite/child.js or bench/suite/child.ts). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), import.meta.url.includes('/dist/') ? '../../..' : '../..');
export const DIST_ROOT = resolve(REPO_ROOT, 'dist');

export interface ChildRun<T> {
  json: T;
  /** Spawn to exit, as seen from the suite. */
  wallMs: number;
  /** Kernel high-water mark of the child's resident set (VmHWM), polled until exit. */
  peakRssMiB: number;
}

const STDERR_TAIL_BYTES = 4096;
const RSS_POLL_MS = 50;

function vmHwmKiB(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** `node <script> ...args` with cwd = repository root; resolves the last JSON line of stdout. */
export function runNodeChild<T>(script: string, args: readonly string[], timeoutMs = 15 * 60_000): Promise<ChildRun<T>> {
  return runChild<T>(process.execPath, [resolve(REPO_ROOT, script), ...args], timeoutMs);
}

export function runChild<T>(command: string, args: readonly string[], timeoutMs: number): Promise<ChildRun<T>> {
  const started = performance.now();
  const child = spawn(command, [...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peakKiB = 0;
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr = (stderr + s).slice(-STDERR_TAIL_BYTES); });
  const poll = setInterval(() => { if (child.pid) peakKiB = Math.max(peakKiB, vmHwmKiB(child.pid)); }, RSS_POLL_MS);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise<ChildRun<T>>((resolveRun, reject) => {
    child.once('error', (err) => { clearInterval(poll); clearTimeout(timer); reject(err); });
    // 'exit' (not 'close'): /proc/<pid>/status is still readable until the zombie is reaped.
    child.once('exit', (code, signal) => {
      if (child.pid) peakKiB = Math.max(peakKiB, vmHwmKiB(child.pid));
      clearInterval(poll);
      clearTimeout(timer);
      const wallMs = performance.now() - started;
      const finish = (): void => {
        const line = stdout.split('\n').filter((l) => l.startsWith('{')).at(-1);
        if (code !== 0 || line === undefined) {
          reject(new Error(`${args[0] ?? command} exited with ${signal ?? code}${line === undefined ? ', no JSON result' : ''}: ${stderr.trim().slice(-1500)}`));
          return;
        }
        resolveRun({ json: JSON.parse(line) as T, wallMs, peakRssMiB: Math.round(peakKiB / 1024) });
      };
      if (child.stdout.readableEnded) finish();
      else child.stdout.once('end', finish);
    });
  });
}
