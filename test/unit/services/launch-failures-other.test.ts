import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServiceError } from '../../../src/errors.js';
import { startClickHouse } from '../../services/clickhouse.js';
import { startKafka } from '../../services/kafka.js';

// ClickHouse and Kafka refuse to start on a taken port or without their jars before spawning anything;
// the vitest timeouts turn a hang into a failure.
describe('clickhouse and kafka launchers fail fast with a ServiceError', () => {
  let blocker: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
    delete process.env.RINGFLOW_KAFKA_LIB;
  });

  async function takePort(): Promise<number> {
    blocker = createServer();
    return new Promise<number>((resolve) => {
      blocker!.listen({ host: '127.0.0.1', port: 0 }, () => resolve((blocker!.address() as { port: number }).port));
    });
  }

  it('clickhouse names the taken http port', { timeout: 20_000 }, async () => {
    const port = await takePort();
    const error: unknown = await startClickHouse({ httpPort: port }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).message).toBe(`clickhouse: port ${port} on 127.0.0.1 is already in use`);
  });

  it('kafka names the taken broker port', { timeout: 20_000 }, async () => {
    const port = await takePort();
    const error: unknown = await startKafka({ brokerPort: port }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ServiceError);
    expect((error as ServiceError).message).toBe(`kafka: port ${port} on 127.0.0.1 is already in use`);
  });

  it('kafka says how to get its jars when they are missing', { timeout: 20_000 }, async () => {
    process.env.RINGFLOW_KAFKA_LIB = '/nonexistent/kafka-lib';
    await expect(startKafka()).rejects.toThrow(
      /^kafka: Kafka jars not found in \/nonexistent\/kafka-lib: run scripts\/install-deps\.sh$/,
    );
  });
});
