/**
 * Everything a single-node Kafka 3.9 (KRaft, combined broker+controller) needs before its JVM starts:
 * where scripts/install-deps.sh cached the jars, a cluster id, server.properties and log4j.properties.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceError } from '../../src/errors.js';

const SERVICE = 'kafka';
const POM_RELATIVE = join('test', 'kafka', 'pom.xml');

/**
 * The jar folder for the Kafka version pinned in test/kafka/pom.xml — the same path install-deps.sh
 * fills. RINGFLOW_KAFKA_LIB points at another folder of jars; RINGFLOW_CACHE_DIR moves the cache.
 */
export function kafkaLibDir(): string {
  const override = process.env.RINGFLOW_KAFKA_LIB;
  if (override !== undefined && override !== '') return requireJars(override, undefined);
  const version = pinnedKafkaVersion();
  const cacheDir = process.env.RINGFLOW_CACHE_DIR || join(homedir(), '.cache', 'ringflow');
  return requireJars(join(cacheDir, `kafka-${version}`, 'lib'), version);
}

/** Reads <kafka.version> from the pom, found by walking up from this file (src tree or dist/). */
export function pinnedKafkaVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pom = join(dir, POM_RELATIVE);
    if (existsSync(pom)) {
      const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(pom, 'utf8'));
      if (match === null) throw new ServiceError(SERVICE, `no <kafka.version> in ${pom}`);
      return match[1].trim();
    }
    const parent = dirname(dir);
    if (parent === dir) throw new ServiceError(SERVICE, `${POM_RELATIVE} not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function requireJars(libDir: string, version: string | undefined): string {
  const marker = version === undefined ? undefined : join(libDir, `kafka_2.13-${version}.jar`);
  if (!existsSync(libDir) || (marker !== undefined && !existsSync(marker))) {
    throw new ServiceError(SERVICE, `Kafka${version === undefined ? '' : ` ${version}`} jars not found in ${libDir}: run scripts/install-deps.sh`, {
      details: { libDir },
    });
  }
  return libDir;
}

/**
 * A cluster id as Kafka prints them: 16 random bytes, base64url without padding. Kafka's own
 * Uuid.randomUuid() rejects ids starting with '-' (they read as command-line flags); so do we.
 */
export function randomKafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export interface KafkaPorts {
  brokerPort: number;
  controllerPort: number;
}

export function writeServerProperties(file: string, logDir: string, ports: KafkaPorts): void {
  const { brokerPort, controllerPort } = ports;
  const lines = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${logDir}`,
    // One node: every internal topic must be satisfiable with one replica.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=4',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=4',
    'min.insync.replicas=1',
    'default.replication.factor=1',
    // Tests create their topics explicitly, so a typo fails instead of silently creating a topic.
    'auto.create.topics.enable=false',
    'num.partitions=1',
    // The first consumer group join would otherwise wait 3 s for more members.
    'group.initial.rebalance.delay.ms=0',
    // Sized for a 2-core box: fewer threads, a small cleaner buffer, small segments.
    'num.network.threads=2',
    'num.io.threads=4',
    'num.recovery.threads.per.data.dir=1',
    'log.cleaner.threads=1',
    'log.cleaner.dedupe.buffer.size=16777216',
    'log.segment.bytes=67108864',
    'log.retention.hours=24',
  ];
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** Broker logs go to stdout, which the launcher captures into the service's log file. */
export function writeLog4jProperties(file: string): void {
  writeFileSync(
    file,
    [
      'log4j.rootLogger=INFO, stdout',
      'log4j.appender.stdout=org.apache.log4j.ConsoleAppender',
      'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout',
      'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n',
      // Per-request and state-change chatter would dwarf the lines worth reading after a failure.
      'log4j.logger.kafka.request.logger=WARN',
      'log4j.logger.state.change.logger=WARN',
      'log4j.logger.org.apache.kafka.clients=WARN',
      '',
    ].join('\n'),
  );
}
