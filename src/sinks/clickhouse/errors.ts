/**
 * Classifies ClickHouse failures. ClickHouse 18.16 returns a plain Error whose text starts with
 * `Code: N, e.displayText() = DB::Exception: ...` (newer servers add a type suffix), so the code is
 * parsed from the text. Vector's clickhouse sink does the same and refuses to retry 117 and 53:
 * data the server rejected will be rejected again. Unknown codes are retried (bounded by the budget),
 * because a server-side condition we did not foresee is more often transient than permanent.
 */
import { errorMessage, networkErrorCode, type ErrorVerdict } from '../retry.js';

/** The rows themselves are wrong: retrying cannot help, but other rows of the batch may be fine. */
const ROW_LEVEL_CODES = new Set([
  6, // CANNOT_PARSE_TEXT
  26, // CANNOT_PARSE_QUOTED_STRING
  27, // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  38, // CANNOT_PARSE_DATE
  41, // CANNOT_PARSE_DATETIME
  53, // TYPE_MISMATCH
  69, // ARGUMENT_OUT_OF_BOUND
  70, // CANNOT_CONVERT_TYPE
  72, // CANNOT_PARSE_NUMBER
  117, // INCORRECT_DATA (e.g. unknown JSONEachRow field)
  321, // VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
]);

/** The request or the schema is wrong: every row would fail the same way. */
const REQUEST_LEVEL_CODES = new Set([
  16, // NO_SUCH_COLUMN_IN_TABLE
  43, // ILLEGAL_TYPE_OF_ARGUMENT
  44, // ILLEGAL_COLUMN
  47, // UNKNOWN_IDENTIFIER
  57, // TABLE_ALREADY_EXISTS
  62, // SYNTAX_ERROR
  73, // UNKNOWN_FORMAT
  115, // UNKNOWN_SETTING
  164, // READONLY
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  194, // REQUIRED_PASSWORD
  195, // IP_ADDRESS_NOT_ALLOWED
  497, // ACCESS_DENIED
  516, // AUTHENTICATION_FAILED
]);

export const CH_UNKNOWN_TABLE = 60;
export const CH_UNKNOWN_DATABASE = 81;

/** The `N` of a `Code: N` error text, or undefined when the error did not come from the server. */
export function clickHouseErrorCode(err: unknown): number | undefined {
  const message = errorMessage(err);
  const match = /^\s*Code:\s*(\d+)/.exec(message);
  if (match) return Number(match[1]);
  const code = (err as { code?: unknown } | null)?.code;
  // Newer @clickhouse/client versions parse the code into `err.code` as a numeric string.
  if (typeof code === 'string' && /^\d+$/.test(code)) return Number(code);
  return undefined;
}

/** First line of the server text without the `e.what()` trailer, short enough for a dead letter. */
function shortMessage(err: unknown): string {
  const text = errorMessage(err).replace(/, e\.what\(\) = DB::Exception\s*$/s, '').trim();
  return text.length > 1000 ? `${text.slice(0, 1000)}...` : text;
}

/**
 * `createMissing` is called before the next attempt when the table or database is missing
 * (someone dropped it, or it was never created): the sink recreates it and retries.
 */
export function classifyClickHouseError(err: unknown, createMissing?: () => Promise<void>): ErrorVerdict {
  const message = shortMessage(err);
  const chCode = clickHouseErrorCode(err);
  if (chCode !== undefined) {
    const code = `clickhouse:${chCode}`;
    if (chCode === CH_UNKNOWN_TABLE || chCode === CH_UNKNOWN_DATABASE) {
      return createMissing
        ? { retriable: true, code, message, fix: createMissing }
        : { retriable: false, code, message };
    }
    if (ROW_LEVEL_CODES.has(chCode)) return { retriable: false, rowLevel: true, code, message };
    if (REQUEST_LEVEL_CODES.has(chCode)) return { retriable: false, code, message };
    return { retriable: true, code, message };
  }
  const network = networkErrorCode(err);
  if (network) return { retriable: true, code: network, message };
  return { retriable: false, code: 'clickhouse:client', message };
}
