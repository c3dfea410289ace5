/**
 * The unusual lines of the clickstream generator, built as strings (they are a few percent of the
 * stream, so the allocation-free byte path is kept for ordinary events only):
 * - invalid lines, one kind per canonical reject reason, each with the reason it must produce;
 * - "variant" lines: valid events written in legal but less common JSON (other key order, spaces,
 *   escapes, exponents, extra and "__proto__" fields, CRLF) that must decode to the same event.
 */
import type { Prng } from './prng.js';

/** JSON text of each present field of one event, in the generator's usual key order. */
export type FieldTexts = Array<[key: string, valueText: string]>;

export function renderObject(fields: FieldTexts): string {
  return '{' + fields.map(([key, value]) => `"${key}":${value}`).join(',') + '}';
}

/** A copy with `key` set to `valueText` (appended when absent) or removed when undefined. */
function withField(fields: FieldTexts, key: string, valueText: string | undefined): FieldTexts {
  const out: FieldTexts = fields.filter(([k]) => k !== key);
  if (valueText === undefined) return out;
  const at = fields.findIndex(([k]) => k === key);
  if (at === -1) out.push([key, valueText]);
  else out.splice(at, 0, [key, valueText]);
  return out;
}

function fieldText(fields: FieldTexts, key: string): string | undefined {
  return fields.find(([k]) => k === key)?.[1];
}

export interface InvalidKind {
  /** The dead-letter reason the canonical pipeline must give this line. */
  reason: string;
  render(fields: FieldTexts, rng: Prng): string;
}

const mutate = (reason: string, key: string, values: readonly (string | undefined)[]): InvalidKind => ({
  reason,
  render: (fields, rng) => renderObject(withField(fields, key, rng.pick(values))),
});

export const INVALID_KINDS: readonly InvalidKind[] = [
  {
    reason: 'malformed_json',
    // Any proper prefix of an object lacks its closing brace.
    render: (fields, rng) => {
      const line = renderObject(fields);
      return line.slice(0, 1 + rng.int(line.length - 1));
    },
  },
  { reason: 'malformed_json', render: (fields, rng) => renderObject(fields) + rng.pick([' x', '}', ',', ' {"a":1}']) },
  { reason: 'malformed_json', render: (_fields, rng) => rng.pick(['  \t{oops', ' \t x', '\t{"event_id":', 'undefined']) },
  { reason: 'not_object', render: (_fields, rng) => rng.pick(['[1,2,3]', 'null', '42', '"view"', 'true', '[{"event_id":"e1"}]']) },
  mutate('missing:event_id', 'event_id', [undefined, 'null']),
  mutate('bad_type:event_id', 'event_id', ['12345', 'true', '["e1"]']),
  // 33 x "é" = 66 UTF-8 bytes but 33 UTF-16 units: a length check in code units would pass it.
  mutate('too_long:event_id', 'event_id', [`"${'é'.repeat(33)}"`, `"${'e'.repeat(65)}"`]),
  mutate('missing:ts', 'ts', [undefined, 'null']),
  { reason: 'bad_type:ts', render: (fields) => renderObject(withField(fields, 'ts', `"${fieldText(fields, 'ts')}"`)) },
  { reason: 'not_integer:ts', render: (fields) => renderObject(withField(fields, 'ts', `${fieldText(fields, 'ts')}.5`)) },
  mutate('out_of_range:ts', 'ts', ['4102444800000', '946684799999', '0', '-1767225600000']),
  mutate('too_short:user_id', 'user_id', ['""']),
  mutate('bad_type:user_id', 'user_id', ['4711', 'false']),
  mutate('missing:user_id', 'user_id', [undefined, 'null']),
  mutate('missing:type', 'type', [undefined, 'null']),
  mutate('bad_enum:type', 'type', ['"View"', '"checkout"', '""', '"purchase "']),
  mutate('bad_type:amount', 'amount', ['"12.50"', 'true', '{}']),
  mutate('out_of_range:amount', 'amount', ['-1', '-0.01', '1e400']),
  mutate('bad_pattern:country', 'country', ['"us"', '"USA"', '"U1"', '""']),
  mutate('bad_type:country', 'country', ['840', '["US"]']),
];

function shuffled<T>(items: readonly T[], rng: Prng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** "1767225600123" -> "1.767225600123e12": the same integer in exponent notation. */
function exponentForm(integerText: string): string {
  return `${integerText[0]}.${integerText.slice(1)}e${integerText.length - 1}`;
}

/** The same number with a redundant trailing zero or in exponent form; "0" may become "-0". */
function amountVariant(amountText: string, rng: Prng): string {
  if (amountText === '0') return rng.pick(['0.0', '-0', '0e5']);
  if (rng.float() < 0.5) return amountText.includes('.') ? `${amountText}0` : `${amountText}.00`;
  return `${amountText}e0`;
}

const VARIANTS: readonly ((fields: FieldTexts, rng: Prng) => string)[] = [
  (fields) => '{ ' + fields.map(([k, v]) => `"${k}" :\t${v}`).join(' , ') + ' }',
  (fields, rng) => renderObject(shuffled(fields, rng)),
  (fields) =>
    renderObject([
      ['__proto__', '{"event_id":"x","ts":"bad","polluted":true}'],
      ['constructor', '{"prototype":{"polluted":true}}'],
      ...fields,
      ['meta', '{"ref":"}\\"{","list":[1,{"ts":5}],"ok":true}'],
    ]),
  // Unicode escapes of the ids' first letters ("e", "u") decode to the same ids.
  (fields) =>
    renderObject(
      fields.map(([k, v]): [string, string] =>
        k === 'event_id' || k === 'user_id' ? [k, `"\\u00${v.charCodeAt(1).toString(16)}${v.slice(2)}`] : [k, v],
      ),
    ),
  (fields) => renderObject(fields.map(([k, v]): [string, string] => (k === 'ts' ? [k, exponentForm(v)] : [k, v]))),
  (fields, rng) => {
    const amount = fieldText(fields, 'amount');
    return renderObject(withField(fields, 'amount', amount === undefined ? 'null' : amountVariant(amount, rng)));
  },
  (fields) => renderObject(fieldText(fields, 'country') === undefined ? withField(fields, 'country', 'null') : fields) + '\r',
  (fields) => ' \t' + renderObject(fields) + '  ',
];

/** A valid event's line in one of the less common but legal spellings. */
export function renderVariantLine(fields: FieldTexts, rng: Prng): string {
  return rng.pick(VARIANTS)(fields, rng);
}

/** Lines of only JSON whitespace: skipped, not counted as input. */
export const BLANK_LINES: readonly string[] = ['', '   ', '\t', ' \t ', '  \r'];
