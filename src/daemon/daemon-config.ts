/**
 * Config section `daemon`: what `ringflow run` itself needs beyond the pipeline, sources and sinks —
 * where pipeline dead letters go, how often offsets are committed and status is printed.
 *
 *   daemon: { deadLetterPath, commitIntervalMs, statusIntervalMs, checkpoint: { dir, intervalMs }, metrics: { listen, bearerTokenEnv }, shutdownTimeoutMs, ... }
 */
import { z } from 'zod';

const int = (min: number, max: number) => {
  const allowed = `must be an integer in [${min}, ${max}]`;
  return z.number({ error: allowed }).int(allowed).min(min, allowed).max(max, allowed);
};

/** host:port, the host a name, an IPv4 address or a bracketed IPv6 address. */
export const LISTEN_ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^:\s\[\]]+):(\d{1,5})$/;

const listenAddress = z.string().refine((v) => {
  const m = LISTEN_ADDRESS.exec(v);
  return m !== null && Number(m[2]) <= 65535;
}, { error: 'must be host:port (e.g. 127.0.0.1:9464; port 0 picks a free one)' });

export const daemonConfigSchema = z
  .object({
    deadLetterPath: z.string().min(1).default('./ringflow-out/dead-letter.ndjson')
      .describe('NDJSON file of input lines the pipeline rejected ({"reason","line","raw","source"}: invalid or late); relative to the working directory, like the files sink. Default: ./ringflow-out/dead-letter.ndjson.'),
    commitIntervalMs: int(10, 600_000).default(500)
      .describe('How often settled source offsets are committed (10-600000 ms). Default: 500.'),
    statusIntervalMs: int(0, 3_600_000).default(5_000)
      .describe('How often a one-line status goes to stderr; 0 = never (0-3600000 ms). Default: 5000.'),
    checkpoint: z
      .object({
        dir: z.string().min(1).nullable().default(null)
          .describe('Folder of checkpoint files (partition state + watermark); null = no checkpoints: offsets are committed once the windows of their events are acked, and after a crash duplicates of events before the committed offset are not recognised. Kafka source only. Default: null.'),
        intervalMs: int(100, 3_600_000).default(10_000)
          .describe('How often a checkpoint is taken (ingest pauses while the rings drain and the state is copied) (100-3600000 ms). Default: 10000.'),
      })
      .strict()
      .prefault({})
      .describe('Checkpoints, so a restart after a crash keeps dedupe state and open windows. Default: {dir: null}.'),
    caughtUpPollMs: int(50, 600_000).default(1_000)
      .describe('How often the source\'s end positions (Kafka: end offsets) are read to know which partitions are caught up: only those can go idle (aggregate.idleTimeoutMs), and --until-caught-up ends when all are (50-600000 ms). Default: 1000.'),
    idleCloseMs: int(100, 86_400_000).nullable().default(null)
      .describe('Once every partition is caught up and no event arrived for this long, close every window holding events (events for those windows arriving later are late); null = windows close only when later events move the watermark (100-86400000 ms or null). Default: null.'),
    metrics: z
      .object({
        listen: listenAddress.nullable().default(null)
          .describe('host:port of the HTTP server with /metrics (Prometheus text format), /healthz and /readyz; null = no server. Keep it on loopback (127.0.0.1) unless a firewall guards the port. Default: null.'),
        bearerTokenEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an environment variable name' }).nullable().default(null)
          .describe('Name of an environment variable holding a token that /metrics requests must send as "Authorization: Bearer <token>" (the token itself never goes in the config file); null = no token. /healthz and /readyz never need it. Default: null.'),
      })
      .strict()
      .prefault({})
      .describe('The daemon\'s metrics and health endpoints. Default: {listen: null}.'),
    scaleOut: z
      .object({
        partialsTopic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, { error: 'a Kafka topic name: 1-249 of letters, digits, . _ -' }).nullable().default(null)
          .describe('Topic on the source\'s brokers (created with one partition if missing) where every daemon of the consumer group writes its window cells per source partition; one daemon, the owner of that partition in the consumer group "<source.kafka.groupId>.merge", merges them into the rows the sinks get, each once every source partition has passed its window. null = no scale-out: run one daemon per consumer group. Kafka source only; not with daemon.checkpoint. Default: null.'),
        dedupeReplayMs: int(0, 30 * 86_400_000).nullable().default(null)
          .describe('Event time re-read before a partition\'s committed position when a daemon takes it over (after a rebalance or a restart), so its dedupe filter knows the keys of that span again: offsets are committed that far back. 0 = no re-read (a duplicate whose first copy came before the committed position is counted); null = dedupe.horizonMs (0 without dedupe). Default: null.'),
      })
      .strict()
      .prefault({})
      .describe('Several daemons sharing one consumer group (ARCHITECTURE.md, "Scale-out"). Default: {partialsTopic: null}.'),
    shutdownTimeoutMs: int(1_000, 3_600_000).default(60_000)
      .describe('Longest a graceful shutdown (drain, flush sinks, commit) may take before the process exits 1 (1000-3600000 ms). Default: 60000.'),
  })
  .strict()
  .describe('The `ringflow run` daemon: dead letters of the pipeline, offset commits, status output.');

export type DaemonConfig = z.output<typeof daemonConfigSchema>;
