/**
 * The daemon's log (src/logging.ts): on stderr, JSON lines or human-readable on a terminal
 * (RINGFLOW_LOG_FORMAT=json|pretty overrides), level from RINGFLOW_LOG_LEVEL
 * (trace/debug/info/warn/error/silent; default info), with the config's secrets redacted.
 */
import type { Logger } from 'pino';
import { createLogger, logFormatFromEnv, type LogFormat } from '../logging.js';

export type DaemonLogger = Logger;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function daemonLogLevel(env: NodeJS.ProcessEnv = process.env): string {
  const level = env.RINGFLOW_LOG_LEVEL ?? 'info';
  return (LOG_LEVELS as readonly string[]).includes(level) ? level : 'info';
}

export function createDaemonLogger(name: string, level = daemonLogLevel(),
  options: { secrets?: readonly string[]; format?: LogFormat } = {}): DaemonLogger {
  return createLogger({ name, level, format: options.format ?? logFormatFromEnv(), secrets: options.secrets ?? [] });
}
