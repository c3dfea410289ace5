/**
 * A throw-away Redis for tests: Debian's redis-server on a free loopback port, nothing persisted,
 * its log in a temp dir that goes away with it.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { assertPortFree, findFreePort, LOOPBACK_HOST, makeTempDir, removeTempDir, requireBinary } from './host.js';
import { ManagedProcess, waitUntilReady } from './process.js';

export interface RedisStartOptions {
  /** Port to listen on. Default: a free port. */
  port?: number;
  /** redis-server binary name or path. Default: 'redis-server' on PATH. */
  binary?: string;
  /** Extra command-line arguments appended after ours. Default: none. */
  extraArgs?: string[];
  /** How long to wait for PONG. Default: 15000. */
  readyTimeoutMs?: number;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly logFile: string;
  /** Wall time from spawn to the first PONG. */
  readonly startupMs: number;
  /** Stops the server and removes its temp dir; safe to call twice. */
  stop(): Promise<void>;
}

const SERVICE = 'redis';

export async function startRedis(options: RedisStartOptions = {}): Promise<RedisServer> {
  const binary = requireBinary(SERVICE, options.binary ?? 'redis-server');
  const port = options.port ?? (await findFreePort());
  await assertPortFree(SERVICE, port);
  const dir = makeTempDir('redis');
  const logFile = join(dir, 'redis.log');
  const startedAt = performance.now();
  let proc: ManagedProcess;
  try {
    proc = new ManagedProcess({
      service: SERVICE,
      command: binary,
      // Persistence off: tests own their keys and nothing must survive the run.
      args: ['--port', String(port), '--bind', LOOPBACK_HOST, '--save', '', '--appendonly', 'no', '--dir', dir,
        '--daemonize', 'no', ...(options.extraArgs ?? [])],
      logFile,
      cwd: dir,
    });
    await waitUntilReady({
      process: proc,
      what: `redis-server on port ${port}`,
      deadlineMs: options.readyTimeoutMs ?? 15_000,
      probe: () => pingRedis(port),
      intervalMs: 20,
    });
  } catch (err) {
    removeTempDir(dir);
    throw err;
  }
  const startupMs = performance.now() - startedAt;
  let stopped = false;
  return {
    host: LOOPBACK_HOST,
    port,
    url: `redis://${LOOPBACK_HOST}:${port}`,
    logFile,
    startupMs,
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await proc.stop(5_000);
      } finally {
        removeTempDir(dir);
      }
    },
  };
}

/** One inline PING over a raw socket: no client library needed to know the server answers. */
function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: LOOPBACK_HOST, port });
    let reply = '';
    socket.setTimeout(1_000, () => socket.destroy(new Error('PING timed out after 1000 ms')));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) {
        socket.end();
        // A server started with --requirepass answers NOAUTH: it is up all the same.
        resolve(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(false));
  });
}
