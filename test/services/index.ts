/**
 * Entry point for tests and benchmarks that need real servers: start one programmatically
 * (startRedis / startClickHouse / startKafka) or the whole set, honouring the environment variables
 * that point the tests at servers someone already runs.
 */
import { ServiceError } from '../../src/errors.js';
import { startClickHouse, type ClickHouseServer } from './clickhouse.js';
import { startKafka, type KafkaServer } from './kafka.js';
import { startRedis, type RedisServer } from './redis.js';

export { startClickHouse, type ClickHouseServer, type ClickHouseStartOptions } from './clickhouse.js';
export { startKafka, type KafkaServer, type KafkaStartOptions } from './kafka.js';
export { startRedis, type RedisServer, type RedisStartOptions } from './redis.js';
export { findFreePort, findFreePorts, assertPortFree, makeTempDir, removeTempDir, LOOPBACK_HOST } from './host.js';

export type ServiceName = 'kafka' | 'clickhouse' | 'redis';

/** Where the tests find each server. */
export interface ServiceAddresses {
  /** host:port list for kafkajs `brokers`. */
  kafkaBrokers: string[];
  /** HTTP URL for @clickhouse/client `url`. */
  clickhouseUrl: string;
  /** redis:// URL for ioredis. */
  redisUrl: string;
}

export interface RunningServices {
  addresses: ServiceAddresses;
  /** Start-up wall time of each server this call started (absent: taken from the environment or not asked for). */
  startupMs: Partial<Record<ServiceName, number>>;
  /** The ClickHouse handle when this call started one (for stop()/start() in delivery tests). */
  clickhouse?: ClickHouseServer;
  /** Stops every server this call started; never throws for one that is already gone. */
  stop(): Promise<void>;
}

/** Environment variables naming existing servers; when set, that server is not started. */
export const SERVICE_ENV = {
  kafka: 'RINGFLOW_TEST_KAFKA',
  clickhouse: 'RINGFLOW_TEST_CLICKHOUSE',
  redis: 'RINGFLOW_TEST_REDIS',
} as const satisfies Record<ServiceName, string>;

const ALL_SERVICES: readonly ServiceName[] = ['kafka', 'clickhouse', 'redis'];

/**
 * Starts the asked-for servers in parallel (all three by default). If one fails, the others are
 * stopped and the first failure is thrown, so a run never goes on with half its services.
 */
export async function startServices(
  options: { only?: readonly ServiceName[]; env?: NodeJS.ProcessEnv } = {},
): Promise<RunningServices> {
  const env = options.env ?? process.env;
  const wanted = options.only ?? ALL_SERVICES;
  const addresses: ServiceAddresses = { kafkaBrokers: [], clickhouseUrl: '', redisUrl: '' };
  const startupMs: Partial<Record<ServiceName, number>> = {};
  const stops: Array<() => Promise<void>> = [];
  let clickhouse: ClickHouseServer | undefined;

  const kafkaFromEnv = env[SERVICE_ENV.kafka];
  const clickhouseFromEnv = env[SERVICE_ENV.clickhouse];
  const redisFromEnv = env[SERVICE_ENV.redis];
  const starts: Array<Promise<void>> = [];
  if (wanted.includes('kafka')) {
    if (kafkaFromEnv) addresses.kafkaBrokers = parseBrokers(kafkaFromEnv);
    else starts.push(startKafka().then((k: KafkaServer) => {
      stops.push(() => k.stop());
      addresses.kafkaBrokers = k.brokers;
      startupMs.kafka = k.startupMs;
    }));
  }
  if (wanted.includes('clickhouse')) {
    if (clickhouseFromEnv) addresses.clickhouseUrl = parseUrl('clickhouse', clickhouseFromEnv, ['http:', 'https:']);
    else starts.push(startClickHouse().then((c) => {
      stops.push(() => c.close());
      clickhouse = c;
      addresses.clickhouseUrl = c.url;
      startupMs.clickhouse = c.startupMs;
    }));
  }
  if (wanted.includes('redis')) {
    if (redisFromEnv) addresses.redisUrl = parseUrl('redis', redisFromEnv, ['redis:', 'rediss:']);
    else starts.push(startRedis().then((r: RedisServer) => {
      stops.push(() => r.stop());
      addresses.redisUrl = r.url;
      startupMs.redis = r.startupMs;
    }));
  }

  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(stops.splice(0).map((stop) => stop()));
  };
  const outcomes = await Promise.allSettled(starts);
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failure !== undefined) {
    await stopAll();
    throw failure.reason;
  }
  return { addresses, startupMs, clickhouse, stop: stopAll };
}

function parseBrokers(value: string): string[] {
  const brokers = value.split(',').map((b) => b.trim()).filter(Boolean);
  for (const broker of brokers) {
    if (!/^[^:\s]+:\d+$/.test(broker)) {
      throw new ServiceError('kafka', `${SERVICE_ENV.kafka}="${value}": expected host:port[,host:port...]`);
    }
  }
  return brokers;
}

function parseUrl(service: ServiceName, value: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (cause) {
    throw new ServiceError(service, `${SERVICE_ENV[service]}="${value}" is not a URL`, { cause });
  }
  if (!protocols.includes(url.protocol)) {
    throw new ServiceError(service, `${SERVICE_ENV[service]}="${value}": expected a ${protocols.join(' or ')} URL`);
  }
  return value.replace(/\/+$/, '');
}
