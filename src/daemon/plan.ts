/**
 * The run plan of `ringflow run`: the validated config turned, once, into everything the daemon wires
 * together, and frozen. The pipeline plan (decoder tier, key-hash owner, layout, processor options),
 * the sinks with the default files sink resolved, whether the pipeline serializes processed events for
 * them, and the source with command-line limits applied (a generator's total). Nothing after this
 * re-reads or changes the config.
 */
import { windowShapeFromAggregate, type WindowShape } from '../contracts/index.js';
import { compilePipelinePlan, deepFreeze, type PipelinePlan } from '../pipeline/plan.js';
import { eventsWanted, withDefaultFileSink, type SinksConfig } from '../sinks/sink-config.js';
import type { SourceConfig } from '../sources/source-config.js';
import type { RingflowConfig } from './config.js';
import type { DaemonConfig } from './daemon-config.js';

export interface RunPlan {
  readonly name: string;
  readonly pipeline: PipelinePlan;
  readonly source: SourceConfig;
  /** The sinks section with the files sink added when no destination is configured. */
  readonly sinks: SinksConfig;
  /** The sink destinations in use, for the start-up log line. */
  readonly sinkNames: readonly string[];
  readonly windowShape: WindowShape;
  readonly daemon: DaemonConfig;
  /** Stop after this many input lines; -1 = no limit. A generator ends there by itself (finish). */
  readonly maxEvents: number;
  /** aggregate.outOfOrdernessMs: a restarted partition's watermark starts this far below its restored max. */
  readonly outOfOrdernessMs: number;
  /** aggregate.allowedLatenessMs: a chunk settles only once the windows it touches are this far behind the watermark. */
  readonly allowedLatenessMs: number;
  /** Scale-out (daemon.scaleOut): the partials topic, the merge's consumer group and how to reach them; null = off. */
  readonly scaleOut: ScaleOutPlan | null;
}

export interface ScaleOutPlan {
  readonly partialsTopic: string;
  readonly mergeGroupId: string;
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Event time read again before a committed position (daemon.scaleOut.dedupeReplayMs resolved). */
  readonly dedupeReplayMs: number;
}

export function compileRunPlan(config: RingflowConfig, opts: { maxEvents?: number } = {}): RunPlan {
  const maxEvents = opts.maxEvents !== undefined && opts.maxEvents > 0 ? opts.maxEvents : -1;
  const sinks = withDefaultFileSink(config.sinks);
  const source: SourceConfig = maxEvents > 0 && config.source.type === 'generator'
    ? { ...config.source, generator: { ...config.source.generator, totalEvents: maxEvents } }
    : config.source;
  const partialsTopic = config.daemon.scaleOut.partialsTopic;
  const scaleOut: ScaleOutPlan | null = partialsTopic !== null && config.source.type === 'kafka'
    ? {
      partialsTopic, mergeGroupId: `${config.source.kafka.groupId}.merge`, brokers: config.source.kafka.brokers, clientId: config.source.kafka.clientId,
      dedupeReplayMs: config.daemon.scaleOut.dedupeReplayMs ?? (config.dedupe ? config.dedupe.horizonMs : 0),
    }
    : null;
  return deepFreeze({
    name: config.name,
    pipeline: compilePipelinePlan(config, { emitEvents: eventsWanted(sinks), sourcePartitionCells: scaleOut !== null,
      wallClockSkew: config.source.type === 'kafka' || config.source.type === 'http' }),
    source,
    sinks,
    sinkNames: (['clickhouse', 'redis', 'kafka', 'files'] as const).filter((k) => sinks[k] !== undefined),
    windowShape: windowShapeFromAggregate(config.aggregate),
    daemon: config.daemon,
    maxEvents,
    outOfOrdernessMs: config.aggregate.outOfOrdernessMs,
    allowedLatenessMs: config.aggregate.allowedLatenessMs,
    scaleOut,
  });
}
