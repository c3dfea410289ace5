/**
 * The one configuration schema of ringflow, composed from the sections each layer owns. Every object
 * is strict (unknown keys are rejected), every field documents its default, and every error names the
 * full path of the bad setting (config-error.ts).
 *
 *   {
 *     "name":      pipeline name (logs, metrics)
 *     "input":     declared event fields and validation rules      (kernels/input/config.ts)
 *     "enrich":    lookup join on a CSV dimension table            (kernels/stage-config.ts)
 *     "dedupe":    Bloom-filter dedupe by key                      (kernels/stage-config.ts)
 *     "aggregate": event-time windows, watermarks, metrics         (kernels/stage-config.ts)
 *     "runtime":   threads, partitions, ring slots, batch rows     (runtime/runtime-config.ts)
 *     "source":    file / stdin / kafka / http / generator         (sources/source-config.ts)
 *     "sinks":     clickhouse / redis / kafka / alerts / files      (sinks/sink-config.ts)
 *     "daemon":    dead-letter file, commit and status intervals   (daemon/daemon-config.ts)
 *   }
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { configErrorFromZod } from '../config-error.js';
import { ConfigError } from '../errors.js';
import { inputConfigSchema } from '../kernels/input/config.js';
import { aggregateConfigSchema, dedupeConfigSchema, enrichConfigSchema } from '../kernels/stage-config.js';
import { daemonConfigSchema } from './daemon-config.js';
import { runtimeConfigSchema } from '../runtime/runtime-config.js';
import { sinksConfigSchema } from '../sinks/sink-config.js';
import { sourceConfigSchema } from '../sources/source-config.js';

export const ringflowConfigSchema = z
  .object({
    name: z.string().min(1).max(200).default('ringflow').describe('Pipeline name used in logs and metrics. Default: "ringflow".'),
    input: inputConfigSchema,
    enrich: enrichConfigSchema.optional().describe('Lookup join; off when unset. Default: unset.'),
    dedupe: dedupeConfigSchema.optional().describe('Dedupe by key; off when unset. Default: unset.'),
    aggregate: aggregateConfigSchema,
    runtime: runtimeConfigSchema,
    source: sourceConfigSchema,
    sinks: sinksConfigSchema.prefault({}),
    daemon: daemonConfigSchema.prefault({}),
  })
  .strict()
  .describe('A ringflow pipeline: input schema, processing stages, runtime sizing, source and sinks.');

export type RingflowConfig = z.output<typeof ringflowConfigSchema>;

/** Validate a parsed config object. `baseDir` resolves relative paths (the config file's folder). */
export function parseRingflowConfig(raw: unknown, baseDir = process.cwd()): RingflowConfig {
  const r = ringflowConfigSchema.safeParse(raw);
  if (!r.success) throw configErrorFromZod(r.error, '');
  const cfg = r.data;
  const resolvePath = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  if (cfg.enrich) cfg.enrich.table = resolvePath(cfg.enrich.table);
  if (cfg.source.type === 'file') cfg.source.file.path = resolvePath(cfg.source.file.path);
  if (cfg.daemon.checkpoint.dir !== null && cfg.source.type !== 'kafka') {
    throw new ConfigError('daemon.checkpoint.dir', `checkpoints need a source that resumes at a committed position: allowed only with source.type "kafka", got "${cfg.source.type}"`);
  }
  if (cfg.daemon.scaleOut.partialsTopic !== null) {
    if (cfg.source.type !== 'kafka') {
      throw new ConfigError('daemon.scaleOut.partialsTopic', `scale-out shares a Kafka consumer group: allowed only with source.type "kafka", got "${cfg.source.type}"`);
    }
    if (cfg.daemon.checkpoint.dir !== null) {
      throw new ConfigError('daemon.scaleOut.partialsTopic', 'checkpoints assume one daemon per consumer group: set daemon.checkpoint.dir to null with scale-out');
    }
    const topics = [cfg.source.kafka.topic].flat();
    if (topics.includes(cfg.daemon.scaleOut.partialsTopic)) {
      throw new ConfigError('daemon.scaleOut.partialsTopic', 'must not be a topic the source reads');
    }
  }
  // Before issue 15, allowedLatenessMs was the watermark's delay: an old config keeping it must not silently change meaning.
  const rawAggregate = (raw as { aggregate?: Record<string, unknown> } | null)?.aggregate;
  if (cfg.aggregate.allowedLatenessMs > 0 && rawAggregate?.outOfOrdernessMs === undefined) {
    throw new ConfigError('aggregate.outOfOrdernessMs', 'must be set when allowedLatenessMs is: allowedLatenessMs now keeps emitted windows open for updates; the watermark delay it used to set is outOfOrdernessMs (0 for none)');
  }
  // Updates of emitted windows live in the window emitter, which neither the merge of scale-out nor a checkpoint carries yet.
  if (cfg.aggregate.allowedLatenessMs > 0 && cfg.daemon.scaleOut.partialsTopic !== null) {
    throw new ConfigError('aggregate.allowedLatenessMs', 'updates of emitted windows are not supported with daemon.scaleOut yet: set it to 0 (and outOfOrdernessMs to the disorder you expect)');
  }
  if (cfg.aggregate.allowedLatenessMs > 0 && cfg.daemon.checkpoint.dir !== null) {
    throw new ConfigError('aggregate.allowedLatenessMs', 'updates of emitted windows are not supported with daemon.checkpoint yet: set it to 0, or daemon.checkpoint.dir to null');
  }
  return cfg;
}

/** Read and validate a JSON config file. */
export async function loadRingflowConfig(path: string): Promise<RingflowConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('', `config file ${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseRingflowConfig(raw, dirname(resolve(path)));
}
