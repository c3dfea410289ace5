/**
 * Runs the Apache Flink peer (bench/peers/flink: the canonical clickstream pipeline as a DataStream
 * job on a local mini-cluster) on an NDJSON file: builds its jar with Maven when missing or older than
 * its sources, launches one JVM, measures the JVM's peak RSS, and parses the summary line it prints.
 *
 *   node dist/bench/peers/flink-runner.js --input /tmp/click.ndjson --out /tmp/flink-out [--parallelism 2]
 *
 * The job writes <out>/aggregates.ndjson (ringflow's row format, sorted) and <out>/summary.json.
 * Its `elapsed_ms` is Flink's net job runtime (submission to finish, mini-cluster start excluded);
 * `execute_wall_ms` adds mini-cluster start and stop; `jvm_start_ms` is JVM launch to main().
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { ServiceError } from '../../src/errors.js';
import { intOption } from '../../src/daemon/cli-options.js';

/** The job's summary line (stdout), as printed by ClickstreamJob. */
export interface FlinkSummary {
  input: number;
  accepted: number;
  invalid: number;
  duplicates: number;
  late: number;
  elapsed_ms: number;
  events_per_sec: number;
  execute_wall_ms: number;
  jvm_start_ms: number;
  /** CPU time of the whole JVM at the end of main (all threads, JIT and GC), ms; -1 if unavailable. */
  process_cpu_ms: number;
  /** VmHWM of the JVM read by itself at the end of main, MiB; -1 if unavailable. */
  peak_rss_mib: number;
  window_late: number;
  parallelism: number;
  watermarks: string;
  late_mode: string;
  dedupe_expiry: string;
  flink_version: string;
  java_version: string;
}

export interface FlinkPeerOptions {
  inputPath: string;
  outDir: string;
  /** Dedupe and window parallelism; the file source is always 1. Default: 2. */
  parallelism?: number;
  /** 'punctuated' (per event, deterministic) or Flink's 200 ms 'periodic'. Default: 'punctuated'. */
  watermarks?: 'punctuated' | 'periodic';
  /** Dedupe state expiry: 'timer' (event-time 1 h, the contract), 'ttl' (processing-time 1 h), 'none'. Default: 'timer'. */
  dedupeExpiry?: 'timer' | 'ttl' | 'none';
  /** -Xmx of the JVM in MiB. Default: 4096. */
  heapMiB?: number;
  /** country,region CSV. Default: examples/dims/countries.csv of this repository. */
  countriesCsvPath?: string;
  /** Copy the JVM's stderr (Flink's warnings) to ours. Default: false. */
  echoStderr?: boolean;
}

export interface FlinkPeerResult {
  eventsPerSec: number;
  elapsedMs: number;
  /** Peak resident set of the JVM: its own VmHWM at the end of main, or our polling if higher. */
  peakRssMiB: number;
  /** CPU time of the JVM (user + system, all threads), ms. */
  cpuMs: number;
  /** Spawn to exit of the JVM, milliseconds, as seen from Node. */
  processWallMs: number;
  aggregatesPath: string;
  summary: FlinkSummary;
}

const REPO_ROOT = findRepoRoot();
export const FLINK_PROJECT_DIR = join(REPO_ROOT, 'bench', 'peers', 'flink');
export const FLINK_JAR_PATH = join(FLINK_PROJECT_DIR, 'target', 'ringflow-flink-peer.jar');
const RSS_POLL_INTERVAL_MS = 50;
const STDERR_TAIL_BYTES = 8192;

/** The directory holding bench/peers/flink/pom.xml, searched upwards (works from bench/ and dist/bench/). */
function findRepoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'bench', 'peers', 'flink', 'pom.xml'))) return dir;
    const parent = resolve(dir, '..');
    if (parent === dir) throw new ServiceError('flink', 'bench/peers/flink/pom.xml not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

function newestMtimeMs(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, name)));
  return newest;
}

