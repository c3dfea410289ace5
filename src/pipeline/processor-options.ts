/**
 * The structured-cloneable options of a partition processor (processor.ts), compiled from the stage
 * config sections once per pipeline.
 */
import { ConfigError } from '../errors.js';
import type { BloomOptions } from '../kernels/dedupe/bloom.js';
import type { DimTableShared } from '../kernels/enrich/dim-table.js';
import type { EnrichOptions } from '../kernels/enrich/enrich.js';
import type { AggregateConfig, DedupeConfig, EnrichConfig } from '../kernels/stage-config.js';
import type { AggregateOptions } from '../kernels/window/update.js';

/** Everything a partition processor needs; structured-cloneable (the dim table's SharedArrayBuffers are shared). */
export interface PipelineProcessorOptions {
  timeField: string;
  enrich: EnrichOptions | null;
  dedupe: { keyField: string; bloom: BloomOptions } | null;
  /** emitEvents: serialize accepted rows as processed events keyed by this (the partition key); null = off. */
  events: { keyField: string } | null;
  /** The worker computes the key hashes of hashed string columns for every batch (key-hashes.ts); the decoders may leave them out. */
  keyHashesOnWorker: boolean;
  aggregate: AggregateOptions;
}

export interface StageConfigs {
  enrich?: EnrichConfig | null;
  dedupe?: DedupeConfig | null;
  aggregate: AggregateConfig;
}

/** The processor options as the plan holds them: everything but the enrich stage's shared dim table. */
export type ProcessorPlan = Omit<PipelineProcessorOptions, 'enrich'> & { enrich: Omit<EnrichOptions, 'table'> | null };

/**
 * Options for every partition's processor, except the dim table, which the pipeline loads when it
 * starts. Per-partition Bloom filters are sized for the expected keys divided by the partition count,
 * with 10% + 1000 keys of headroom for uneven hashing.
 */
export function compileProcessorPlan(stages: StageConfigs, timeField: string, partitions: number,
  eventsKeyField: string | null, keyHashesOnWorker: boolean): ProcessorPlan {
  const { enrich, dedupe, aggregate } = stages;
  const window = aggregate.window;
  return {
    timeField,
    enrich: enrich ? { joinOn: enrich.joinOn, as: enrich.as } : null,
    dedupe: dedupe
      ? {
        keyField: dedupe.keyField,
        bloom: {
          falsePositiveRate: dedupe.falsePositiveRate,
          expectedKeysPerHorizon: Math.ceil((dedupe.expectedKeysPerHorizon / partitions) * 1.1) + 1000,
          horizonMs: dedupe.horizonMs,
          generations: dedupe.generations,
        },
      }
      : null,
    events: eventsKeyField === null ? null : { keyField: eventsKeyField },
    keyHashesOnWorker,
    aggregate: {
      window: { type: window.type, sizeMs: window.sizeMs, slideMs: window.type === 'tumbling' ? window.sizeMs : window.slideMs ?? window.sizeMs },
      groupBy: [...aggregate.groupBy],
      lookupFields: enrich ? [[enrich.as, enrich.maxValues]] : [],
      metrics: aggregate.metrics.map((m) => ({ name: m.name, op: m.op, field: m.field })),
      maxOpenCells: aggregate.maxOpenCells,
      hllPrecision: aggregate.hllPrecision,
      allowedLatenessMs: aggregate.allowedLatenessMs,
    },
  };
}

/** The plan's processor options with the enrich stage's loaded dim table. */
export function withDimTable(plan: ProcessorPlan, dimTable: DimTableShared | null): PipelineProcessorOptions {
  if (plan.enrich && !dimTable) throw new ConfigError('enrich', 'an enrich stage needs its shared dim table');
  return { ...plan, enrich: plan.enrich && dimTable ? { ...plan.enrich, table: dimTable } : null };
}

/** compileProcessorPlan and withDimTable in one step (kernel tests and benchmarks). */
export function compileProcessorOptions(stages: StageConfigs, timeField: string, partitions: number,
  dimTable: DimTableShared | null, eventsKeyField: string | null = null): PipelineProcessorOptions {
  return withDimTable(compileProcessorPlan(stages, timeField, partitions, eventsKeyField, false), dimTable);
}
