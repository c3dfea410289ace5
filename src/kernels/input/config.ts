/**
 * The `input` section of a pipeline config: the NDJSON event schema with per-field validation rules,
 * and its mapping to the columnar batch schema that staging and ring slots use.
 *
 * Batch columns = the declared fields in declaration order, then the system columns:
 *   __line  float64  1-based physical line number (or source offset) of the row
 *   __late  bool     late candidate, set by ingest after decode (decode writes 0)
 *   __raw   string   original line, filled by ingest only for the rare rows that need it
 */
import { z } from 'zod';
import { ConfigError } from '../../errors.js';
import type { ColumnSpec, Schema } from '../../runtime/schema.js';
import { compileBytePattern } from '../filter/pattern.js';
import { MAX_RAW_BYTES, SOURCE_COLUMN, SYSTEM_COLUMNS } from './columns.js';

export const FIELD_TYPES = ['string', 'int32', 'int64', 'timestamp_ms', 'float64', 'bool', 'enum'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
const NUMERIC = new Set<FieldType>(['int32', 'int64', 'timestamp_ms', 'float64']);

export const DEFAULT_MAX_LINE_BYTES = 1048576;
/** Cap on the bytes per row reserved for a string column; a longer batch simply publishes early. */
const MAX_AVG_STRING_BYTES = 32;

const num = (what: string) => z.number().finite().optional().describe(`${what} Default: none.`);
const bytesLimit = (what: string) =>
  z.number().int().min(0).max(DEFAULT_MAX_LINE_BYTES * 64).optional().describe(`${what} Default: none.`);

export const fieldConfigSchema = z
  .object({
    type: z.enum(FIELD_TYPES).describe('JSON value type and column type. Required, no default.'),
    required: z.boolean().default(false).describe('Absent or null is invalid (`missing:<field>`). Default: false.'),
    default: z
      .union([z.string(), z.number().finite(), z.boolean()])
      .optional()
      .describe('Value used when the field is absent or null (must itself pass the rules). Default: none (null).'),
    values: z.array(z.string()).min(1).max(65535).optional().describe('enum only: allowed values. Default: none.'),
    min: num('Inclusive lower bound for numbers.'),
    max: num('Inclusive upper bound for numbers.'),
    exclusiveMin: num('Exclusive lower bound for numbers.'),
    exclusiveMax: num('Exclusive upper bound for numbers.'),
    integer: z
      .boolean()
      .default(false)
      .describe('Numbers only: the value must be an integer (`not_integer:<field>`); int32/int64/timestamp_ms always check it. Default: false.'),
    minBytes: bytesLimit('string only: minimum UTF-8 length in bytes (`too_short:<field>`).'),
    maxBytes: bytesLimit('string only: maximum UTF-8 length in bytes (`too_long:<field>`).'),
    pattern: z.string().optional().describe('string only: a JS regular expression the value must match. Default: none.'),
    hashed: z.boolean().default(false).describe('string only: also keep a 64-bit key hash per row. Default: false.'),
    eventTime: z.boolean().default(false).describe('timestamp_ms only: this field is the event time (exactly one). Default: false.'),
    partitionKey: z.boolean().default(false).describe('string only: rows are partitioned by its hash (exactly one). Default: false.'),
  })
  .strict()
  .describe('One declared event field and its validation rules.');

export const inputConfigSchema = z
  .object({
    format: z.literal('ndjson').default('ndjson').describe('Input encoding: one JSON object per line. Default: "ndjson".'),
    decoder: z
      .enum(['auto', 'js'])
      .default('auto')
      .describe('"auto": the native block decoder (native-bindings/, built by scripts/build-native.sh) decodes the common lines when it is built, the JS decoder the rest, with the same results; "js": the JS decoder alone. Default: "auto".'),
    maxLineBytes: z
      .number()
      .int()
      .min(16)
      .max(DEFAULT_MAX_LINE_BYTES * 64)
      .default(DEFAULT_MAX_LINE_BYTES)
      .describe('Longer lines (after stripping a trailing \\r) are invalid: `line_too_long`. 16 to 67108864. Default: 1048576.'),
    fields: z
      .record(
        z.string().regex(/^(?!__)[A-Za-z_][A-Za-z0-9_]*$/, 'field names are identifiers not starting with "__" (reserved)'),
        fieldConfigSchema,
      )
      .describe('Declared fields in column order; any other JSON key is ignored. Required, no default.'),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const names = Object.keys(cfg.fields);
    if (names.length === 0) ctx.addIssue({ code: 'custom', path: ['fields'], message: 'declare at least one field' });
    const eventTime = names.filter((n) => cfg.fields[n].eventTime);
    const partitionKey = names.filter((n) => cfg.fields[n].partitionKey);
    if (eventTime.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: `exactly one field needs eventTime: true, found ${eventTime.length}` });
    }
    if (partitionKey.length !== 1) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: `exactly one field needs partitionKey: true, found ${partitionKey.length}` });
    }
    for (const name of names) {
      for (const [key, message] of fieldProblems(cfg.fields[name])) {
        ctx.addIssue({ code: 'custom', path: ['fields', name, key], message });
      }
    }
  })
  .describe('Input event schema: NDJSON lines decoded into declared, validated columns.');

