/**
 * What a test server needs from the host before it can start: a free loopback port, a private temp
 * directory that is removed even when the run is interrupted, and the path of a Debian binary.
 */
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ServiceError } from '../../src/errors.js';
import { trackTempDir, untrackTempDir } from './process.js';

export const LOOPBACK_HOST = '127.0.0.1';

/** Asks the kernel for a port nobody listens on; another process may still take it before we bind. */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: LOOPBACK_HOST, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** `count` distinct free ports (Kafka needs a broker and a controller port). */
export async function findFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await findFreePort());
  return [...ports];
}

/**
 * Fails at once when `port` is taken, naming the service: a server that finds its port taken often
 * logs it and lingers or retries, and the caller should not have to read its log to learn why.
 */
export function assertPortFree(service: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const reason = err.code === 'EADDRINUSE' ? 'is already in use' : `cannot be bound (${err.code ?? err.message})`;
      reject(new ServiceError(service, `port ${port} on ${LOOPBACK_HOST} ${reason}`, { cause: err, details: { port } }));
    });
    server.listen({ host: LOOPBACK_HOST, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

const TEMP_PREFIX = 'ringflow-svc-';
const OWNER_FILE = '.owner-pid';
let staleSwept = false;

/**
 * A fresh directory under the OS temp dir, removed by `removeTempDir` or when the process exits.
 * A SIGKILLed run cannot clean up, so the first call also removes dirs whose owner pid is gone.
 */
export function makeTempDir(prefix: string): string {
  if (!staleSwept) {
    staleSwept = true;
    sweepStaleTempDirs();
  }
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${prefix}-`));
  writeFileSync(join(dir, OWNER_FILE), String(process.pid));
  trackTempDir(dir);
  return dir;
}

function sweepStaleTempDirs(): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((name) => name.startsWith(TEMP_PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // Not ours or still being created: leave it.
    }
    if (Number.isInteger(owner) && owner > 0 && !isPidAlive(owner)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  untrackTempDir(dir);
}

/**
 * Resolves a binary on PATH plus the sbin folders, which a non-login root shell may lack
 * (Debian puts clickhouse-server in /usr/sbin). Returns undefined when absent.
 */
export function findBinary(name: string): string | undefined {
  if (name.includes('/')) return isExecutable(name) ? name : undefined;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const extra of ['/usr/local/sbin', '/usr/sbin', '/sbin']) if (!dirs.includes(extra)) dirs.push(extra);
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Like findBinary, but a missing binary is a ServiceError telling how to install it. */
export function requireBinary(service: string, name: string): string {
  const path = findBinary(name);
  if (path === undefined) {
    throw new ServiceError(service, `${name} not found: run scripts/install-deps.sh`, { details: { binary: name } });
  }
  return path;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
