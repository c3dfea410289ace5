/**
 * Main-thread loader of a CSV dimension table into shared memory (dim-table.ts), with reload on
 * file change. Cold path: runs at start and when the file changes, so plain strings and Maps are fine.
 *
 * CSV per RFC 4180: the first record is the header; fields may be quoted with `"`, a quoted field may
 * hold commas, CR/LF and `""` for a quote; records end in CRLF or LF; a final line break is optional.
 * Keys and values are taken verbatim (no trimming). A blank line (no fields) is skipped.
 *
 * Change detection polls the file's mtime and size (fs.watch misses editors that replace the file by
 * renaming, and polling a dim table every second costs nothing). A failed reload (missing file, bad
 * CSV, too many rows) keeps the previous table and reports the error.
 */
import { readFile, stat } from 'node:fs/promises';
import { ConfigError, DimTableError } from '../../errors.js';
import { DimTableWriter, type DimTableShared } from './dim-table.js';
import { SharedDictionaryWriter } from './shared-dictionary.js';
import { hash64Into } from '../shared/xxhash32.js';

export interface DimTableSource {
  path: string;
  keyColumn: string;
  valueColumn: string;
  /** Value of keys not in the table; gets id 0. */
  defaultValue: string;
}

/** Parse RFC 4180 CSV text into records of fields. Throws on an unterminated quote or a stray quote. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let fieldBegun = false; // the current field consumed a character or a quote
  let recordBegun = false; // the current record has a character or a comma
  const endRecord = (): void => {
    if (recordBegun) { record.push(field); records.push(record); }
    record = []; field = ''; fieldBegun = false; recordBegun = false;
  };
  const n = text.length;
  let i = 0;
  while (i < n) {
    const ch = text[i];
    if (ch === '"' && !fieldBegun) {
      const start = i++;
      for (;;) {
        if (i >= n) throw new SyntaxError(`unterminated quoted field starting at character ${start}`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += text[i++];
      }
      fieldBegun = true;
      recordBegun = true;
      if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
        throw new SyntaxError(`unexpected character after a closing quote at character ${i}`);
      }
      continue;
    }
    if (ch === ',') { record.push(field); field = ''; fieldBegun = false; recordBegun = true; i++; continue; }
    if (ch === '\r' && text[i + 1] === '\n') { endRecord(); i += 2; continue; }
    if (ch === '\n' || ch === '\r') { endRecord(); i++; continue; }
    if (ch === '"') throw new SyntaxError(`a quote inside an unquoted field at character ${i}`);
    field += ch;
    fieldBegun = true;
    recordBegun = true;
    i++;
  }
  endRecord();
  return records;
}

export class DimTableLoader {
  readonly shared: DimTableShared;
  readonly source: DimTableSource;
  /** id -> value string; append-only for the whole run, id 0 is the default. */
  readonly dictionary: string[];
  private readonly ids = new Map<string, number>();
  private readonly writer: DimTableWriter;
  /** Same ids as `dictionary`, appended before publish() so a worker that gets an id also sees its bytes. */
  private readonly sharedDictionary: SharedDictionaryWriter;
  private timer: NodeJS.Timeout | null = null;
  private lastSignature = '';
  private failedSignature = '';
  private loading: Promise<number> | null = null;

  constructor(shared: DimTableShared, source: DimTableSource) {
    this.shared = shared;
    this.source = source;
    this.writer = new DimTableWriter(shared);
    this.sharedDictionary = new SharedDictionaryWriter(shared.dictionary);
    this.sharedDictionary.append(source.defaultValue);
    this.dictionary = [source.defaultValue];
    this.ids.set(source.defaultValue, 0);
  }

  get version(): number { return this.writer.version; }

  /** Read, parse and publish the file now. Resolves with the published version. */
  load(): Promise<number> {
    // Serialise loads: a poll tick during a slow load must not publish twice into the same region.
    const run = async (): Promise<number> => {
      const st = await stat(this.source.path).catch((err: unknown) => {
        throw new DimTableError(`cannot stat ${this.source.path}`, { cause: err });
      });
      const text = await readFile(this.source.path, 'utf8');
      const { hashes, valueIds } = this.encode(parseCsv(text));
      while (!this.writer.canPublish()) await new Promise((r) => setTimeout(r, 1));
      const version = this.writer.publish(hashes, valueIds, this.dictionary.length);
      this.lastSignature = `${st.mtimeMs}:${st.size}`;
      return version;
    };
    const p = (this.loading ?? Promise.resolve(0)).catch(() => 0).then(run);
    this.loading = p;
    return p;
  }

  private encode(records: string[][]): { hashes: Uint32Array; valueIds: Int32Array } {
    const at = 'enrich.table';
    if (records.length === 0) throw new ConfigError(at, `${this.source.path} is empty: a header row is needed`);
    const header = records[0];
    const keyAt = header.indexOf(this.source.keyColumn);
    const valueAt = header.indexOf(this.source.valueColumn);
    if (keyAt < 0) throw new ConfigError(`${at}.keyColumn`, `no column "${this.source.keyColumn}" in ${this.source.path}`);
    if (valueAt < 0) throw new ConfigError(`${at}.valueColumn`, `no column "${this.source.valueColumn}" in ${this.source.path}`);
    const rows = records.length - 1;
    const hashes = new Uint32Array(rows * 2);
    const valueIds = new Int32Array(rows);
    const encoder = new TextEncoder();
    for (let r = 0; r < rows; r++) {
      const rec = records[r + 1];
      if (rec.length !== header.length) {
        throw new ConfigError(at, `${this.source.path} record ${r + 2} has ${rec.length} fields, the header has ${header.length}`);
      }
      const key = encoder.encode(rec[keyAt]);
      hash64Into(key, 0, key.length, hashes, 2 * r);
      valueIds[r] = this.idOf(rec[valueAt]);
    }
    return { hashes, valueIds };
  }

  private idOf(value: string): number {
    let id = this.ids.get(value);
    if (id === undefined) {
      if (this.dictionary.length >= this.shared.maxValues) {
        throw new ConfigError('enrich.maxValues', `more than ${this.shared.maxValues} distinct values over the run`);
      }
      id = this.sharedDictionary.append(value);
      this.dictionary.push(value);
      this.ids.set(value, id);
    }
    return id;
  }

  /** Poll the file every `intervalMs` and reload on a change of mtime or size. */
  watch(intervalMs: number, onReload: (version: number) => void, onError: (err: unknown) => void): void {
    this.unwatch();
    const tick = async (): Promise<void> => {
      let signature = '';
      try {
        const st = await stat(this.source.path);
        signature = `${st.mtimeMs}:${st.size}`;
        // A file that failed to load is retried only once it changes again: one error per bad version.
        if (signature === this.lastSignature || signature === this.failedSignature) return;
        onReload(await this.load());
      } catch (err) {
        this.failedSignature = signature;
        onError(err);
      }
    };
    this.timer = setInterval(() => { void tick(); }, intervalMs);
    this.timer.unref();
  }

  unwatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
