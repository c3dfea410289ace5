/**
 * Child processes of the test servers: spawned with stdout/stderr going straight into a log file,
 * waited on with a deadline, stopped with SIGTERM then SIGKILL, and killed when this process exits
 * or is interrupted so no server outlives the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, fstatSync, rmSync } from 'node:fs';
import { ServiceError } from '../../src/errors.js';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** Service name used in errors ("redis", "clickhouse", "kafka"). */
  service: string;
  /** Absolute path of the executable. */
  command: string;
  args: string[];
  /** stdout and stderr are appended here (the child writes it directly, so nothing can block). */
  logFile: string;
  /** Logs the server writes itself (e.g. its error log), quoted in errors after `logFile`. */
  extraLogFiles?: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const liveProcesses = new Set<ManagedProcess>();
const liveTempDirs = new Set<string>();
let handlersInstalled = false;

/**
 * setpriv --pdeathsig makes the kernel SIGKILL the server when the thread that spawned it dies, which
 * covers what no handler can: our process being SIGKILLed. setpriv execs, so the pid is the server's.
 */
const SETPRIV_CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv'];
let setprivPath: string | null | undefined;

export class ManagedProcess {
  readonly service: string;
  readonly logFile: string;
  readonly extraLogFiles: string[];
  readonly pid: number;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitInfo>;
  exitInfo: ExitInfo | undefined;
  private readonly child: ChildProcess;

  constructor(options: SpawnOptions) {
    installExitHandlers();
    this.service = options.service;
    this.logFile = options.logFile;
    this.extraLogFiles = options.extraLogFiles ?? [];
    const logFd = openSync(options.logFile, 'a');
    const wrapper = findSetpriv();
    const [command, args] =
      wrapper === null
        ? [options.command, options.args]
        : [wrapper, ['--pdeathsig', 'KILL', '--', options.command, ...options.args]];
    try {
      this.child = spawn(command, args, {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      closeSync(logFd);
    }
    let spawnError: Error | undefined;
    this.exited = new Promise<ExitInfo>((resolve) => {
      this.child.once('error', (err) => {
        spawnError = err;
        this.exitInfo = { code: -1, signal: null };
        liveProcesses.delete(this);
        resolve(this.exitInfo);
      });
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        liveProcesses.delete(this);
        resolve(this.exitInfo);
      });
    });
    if (this.child.pid === undefined) {
      throw new ServiceError(this.service, `cannot spawn ${options.command}: ${spawnError?.message ?? 'no pid'}`, {
        cause: spawnError,
      });
    }
    this.pid = this.child.pid;
    liveProcesses.add(this);
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<ExitInfo> {
    if (this.exitInfo !== undefined) return this.exitInfo;
    this.signal('SIGTERM');
    const graceful = await raceTimeout(this.exited, graceMs);
    if (graceful !== undefined) return graceful;
    this.signal('SIGKILL');
    const killed = await raceTimeout(this.exited, 10_000);
    if (killed === undefined) {
      throw new ServiceError(this.service, `pid ${this.pid} survived SIGKILL for 10 s`, { details: { pid: this.pid } });
    }
    return killed;
  }

  /** The last `lines` lines of each log file, for error messages. */
  logTail(lines = 20): string {
    const parts = [`--- ${this.logFile}\n${readTail(this.logFile, lines)}`];
    for (const file of this.extraLogFiles) parts.push(`--- ${file}\n${readTail(file, lines)}`);
    return parts.join('\n');
  }

  /** The error for a server that exited before it became ready. */
  earlyExitError(what: string): ServiceError {
    const info = this.exitInfo;
    const how = info?.signal ? `signal ${info.signal}` : `code ${info?.code ?? '?'}`;
    return new ServiceError(
      this.service,
      `${what} exited early (${how}) before it was ready; log tail:\n${this.logTail()}`,
      { details: { logFile: this.logFile, exitCode: info?.code, exitSignal: info?.signal } },
    );
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      this.child.kill(sig);
    } catch {
      // Already gone: the exit event settles `exited`.
    }
  }
}

export interface ReadinessOptions {
  process: ManagedProcess;
  /** Human name of the server binary for messages, e.g. "redis-server". */
  what: string;
  deadlineMs: number;
  /** Resolves true when the server answers; false or a throw means "not yet". */
  probe: () => Promise<boolean>;
  intervalMs?: number;
}

/**
 * Polls `probe` until it succeeds, the process exits (error with its log tail) or the deadline passes
 * (the process is stopped and the error names the last probe failure). Never waits longer than deadlineMs.
 */
export async function waitUntilReady(options: ReadinessOptions): Promise<void> {
  const { process: proc, what, deadlineMs, probe } = options;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = Date.now() + deadlineMs;
  let lastFailure = 'no answer yet';
  const exitedMarker = proc.exited.then(() => 'exited' as const);
  for (;;) {
    if (!proc.running) throw proc.earlyExitError(what);
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) break;
    const attempt = probe().then(
      (ok) => (ok ? ('ready' as const) : ('not-ready' as const)),
      (err: unknown) => {
        lastFailure = err instanceof Error ? err.message : String(err);
        return 'not-ready' as const;
      },
    );
    const outcome = await raceTimeout(Promise.race([attempt, exitedMarker]), remainingMs);
    if (outcome === 'ready') return;
    if (outcome === 'exited') throw proc.earlyExitError(what);
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
  await proc.stop(2_000);
  throw new ServiceError(
    proc.service,
    `${what} was not ready within ${deadlineMs} ms (last probe: ${lastFailure}); log tail:\n${proc.logTail()}`,
    { details: { logFile: proc.logFile, deadlineMs } },
  );
}

export function trackTempDir(dir: string): void {
  installExitHandlers();
  liveTempDirs.add(dir);
}

export function untrackTempDir(dir: string): void {
  liveTempDirs.delete(dir);
}

/** CPU time (user + system, seconds) process `pid` has used so far, from /proc (Linux); NaN elsewhere or once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    // Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every Linux build Node supports (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS_PER_SECOND = 100;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The value of `promise`, or undefined when it does not settle within `ms`. */
export async function raceTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Only synchronous work is possible in 'exit' and before re-raising a signal: SIGKILL and rmSync. */
function killEverythingNow(): void {
  for (const proc of liveProcesses) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {
      // Already exited.
    }
  }
  liveProcesses.clear();
  for (const dir of liveTempDirs) rmSync(dir, { recursive: true, force: true });
  liveTempDirs.clear();
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killEverythingNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killEverythingNow();
      // Another listener (vitest's own) decides how to exit; alone, we restore the default action.
      if (process.listenerCount(sig) === 1) {
        process.off(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

function findSetpriv(): string | null {
  if (setprivPath === undefined) {
    setprivPath = null;
    for (const candidate of SETPRIV_CANDIDATES) {
      try {
        closeSync(openSync(candidate, 'r'));
        setprivPath = candidate;
        break;
      } catch {
        // Not there; try the next.
      }
    }
  }
  return setprivPath;
}

function readTail(file: string, lines: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '(no log)';
  }
  try {
    const sizeBytes = fstatSync(fd).size;
    const readBytes = Math.min(sizeBytes, 16_384);
    const buffer = Buffer.alloc(readBytes);
    readSync(fd, buffer, 0, readBytes, sizeBytes - readBytes);
    const text = buffer.toString('utf8').trimEnd();
    return text.length === 0 ? '(empty log)' : text.split('\n').slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}
