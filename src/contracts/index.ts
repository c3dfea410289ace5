/**
 * The types that cross layers: what a source reports for a chunk, what the pipeline hands the sinks
 * (window rows, processed events) and the dead letter. Every layer may import this module; it imports
 * nothing, so no layer reaches into another's files for a shared shape.
 *
 * The columnar batch layout kernels read lives in `runtime/schema.ts`: the runtime is the library every
 * layer above builds on, so its types are already importable from everywhere.
 */

/** What the pipeline reports for one chunk. HTTP ingest turns it into its response body. */
export interface IngestCounts {
  acceptedLines: number;
  invalidLines: number;
  /** The first few invalid lines' reasons, in input order (e.g. `line 3: bad_type:ts`). */
  firstReasons: string[];
}

/** One line that did not become an accepted event, with why. */
export interface DeadLetterEntry {
  /** `<rule>:<field>`, `malformed_json`, `late`, `kernel_failed:<code>`, ... (ARCHITECTURE.md). */
  reason: string;
  /** 1-based physical line number in its source partition; -1 when the entry is not one line. */
  line: number;
  raw: string;
  /** Source partition (omitted for single-partition sources). */
  source?: number;
}

/**
 * One closed window for one group, as the aggregate emits it:
 * `{ window_start, window_end, <group fields>: string | number | boolean, <metrics>: number | null }`
 * (min / max / avg are null for a group without values). Sinks store group values as strings.
 */
export type WindowRow = Record<string, string | number | boolean | null> & { window_start: number; window_end: number };

/** Names the group fields and metric columns of window rows; comes from the aggregate config. */
export interface WindowShape {
  groupFields: readonly string[];
  /** `nullable`: the metric can be null (min / max / avg of no values). */
  metrics: readonly { name: string; kind: 'integer' | 'float'; nullable?: boolean }[];
}

/** The shape of the rows an aggregate config (`aggregate.groupBy`, `aggregate.metrics`) produces. */
export function windowShapeFromAggregate(aggregate: {
  groupBy: readonly string[];
  metrics: readonly { name: string; op: 'count' | 'sum' | 'min' | 'max' | 'avg' | 'distinct' }[];
}): WindowShape {
  return {
    groupFields: [...aggregate.groupBy],
    metrics: aggregate.metrics.map((m) =>
      m.op === 'count' || m.op === 'distinct'
        ? { name: m.name, kind: 'integer' as const }
        : { name: m.name, kind: 'float' as const, nullable: m.op !== 'sum' }),
  };
}

/**
 * Processed (enriched, deduplicated) events as NDJSON, handed over as one batch of bytes rather than
 * an object per event. Line i is `lines[lineEnds[i-1] .. lineEnds[i])` (lineEnds[-1] = 0) and includes
 * its trailing '\n'; its partition key is `keys[keyEnds[i-1] .. keyEnds[i])` (UTF-8).
 *
 *   lines    |{"event_id":"a",...}\n|{"event_id":"b",...}\n|...
 *   lineEnds |        22            |        44            |...
 *   keys     |user-1|user-22|...
 *   keyEnds  |  6   |  13   |...
 */
export interface EventBatch {
  rowCount: number;
  lines: Uint8Array;
  lineEnds: Uint32Array;
  keys: Uint8Array;
  keyEnds: Uint32Array;
}
