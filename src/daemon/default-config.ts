/**
 * The embedded default of `ringflow run` with no --config: the canonical clickstream pipeline
 * (examples/clickstream.json, found from the package root, not the working directory) on the
 * clickstream generator at a moderate rate, local file sinks only (./ringflow-out/), so the first
 * command of the README shows windows being emitted with no external service.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { loadRingflowConfig, type RingflowConfig } from './config.js';

/**
 * Generator send rate of the default: 50k events/s. The generator's event time runs 5000 events per
 * second (clickstream default), so a 60 s window closes about every 6 s of wall time.
 */
export const DEFAULT_RATE_PER_SEC = 50_000;

/** The package root: the nearest folder above this module holding package.json (src/ or dist/src/). */
export function packageRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'examples'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new ConfigError('', `cannot find the ringflow package root (package.json + examples/) above ${from}`);
    dir = up;
  }
}

export function canonicalConfigPath(): string {
  return join(packageRoot(), 'examples', 'clickstream.json');
}

/** The canonical pipeline, with the generator source at DEFAULT_RATE_PER_SEC unless it sets a rate. */
export async function loadDefaultConfig(): Promise<RingflowConfig> {
  const cfg = await loadRingflowConfig(canonicalConfigPath());
  if (cfg.source.type === 'generator' && cfg.source.generator.ratePerSec === 0) cfg.source.generator.ratePerSec = DEFAULT_RATE_PER_SEC;
  return cfg;
}
