/**
 * A throw-away Apache Kafka 3.9 for tests: one KRaft node acting as broker and controller, jars from
 * the Maven cache install-deps.sh fills, storage formatted in a temp dir, run on Java 17 with a small heap.
 */
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ServiceError } from '../../src/errors.js';
import { assertPortFree, findFreePorts, isPidAlive, LOOPBACK_HOST, makeTempDir, removeTempDir, requireBinary } from './host.js';
import { kafkaLibDir, randomKafkaClusterId, writeLog4jProperties, writeServerProperties } from './kafka-config.js';
import { ManagedProcess, processCpuSeconds, raceTimeout, waitUntilReady } from './process.js';

export interface KafkaStartOptions {
  /** PLAINTEXT listener port. Default: a free port. */
  brokerPort?: number;
  /** CONTROLLER listener port. Default: a free port. */
  controllerPort?: number;
  /** java binary. Default: 'java' on PATH. */
  javaBinary?: string;
  /** Broker heap (-Xmx). Default: '512m'. */
  heap?: string;
  /** How long to wait until an admin client can describe the cluster. Default: 60000. */
  readyTimeoutMs?: number;
  /** More JVM flags for the broker, e.g. '-XX:TieredStopAtLevel=1' to start faster but run slower. Default: none. */
  extraJvmArgs?: string[];
}