export type FieldConfig = z.output<typeof fieldConfigSchema>;
export type InputConfig = z.output<typeof inputConfigSchema>;

/** Rule/type combinations that make no sense, as [option, message] pairs. */
function fieldProblems(f: FieldConfig): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const numeric = NUMERIC.has(f.type);
  const onlyFor = (key: keyof FieldConfig, ok: boolean, types: string): void => {
    const v = f[key];
    if (v !== undefined && v !== false && !ok) out.push([key, `only allowed for ${types} fields, this one is ${f.type}`]);
  };
  onlyFor('values', f.type === 'enum', 'enum');
  for (const k of ['min', 'max', 'exclusiveMin', 'exclusiveMax'] as const) onlyFor(k, numeric, 'numeric');
  onlyFor('integer', numeric, 'numeric');
  for (const k of ['minBytes', 'maxBytes', 'pattern', 'hashed', 'partitionKey'] as const) onlyFor(k, f.type === 'string', 'string');
  onlyFor('eventTime', f.type === 'timestamp_ms', 'timestamp_ms');
  if (f.type === 'enum' && !f.values) out.push(['values', 'an enum field needs a non-empty list of values']);
  if (f.values && new Set(f.values).size !== f.values.length) out.push(['values', 'values must be distinct']);
  if (f.min !== undefined && f.exclusiveMin !== undefined) out.push(['exclusiveMin', 'set either min or exclusiveMin']);
  if (f.max !== undefined && f.exclusiveMax !== undefined) out.push(['exclusiveMax', 'set either max or exclusiveMax']);
  if (f.minBytes !== undefined && f.maxBytes !== undefined && f.minBytes > f.maxBytes) {
    out.push(['minBytes', `must be <= maxBytes (${f.maxBytes}), got ${f.minBytes}`]);
  }
  if (f.pattern !== undefined) {
    try {
      new RegExp(f.pattern);
    } catch (err) {
      out.push(['pattern', `not a valid regular expression: ${(err as Error).message}`]);
    }
  }
  if (f.default !== undefined) {
    if (f.required) out.push(['default', 'a required field cannot have a default']);
    else {
      const why = defaultViolation(f, f.default);
      if (why) out.push(['default', why]);
    }
  }
  return out;
}

