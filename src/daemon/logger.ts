/**
 * The daemon's structured log: pino, JSON lines on stderr (stdout stays free for command output).
 * Level from RINGFLOW_LOG_LEVEL (trace/debug/info/warn/error/silent). Default: info.
 */
import { pino, type Logger } from 'pino';

export type DaemonLogger = Logger;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export function daemonLogLevel(env: NodeJS.ProcessEnv = process.env): string {
  const level = env.RINGFLOW_LOG_LEVEL ?? 'info';
  return (LOG_LEVELS as readonly string[]).includes(level) ? level : 'info';
}

export function createDaemonLogger(name: string, level = daemonLogLevel()): DaemonLogger {
  // Synchronous writes: the last lines before an exit (or a crash) must not be lost in a buffer.
  return pino({ name, level }, pino.destination({ fd: 2, sync: true }));
}
