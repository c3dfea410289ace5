/**
 * One error hierarchy for all of ringflow. Every error carries a stable `code` (part of the public
 * contract: logs, dead letters and metrics key on it), a `retriable` flag that retry loops trust
 * instead of guessing from messages (kafkajs' errors.js does the same), and the original `cause`.
 */
export interface RingflowErrorOptions {
  /** Whether repeating the same operation later may succeed. */
  retriable?: boolean;
  /** The lower-level error this one wraps. */
  cause?: unknown;
  /** Structured context (partition, batch, config path, ...) for logs. */
  details?: Record<string, unknown>;
}

export class RingflowError extends Error {
  readonly code: string;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: RingflowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, retriable: this.retriable, ...this.details };
  }
}

/** A configuration value is missing, of the wrong type or out of range. `path` is the full dotted path. */
export class ConfigError extends RingflowError {
  readonly path: string;
  constructor(path: string, message: string, options: RingflowErrorOptions = {}) {
    super('CONFIG_INVALID', path ? `${path}: ${message}` : message, { ...options, details: { path, ...options.details } });
    this.path = path;
  }
}

/** A test or runtime dependency (a server, a package, a port) could not be started or reached. */
export class ServiceError extends RingflowError {
  constructor(service: string, message: string, options: RingflowErrorOptions = {}) {
    super('SERVICE_UNAVAILABLE', `${service}: ${message}`, { ...options, details: { service, ...options.details } });
  }
}

/** A kernel threw or its worker died while processing a batch. */
export class KernelError extends RingflowError {
  constructor(message: string, options: RingflowErrorOptions = {}) {
    super('KERNEL_FAILED', message, options);
  }
}

/** A sink could not write; `retriable` says whether backing off and trying again may help. */
export class SinkError extends RingflowError {
  constructor(sink: string, message: string, options: RingflowErrorOptions = {}) {
    super('SINK_WRITE_FAILED', `${sink}: ${message}`, { ...options, details: { sink, ...options.details } });
  }
}

/** A source could not read or commit. */
export class SourceError extends RingflowError {
  constructor(source: string, message: string, options: RingflowErrorOptions = {}) {
    super('SOURCE_FAILED', `${source}: ${message}`, { ...options, details: { source, ...options.details } });
  }
}

/** A checkpoint could not be written, read or matched to the committed positions. */
export class CheckpointError extends RingflowError {
  constructor(message: string, options: RingflowErrorOptions = {}) {
    super('CHECKPOINT_FAILED', `checkpoint: ${message}`, options);
  }
}

/** The enrich stage's dimension table could not be read or does not fit its configured bounds. */
export class DimTableError extends RingflowError {
  constructor(message: string, options: RingflowErrorOptions = {}) {
    super('DIM_TABLE_FAILED', `dim-table: ${message}`, options);
  }
}

/** A record of the scale-out partials topic is not one ringflow wrote (scale-out/partial-records.ts). */
export class PartialRecordError extends RingflowError {
  constructor(message: string, options: RingflowErrorOptions = {}) {
    super('PARTIAL_RECORD_INVALID', `partials topic: ${message}`, options);
  }
}

/** The pipeline was asked to stop while an operation waited. */
export class ShutdownError extends RingflowError {
  constructor(message = 'ringflow is shutting down') {
    super('SHUTTING_DOWN', message, { retriable: false });
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof RingflowError ? err.retriable : false;
}
