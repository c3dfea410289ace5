import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { startRedis } from '../../services/redis.js';

// These start (or fail to start) a real redis-server of their own; none needs the integration services.
// The 20 s vitest timeouts turn a hang into a failure; no test asserts how fast the failure came.
describe('service launcher failures surface as ServiceError, never as a hang', () => {
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
  });

  it('names redis and the port when the port is already taken', { timeout: 20_000 }, async () => {
    blocker = createServer();
    const port = await new Promise<number>((resolve) => {
      blocker!.listen({ host: '127.0.0.1', port: 0 }, () => resolve((blocker!.address() as { port: number }).port));
    });
    const error = await startRedis({ port }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).code).toBe('SERVICE_UNAVAILABLE');
    expect((error as ServiceError).message).toMatch(/^redis: /);
    expect((error as ServiceError).message).toContain(`port ${port}`);
    expect((error as ServiceError).message).toContain('already in use');
  });

  it('says how to install a missing binary', { timeout: 20_000 }, async () => {
    await expect(startRedis({ binary: '/nonexistent/redis-server' })).rejects.toThrow(
      /^redis: \/nonexistent\/redis-server not found: run scripts\/install-deps\.sh$/,
    );
  });

  it('reports a server that exits before it is ready, with the tail of its log', { timeout: 20_000 }, async () => {
    const error = await startRedis({ extraArgs: ['--no-such-directive', 'x'] }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).message).toMatch(/^redis: redis-server on port \d+ exited early \(code 1\)/);
    // redis-server prints the offending directive when it rejects its configuration.
    expect((error as ServiceError).message).toContain('no-such-directive');
  });

  it('starts, answers and leaves nothing listening after stop()', { timeout: 20_000 }, async () => {
    const redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    await redis.stop();
    const portFreeAgain = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen({ host: '127.0.0.1', port: redis.port }, () => probe.close(() => resolve(true)));
    });
    expect(portFreeAgain).toBe(true);
  });
});