/** Builds the jar (mvn package) unless it exists and is newer than pom.xml and src/. Returns build time. */
export function ensureFlinkJar(): { jarPath: string; builtMs: number } {
  const sourcesMs = Math.max(newestMtimeMs(join(FLINK_PROJECT_DIR, 'pom.xml')), newestMtimeMs(join(FLINK_PROJECT_DIR, 'src')));
  if (existsSync(FLINK_JAR_PATH) && statSync(FLINK_JAR_PATH).mtimeMs >= sourcesMs) return { jarPath: FLINK_JAR_PATH, builtMs: 0 };
  const started = performance.now();
  const mvn = spawnSync('mvn', ['-q', '-f', join(FLINK_PROJECT_DIR, 'pom.xml'), 'package', '-DskipTests'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (mvn.error !== undefined || mvn.status !== 0) {
    const output = `${mvn.stdout ?? ''}${mvn.stderr ?? ''}`.slice(-STDERR_TAIL_BYTES);
    throw new ServiceError('flink', `mvn package failed (status ${String(mvn.status)}): ${mvn.error?.message ?? output}`, {
      cause: mvn.error,
    });
  }
  return { jarPath: FLINK_JAR_PATH, builtMs: performance.now() - started };
}

/** Peak resident set of a live process from the kernel's high-water mark; 0 once it is gone. */
function readVmHwmKiB(pid: number): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

function parseSummary(stdout: string): FlinkSummary | undefined {
  const lines = stdout.split('\n').filter((l) => l.startsWith('{') && l.includes('"input"'));
  const last = lines.at(-1);
  return last === undefined ? undefined : (JSON.parse(last) as FlinkSummary);
}

export async function runFlinkPeer(options: FlinkPeerOptions): Promise<FlinkPeerResult> {
  const { jarPath } = ensureFlinkJar();
  const heapMiB = options.heapMiB ?? 4096;
  const args = [
    `-Xmx${heapMiB}m`,
    '-jar',
    jarPath,
    '--input', resolve(options.inputPath),
    '--out', resolve(options.outDir),
    '--parallelism', String(options.parallelism ?? 2),
    '--watermarks', options.watermarks ?? 'punctuated',
    '--dedupe-expiry', options.dedupeExpiry ?? 'timer',
    '--countries', resolve(options.countriesCsvPath ?? join(REPO_ROOT, 'examples', 'dims', 'countries.csv')),
  ];
  const started = performance.now();
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderrTail = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (options.echoStderr === true) process.stderr.write(s);
    stderrTail = (stderrTail + s).slice(-STDERR_TAIL_BYTES);
  });
  // VmHWM only grows, so each read is the peak so far. Node reaps the child before 'exit' fires, so
  // /proc/<pid> is gone by then: the JVM's own end-of-main reading (in the summary) covers the tail.
  let peakKiB = 0;
  const poll = setInterval(() => {
    if (child.pid !== undefined) peakKiB = Math.max(peakKiB, readVmHwmKiB(child.pid));
  }, RSS_POLL_INTERVAL_MS);
  let exitCode: number | null;
  try {
    exitCode = await new Promise<number | null>((resolveExit, rejectExit) => {
      child.once('error', rejectExit);
      child.once('exit', (code) => resolveExit(code));
    });
  } catch (err) {
    throw new ServiceError('flink', `could not start java: ${(err as Error).message}`, { cause: err });
  } finally {
    clearInterval(poll);
  }
  const processWallMs = performance.now() - started;
  await new Promise<void>((r) => (child.stdout.readableEnded ? r() : child.stdout.once('end', () => r())));
  const summary = parseSummary(stdout);
  if (exitCode !== 0 || summary === undefined) {
    throw new ServiceError('flink', `job exited with code ${String(exitCode)}${summary === undefined ? ' and no summary line' : ''}: ${stderrTail}`, {
      details: { exitCode },
    });
  }
  return {
    eventsPerSec: summary.events_per_sec,
    elapsedMs: summary.elapsed_ms,
    peakRssMiB: Math.max(Math.round(peakKiB / 1024), summary.peak_rss_mib),
    cpuMs: summary.process_cpu_ms,
    processWallMs: Math.round(processWallMs),
    aggregatesPath: join(resolve(options.outDir), 'aggregates.ndjson'),
    summary,
  };
}


export async function main(argv: readonly string[]): Promise<void> {
  const program = new Command()
    .name('flink-runner')
    .description('Run the Apache Flink peer (canonical clickstream pipeline) on an NDJSON file.')
    .requiredOption('--input <file>', 'NDJSON input file')
    .requiredOption('--out <dir>', 'output directory for aggregates.ndjson and summary.json')
    .option('--parallelism <n>', 'dedupe and window parallelism', intOption('--parallelism', 1, 256), 2)
    .option('--watermarks <mode>', 'punctuated | periodic', 'punctuated')
    .option('--dedupe-expiry <mode>', 'timer | ttl | none', 'timer')
    .option('--heap-mib <n>', 'JVM -Xmx in MiB', intOption('--heap-mib', 1, 1 << 20), 4096)
    .option('--verbose', "copy the JVM's stderr to ours", false);
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{
    input: string; out: string; parallelism: number; watermarks: string; dedupeExpiry: string; heapMib: number; verbose: boolean;
  }>();
  if (o.watermarks !== 'punctuated' && o.watermarks !== 'periodic') {
    throw new InvalidArgumentError('--watermarks must be punctuated or periodic');
  }
  if (o.dedupeExpiry !== 'timer' && o.dedupeExpiry !== 'ttl' && o.dedupeExpiry !== 'none') {
    throw new InvalidArgumentError('--dedupe-expiry must be timer, ttl or none');
  }
  const result = await runFlinkPeer({
    inputPath: o.input,
    outDir: o.out,
    parallelism: o.parallelism,
    watermarks: o.watermarks,
    dedupeExpiry: o.dedupeExpiry,
    heapMiB: o.heapMib,
    echoStderr: o.verbose,
  });
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`flink-runner: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
