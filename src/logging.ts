/**
 * The one way ringflow's threads make a logger (the daemon on the main thread, the sink thread):
 * pino, written synchronously to stderr (stdout stays free for command output, and the last lines
 * before an exit or a crash must not wait in a buffer), either as JSON lines or, on a terminal,
 * human-readable through pino-pretty.
 *
 * Secrets: every configured secret (passwords, tokens, the credentials inside URLs: see
 * secretsOfConfig) is replaced by `[REDACTED]` in each line just before it is written, whatever field
 * or error message carries it, so a driver's error that quotes a connection URL cannot leak one.
 */
import { pino, type Logger } from 'pino';
import { PinoPretty } from 'pino-pretty';

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  name: string;
  level: string;
  format: LogFormat;
  /** Strings that must never appear in a log line. */
  secrets: readonly string[];
}

export const REDACTED = '[REDACTED]';

/** `RINGFLOW_LOG_FORMAT` (json | pretty), else pretty when stderr is a terminal, else json. */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env, stderrIsTty = process.stderr.isTTY === true): LogFormat {
  const asked = env.RINGFLOW_LOG_FORMAT;
  if (asked === 'json' || asked === 'pretty') return asked;
  return stderrIsTty ? 'pretty' : 'json';
}

/** Replaces every secret (longest first, so one inside another goes whole) in `line`. */
export function redactSecrets(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out;
}

const SECRET_KEY = /pass(word)?|secret|token|credential|api[-_]?key/i;

/**
 * Every secret a config holds: string values under keys that name one (password, token, secret,
 * credentials, api key), and the password (and user:password) of any URL with credentials. Secrets of
 * one or two characters are left out: replacing them everywhere would garble every line.
 */
export function secretsOfConfig(config: unknown): string[] {
  const found = new Set<string>();
  const add = (s: string): void => { if (s.length >= 3) found.add(s); };
  const visit = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      // A key ending in Env (bearerTokenEnv) names an environment variable; the caller adds its value.
      if (SECRET_KEY.test(key) && !key.endsWith('Env')) add(value);
      if (value.includes('@') && value.includes('://')) {
        try {
          const u = new URL(value);
          if (u.password) {
            add(decodeURIComponent(u.password));
            add(u.password);
            add(`${u.username}:${u.password}`);
          }
        } catch {
          // not a URL
        }
      }
      return;
    }
    if (Array.isArray(value)) value.forEach((v) => visit(v, key));
    else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, k);
  };
  visit(config, '');
  return [...found].sort((a, b) => b.length - a.length);
}

export function createLogger(o: LoggerOptions): Logger {
  // Lines are JSON when the hook sees them, so a secret with a quote or a backslash appears escaped.
  const secrets = [...new Set(o.secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))]
    .filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  const hooks = secrets.length === 0 ? {} : { hooks: { streamWrite: (line: string) => redactSecrets(line, secrets) } };
  const destination = o.format === 'pretty'
    ? PinoPretty({ destination: 2, sync: true, colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' })
    : pino.destination({ fd: 2, sync: true });
  return pino({ name: o.name, level: o.level, ...hooks }, destination);
}
