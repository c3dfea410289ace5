/**
 * Runs one measured system in its own process: peak RSS is then that system's alone (a Node process's
 * maxRSS covers all of its threads), and no JIT or heap state leaks between measurements. The child
 * prints one JSON line on stdout; its stderr is kept (tail) for the error message.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isMainThread } from 'node:worker_threads';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join, resolve } from 'node:path';

/** Repository root (this file is at dist/bench/suite/child.js or bench/suite/child.ts). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), import.meta.url.includes('/dist/') ? '../../..' : '../..');
export const DIST_ROOT = resolve(REPO_ROOT, 'dist');

export interface ChildRun<T> {
  json: T;
  /** Spawn to exit, as seen from the suite. */
  wallMs: number;
  /** Kernel high-water mark of the child's resident set (VmHWM), polled until exit. */
  peakRssMiB: number;
  /**
   * User + system CPU time of a Node child, all its threads, start-up included (NaN for others).
   * Unlike wall time it hardly grows when other processes compete for the cores.
   */
  cpuMs: number;
  /** User + system CPU time of the child's main thread alone (NaN when unknown): bounds a main-thread-bound rate. */
  mainThreadCpuMs: number;
}

/** CPU time of the calling thread from /proc (clock ticks of 10 ms), or NaN off Linux. */
function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) (utime, stime), counted from the state field (3).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SEC;
  } catch {
    return Number.NaN;
  }
}
const CLOCK_TICKS_PER_SEC = 100;

/**
 * The same module, preloaded into a Node child with `--import`, records the child's own
 * process.resourceUsage() at exit into this file: CPU of all threads and the kernel's maxRSS, read
 * after the child is gone (polling /proc misses the end, and the 'exit' event comes after the reap).
 */
const USAGE_FILE_ENV = 'RINGFLOW_BENCH_USAGE_FILE';
const usageFile = process.env[USAGE_FILE_ENV];
if (usageFile && isMainThread) {
  process.on('exit', () => {
    const u = process.resourceUsage();
    writeFileSync(usageFile, JSON.stringify({ cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, mainThreadCpuMs: threadCpuMs(), maxRssKiB: u.maxRSS }));
  });
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
export async function runNodeChild<T>(script: string, args: readonly string[], timeoutMs = 15 * 60_000): Promise<ChildRun<T>> {
  const dir = mkdtempSync(join(tmpdir(), 'ringflow-bench-usage-'));
  const file = join(dir, 'usage.json');
  try {
    const run = await runChild<T>(process.execPath, ['--import', pathToFileURL(fileURLToPath(import.meta.url)).href, resolve(REPO_ROOT, script), ...args],
      timeoutMs, { ...process.env, [USAGE_FILE_ENV]: file });
    try {
      const u = JSON.parse(readFileSync(file, 'utf8')) as { cpuMs: number; mainThreadCpuMs: number | null; maxRssKiB: number };
      return { ...run, cpuMs: Math.round(u.cpuMs), mainThreadCpuMs: u.mainThreadCpuMs ?? Number.NaN, peakRssMiB: Math.max(run.peakRssMiB, Math.round(u.maxRssKiB / 1024)) };
    } catch {
      return run;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function runChild<T>(command: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<ChildRun<T>> {
  const started = performance.now();
  const child = spawn(command, [...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
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
        resolveRun({ json: JSON.parse(line) as T, wallMs, peakRssMiB: Math.round(peakKiB / 1024), cpuMs: Number.NaN, mainThreadCpuMs: Number.NaN });
      };
      if (child.stdout.readableEnded) finish();
      else child.stdout.once('end', finish);
    });
  });
}