/** Why a configured default would itself be an invalid value of the field, or null if it is fine. */
function defaultViolation(f: FieldConfig, v: string | number | boolean): string | null {
  if (f.type === 'bool') return typeof v === 'boolean' ? null : 'must be true or false';
  if (f.type === 'enum') return typeof v === 'string' && f.values?.includes(v) ? null : `must be one of ${JSON.stringify(f.values)}`;
  if (f.type === 'string') {
    if (typeof v !== 'string') return 'must be a string';
    const n = Buffer.byteLength(v, 'utf8');
    if (f.minBytes !== undefined && n < f.minBytes) return `is shorter than minBytes (${f.minBytes})`;
    if (f.maxBytes !== undefined && n > f.maxBytes) return `is longer than maxBytes (${f.maxBytes})`;
    if (f.pattern !== undefined && !new RegExp(f.pattern).test(v)) return `does not match pattern ${f.pattern}`;
    return null;
  }
  if (typeof v !== 'number') return 'must be a number';
  if ((f.type !== 'float64' || f.integer) && !Number.isInteger(v)) return 'must be an integer';
  if (f.type === 'int32' && (v < -2147483648 || v > 2147483647)) return 'must fit in int32';
  if ((f.type === 'int64' || f.type === 'timestamp_ms') && !Number.isSafeInteger(v)) return 'must be a safe integer';
  if (f.min !== undefined && !(v >= f.min)) return `must be >= min (${f.min})`;
  if (f.exclusiveMin !== undefined && !(v > f.exclusiveMin)) return `must be > exclusiveMin (${f.exclusiveMin})`;
  if (f.max !== undefined && !(v <= f.max)) return `must be <= max (${f.max})`;
  if (f.exclusiveMax !== undefined && !(v < f.exclusiveMax)) return `must be < exclusiveMax (${f.exclusiveMax})`;
  return null;
}

/** Validates a raw `input` section; throws ConfigError naming the full path, e.g. `input.fields.ts.min: ...`. */
export function parseInputConfig(raw: unknown, basePath = 'input'): InputConfig {
  const r = inputConfigSchema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const at = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]] : issue.path;
  const path = [basePath, ...at.map(String)].filter(Boolean).join('.');
  const message = issue.code === 'unrecognized_keys' ? 'unknown setting' : issue.message;
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem(s))` : '';
  throw new ConfigError(path, message + more, { cause: r.error });
}

export function eventTimeField(cfg: InputConfig): string {
  return Object.keys(cfg.fields).find((n) => cfg.fields[n].eventTime)!;
}

export function partitionKeyField(cfg: InputConfig): string {
  return Object.keys(cfg.fields).find((n) => cfg.fields[n].partitionKey)!;
}

/** Longest valid value of a string field in bytes: maxBytes or a bounded pattern's longest match. */
function longestValidBytes(f: FieldConfig): number {
  let longest = f.maxBytes ?? Infinity;
  if (f.pattern !== undefined) longest = Math.min(longest, compileBytePattern(f.pattern)?.maxBytes ?? Infinity);
  return longest;
}

/** Bytes per row to reserve for a string field: its longest valid value when known, capped. */
function avgStringBytes(f: FieldConfig): number {
  return Math.max(4, Math.min(MAX_AVG_STRING_BYTES, longestValidBytes(f)));
}

/**
 * The staging/ring batch schema for an input config: declared fields in order, then __line, __late,
 * __raw, and with `sourceColumn` the int32 `__source` (scale-out) last, after everything a decoder writes.
 */
export function inputSchemaToBatchSchema(cfg: InputConfig, opts: { sourceColumn?: boolean } = {}): Schema {
  const columns: ColumnSpec[] = Object.entries(cfg.fields).map(([name, f]): ColumnSpec => {
    if (f.type === 'enum') return { name, type: 'enum', enumValues: f.values };
    if (f.type === 'string') {
      return { name, type: 'string', hashed: f.hashed || f.partitionKey, avgBytes: avgStringBytes(f),
        // The decoder never stores a value longer than the longest valid one (it fails its rule unstored).
        maxRowBytes: Math.min(longestValidBytes(f), cfg.maxLineBytes) };
    }
    return { name, type: f.type };
  });
  const [line, late, raw] = SYSTEM_COLUMNS;
  columns.push({ name: line, type: 'float64' }, { name: late, type: 'bool' }, { name: raw, type: 'string', avgBytes: 16, maxRowBytes: MAX_RAW_BYTES });
  if (opts.sourceColumn) columns.push({ name: SOURCE_COLUMN, type: 'int32' });
  return { columns };
}
