/**
 * Group-by keys as one dense number: each group field maps to a small code (enum index, bool, int32
 * offset, or a lookup value id from enrich), and the codes combine in mixed radix
 *   groupKey = code_0 * radix_0 + code_1 * radix_1 + ...,  radix_0 = 1, radix_i = radix_{i-1} * card_{i-1}
 * which is exact while the product of the cardinalities stays below 2^53, checked when the plan is
 * built. A null field has its own code (the last one). The window table then keys its open-addressing
 * index on (windowStart, groupKey) and stores the key as a plain float64, so grouping allocates nothing
 * and decoding a key back to field values at emit time needs only the plan.
 */
import { ConfigError } from '../../errors.js';
import type { ColumnSpec } from '../../runtime/schema.js';
import { MAX_SOURCE_PARTITIONS, SOURCE_COLUMN } from '../input/columns.js';

export type GroupFieldKind = 'enum' | 'bool' | 'int32' | 'lookup' | 'source';

export interface GroupField {
  name: string;
  kind: GroupFieldKind;
  /** Number of distinct codes, the null code included. */
  cardinality: number;
  radix: number;
  /** enum only. */
  enumValues?: readonly string[];
}

export interface GroupPlan {
  fields: GroupField[];
  /** Product of all cardinalities: every group key is below this. */
  keySpace: number;
}

const INT32_CODES = 2 ** 32 + 1;

/**
 * `lookupFields` maps the name of an enriched field to the number of value ids it can take.
 * Other names must be enum, bool or int32 columns of the input schema.
 */
export function buildGroupPlan(groupBy: readonly string[], columns: readonly ColumnSpec[],
  lookupFields: ReadonlyMap<string, number>, path = 'aggregate.groupBy'): GroupPlan {
  let radix = 1;
  const fields = groupBy.map((name, i): GroupField => {
    let kind: GroupFieldKind;
    let cardinality: number;
    let enumValues: readonly string[] | undefined;
    const lookup = lookupFields.get(name);
    const col = columns.find((c) => c.name === name);
    if (lookup !== undefined) {
      kind = 'lookup';
      cardinality = lookup;
    } else if (name === SOURCE_COLUMN && col?.type === 'int32') {
      // The hidden scale-out field: the int32 value is the code (never null; the last code stays unused).
      kind = 'source';
      cardinality = MAX_SOURCE_PARTITIONS + 1;
    } else if (!col) {
      throw new ConfigError(`${path}[${i}]`, `"${name}" is neither an input column nor an enriched field`);
    } else if (col.type === 'enum') {
      kind = 'enum';
      enumValues = col.enumValues ?? [];
      cardinality = enumValues.length + 1;
    } else if (col.type === 'bool') {
      kind = 'bool';
      cardinality = 3;
    } else if (col.type === 'int32') {
      kind = 'int32';
      cardinality = INT32_CODES;
    } else {
      throw new ConfigError(`${path}[${i}]`, `"${name}" has type ${col.type}; group by enum, bool, int32 or an enriched field`);
    }
    const field: GroupField = { name, kind, cardinality, radix, enumValues };
    radix *= cardinality;
    if (radix > Number.MAX_SAFE_INTEGER) {
      throw new ConfigError(path, `the product of the group-by cardinalities exceeds 2^53; group by fewer or smaller fields`);
    }
    return field;
  });
  return { fields, keySpace: radix };
}

/** Field values of a group key, in plan order; lookup fields resolved through `dictionaries[name]`. */
export function decodeGroupKey(plan: GroupPlan, groupKey: number,
  dictionaries: ReadonlyMap<string, readonly string[]>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const f of plan.fields) {
    const code = Math.floor(groupKey / f.radix) % f.cardinality;
    const isNull = code === f.cardinality - 1;
    switch (f.kind) {
      case 'enum': out[f.name] = isNull ? null : f.enumValues![code]; break;
      case 'bool': out[f.name] = isNull ? null : code === 1; break;
      case 'int32': out[f.name] = isNull ? null : code - 2 ** 31; break;
      case 'source': out[f.name] = code; break;
      case 'lookup': {
        const dict = dictionaries.get(f.name);
        out[f.name] = dict && code < dict.length ? dict[code] : null;
        break;
      }
    }
  }
  return out;
}