export interface KafkaServer {
  readonly host: string;
  readonly port: number;
  /** ['127.0.0.1:<port>'] — what kafkajs takes as `brokers`. */
  readonly brokers: string[];
  readonly clusterId: string;
  readonly logFile: string;
  /** Wall time from spawning the storage formatter to the first successful describeCluster. */
  readonly startupMs: number;
  /** CPU seconds the running broker process has used since it started (NaN off Linux): benchmarks account for it. */
  cpuSeconds(): number;
  /** Stops the broker and starts it again on the same ports and data, down for `downMs`; resolves once it serves metadata. */
  restart(options?: { graceMs?: number; downMs?: number }): Promise<void>;
  /** Stops the broker (SIGTERM, SIGKILL after graceMs) and removes its temp dir; safe to call twice. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

const SERVICE = 'kafka';
const FORMAT_TIMEOUT_MS = 60_000;

export async function startKafka(options: KafkaStartOptions = {}): Promise<KafkaServer> {
  const java = requireBinary(SERVICE, options.javaBinary ?? 'java');
  const libDir = kafkaLibDir();
  const [freeBroker, freeController] = await findFreePorts(2);
  const brokerPort = options.brokerPort ?? freeBroker;
  const controllerPort = options.controllerPort ?? freeController;
  await assertPortFree(SERVICE, brokerPort);
  await assertPortFree(SERVICE, controllerPort);

  const dir = makeTempDir('kafka');
  const propsFile = join(dir, 'server.properties');
  const log4jFile = join(dir, 'log4j.properties');
  const logFile = join(dir, 'kafka.log');
  writeServerProperties(propsFile, join(dir, 'data'), { brokerPort, controllerPort });
  writeLog4jProperties(log4jFile);
  const clusterId = randomKafkaClusterId();
  const classpath = `${libDir}/*`;
  const log4j = `-Dlog4j.configuration=file:${log4jFile}`;
  const cds = classDataSharing(libDir);
  const startedAt = performance.now();
  let broker: ManagedProcess | undefined;
  const spawnBroker = (): ManagedProcess => new ManagedProcess({
    service: SERVICE,
    command: java,
    // Serial GC: one broker on a 2-core box shared with the pipeline; parallel GC threads only contend.
    args: [`-Xmx${options.heap ?? '512m'}`, `-Xms${options.heap ?? '512m'}`, '-XX:+UseSerialGC',
      ...cds.jvmArgs, ...(options.extraJvmArgs ?? []), '-Djava.awt.headless=true', log4j,
      '-cp', classpath, 'kafka.Kafka', propsFile],
    logFile,
    cwd: dir,
  });
  const untilReady = (p: ManagedProcess): Promise<void> => waitUntilReady({
    process: p,
    what: `kafka broker on port ${brokerPort}`,
    deadlineMs: options.readyTimeoutMs ?? 60_000,
    probe: () => describeCluster(`${LOOPBACK_HOST}:${brokerPort}`),
    intervalMs: 200,
  });
  try {
    // A short-lived tool: C1 only and a tiny heap make it start faster.
    await runToCompletion(
      new ManagedProcess({
        service: SERVICE,
        command: java,
        args: ['-Xmx128m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', ...cds.toolJvmArgs, log4j, '-cp', classpath,
          'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile],
        logFile: join(dir, 'format.log'),
        cwd: dir,
      }),
      'kafka storage format',
    );
    broker = spawnBroker();
    await untilReady(broker);
  } catch (err) {
    if (broker?.running) await broker.stop(2_000);
    cds.afterExit(false);
    removeTempDir(dir);
    throw err;
  }
  const startupMs = performance.now() - startedAt;
  let proc = broker;
  let stopped = false;
  return {
    host: LOOPBACK_HOST,
    port: brokerPort,
    brokers: [`${LOOPBACK_HOST}:${brokerPort}`],
    clusterId,
    logFile,
    startupMs,
    cpuSeconds: () => processCpuSeconds(proc.pid),
    async restart(restartOptions = {}) {
      if (stopped) throw new ServiceError(SERVICE, 'restart() after stop()');
      await proc.stop(restartOptions.graceMs ?? 15_000);
      if (restartOptions.downMs) await new Promise((r) => setTimeout(r, restartOptions.downMs));
      proc = spawnBroker();
      await untilReady(proc);
    },
    async stop(stopOptions = {}) {
      if (stopped) return;
      stopped = true;
      try {
        const exit = await proc.stop(stopOptions.graceMs ?? 15_000);
        cds.afterExit(exit.signal === null);
      } finally {
        removeTempDir(dir);
      }
    },
  };
}

/**
 * Class data sharing: the first broker that runs without an archive dumps the classes it loaded when it
 * exits; later brokers map that archive instead of loading and verifying ~5k classes, which roughly
 * halves start-up on a busy 2-core box. A stale or broken archive only makes the JVM fall back to
 * normal loading (-Xshare:auto is the default), so it can never stop a broker from starting.
 */
interface ClassDataSharing {
  /** Flags for the broker JVM: use the archive, or dump one at exit. */
  jvmArgs: string[];
  /** Flags for the storage tool: use the archive when there is one (its classes are a subset). */
  toolJvmArgs: string[];
  afterExit: (cleanExit: boolean) => void;
}

function classDataSharing(libDir: string): ClassDataSharing {
  const archive = join(dirname(libDir), 'broker-classes.jsa');
  if (existsSync(archive)) {
    const use = [`-XX:SharedArchiveFile=${archive}`];
    return { jvmArgs: use, toolJvmArgs: use, afterExit: () => undefined };
  }
  // Dump beside the final name and rename, so a broker killed mid-dump never leaves a half archive in use.
  removeAbandonedDumps(archive);
  const pending = `${archive}.${process.pid}.${Date.now()}.tmp`;
  return {
    jvmArgs: [`-XX:ArchiveClassesAtExit=${pending}`],
    toolJvmArgs: [],
    afterExit(cleanExit) {
      try {
        if (cleanExit && existsSync(pending) && !existsSync(archive)) renameSync(pending, archive);
      } catch {
        // A read-only cache only costs the speed-up.
      }
      rmSync(pending, { force: true });
    },
  };
}

/** Dumps of runs that were SIGKILLed (their pid is gone) would otherwise pile up 40 MB each. */
function removeAbandonedDumps(archive: string): void {
  const prefix = `${basename(archive)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(archive));
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(name.slice(prefix.length).split('.')[0]);
    if (Number.isInteger(pid) && pid > 0 && !isPidAlive(pid)) rmSync(join(dirname(archive), name), { force: true });
  }
}

async function runToCompletion(proc: ManagedProcess, what: string): Promise<void> {
  const info = await raceTimeout(proc.exited, FORMAT_TIMEOUT_MS);
  if (info === undefined) {
    await proc.stop(2_000);
    throw new ServiceError(SERVICE, `${what} did not finish within ${FORMAT_TIMEOUT_MS} ms; log tail:\n${proc.logTail()}`);
  }
  if (info.code !== 0) {
    throw new ServiceError(SERVICE, `${what} failed (code ${info.code}, signal ${info.signal}); log tail:\n${proc.logTail()}`);
  }
}

/** Ready means a real client round trip works, not just an open port: metadata is served. */
async function describeCluster(broker: string): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'ringflow-test-readiness',
    brokers: [broker],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
