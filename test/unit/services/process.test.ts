import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { makeTempDir, removeTempDir } from '../../services/host.js';
import { ManagedProcess, waitUntilReady } from '../../services/process.js';

// The launchers' guarantees in isolation, on /bin/sh stand-ins for servers: every wait ends, every stop
// ends. The vitest timeouts turn a hang into a failure; no test asserts how long anything took.
describe('ManagedProcess and waitUntilReady', () => {
  let dir = '';
  afterEach(() => {
    if (dir) removeTempDir(dir);
    dir = '';
  });

  function spawnShell(script: string): ManagedProcess {
    dir = makeTempDir('proc-test');
    return new ManagedProcess({ service: 'fake', command: '/bin/sh', args: ['-c', script], logFile: join(dir, 'out.log') });
  }

  it('escalates to SIGKILL when the process ignores SIGTERM', { timeout: 15_000 }, async () => {
    const proc = spawnShell('trap "" TERM; echo started; while :; do sleep 0.05; done');
    await waitUntilReady({
      process: proc,
      what: 'fake server',
      deadlineMs: 10_000,
      probe: async () => readFileSync(proc.logFile, 'utf8').includes('started'),
    });
    const exit = await proc.stop(300);
    expect(exit.signal).toBe('SIGKILL');
    expect(proc.running).toBe(false);
  });

  it('gives up at the deadline with a ServiceError and stops the process', { timeout: 15_000 }, async () => {
    const proc = spawnShell('echo still booting; exec sleep 30');
    const error: unknown = await waitUntilReady({
      process: proc,
      what: 'fake server',
      deadlineMs: 300,
      probe: async () => {
        throw new Error('connection refused');
      },
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ServiceError);
    const message = (error as ServiceError).message;
    expect(message).toMatch(/^fake: fake server was not ready within 300 ms \(last probe: connection refused\)/);
    expect(message).toContain('still booting');
    expect(proc.running).toBe(false);
  });

  it('reports an early exit with the exit code and the log tail', { timeout: 15_000 }, async () => {
    const proc = spawnShell('echo "fatal: bad config line 3" >&2; exit 3');
    const error: unknown = await waitUntilReady({
      process: proc,
      what: 'fake server',
      deadlineMs: 10_000,
      probe: async () => false,
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).message).toMatch(/^fake: fake server exited early \(code 3\)/);
    expect((error as ServiceError).message).toContain('fatal: bad config line 3');
  });
});
