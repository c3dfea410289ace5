/**
 * The enrich dictionary (value id -> string) mirrored into shared memory, so a worker can write an
 * enriched field's string into a processed event without asking the main thread.
 *
 * Why shared memory: the dim table (dim-table.ts) hands workers value ids whose strings only the
 * main thread's loader knows, and a reload can publish new ids at any moment. Passing strings in the
 * processor options or a task's control would race with that publish (a worker can see a new id
 * before the message carrying its string), and substituting ids on the main thread would cost a
 * rewrite of every line there. Here the loader appends a value's bytes BEFORE it publishes the table
 * version that maps any key to it; publish is an Atomics.store and the reader pins a version with
 * Atomics.load, so a worker that got an id from the table also sees that id's bytes.
 *
 *   SharedArrayBuffer (append-only for the whole run, one writer: the main thread's loader)
 *   +-------------+-----------------------------+----------------------------------------------+
 *   | Int32 count | Int32 ends[maxValues]       | Uint8 literals[capacityBytes]                |
 *   +-------------+-----------------------------+----------------------------------------------+
 *   value i = literals[ends[i-1] .. ends[i])  (ends[-1] = 0): the UTF-8 JSON literal, quotes
 *   included ("europe"), so the serializer copies it without escaping anything per row.
 */
import { ConfigError, KernelError } from '../../errors.js';
import { jsonLiteralBytes } from '../shared/json-bytes.js';

export interface SharedDictionaryShared {
  buffer: SharedArrayBuffer;
  maxValues: number;
  capacityBytes: number;
}

/** Bytes reserved per value by default: region names and the like fit many times over. */
export const DICTIONARY_BYTES_PER_VALUE = 256;

const HEADER_BYTES = 4;

export function createSharedDictionary(maxValues: number, capacityBytes = maxValues * DICTIONARY_BYTES_PER_VALUE): SharedDictionaryShared {
  if (!Number.isInteger(maxValues) || maxValues < 1 || maxValues > 65536) {
    throw new ConfigError('enrich.maxValues', `must be an integer from 1 to 65536, got ${maxValues}`);
  }
  // Pages not yet written are never touched, so a generous reservation costs address space only.
  return { buffer: new SharedArrayBuffer(HEADER_BYTES + maxValues * 4 + capacityBytes), maxValues, capacityBytes };
}

interface Views {
  count: Int32Array;
  ends: Int32Array;
  literals: Uint8Array;
}

function views(shared: SharedDictionaryShared): Views {
  return {
    count: new Int32Array(shared.buffer, 0, 1),
    ends: new Int32Array(shared.buffer, HEADER_BYTES, shared.maxValues),
    literals: new Uint8Array(shared.buffer, HEADER_BYTES + shared.maxValues * 4, shared.capacityBytes),
  };
}

/** Main thread: appends values in id order (the loader's dictionary order). */
export class SharedDictionaryWriter {
  private readonly v: Views;
  constructor(readonly shared: SharedDictionaryShared) {
    this.v = views(shared);
  }

  get count(): number {
    return Atomics.load(this.v.count, 0);
  }

  /** Appends `value` as the next id and returns that id. Throws (nothing appended) when full. */
  append(value: string): number {
    const { count, ends, literals } = this.v;
    const id = Atomics.load(count, 0);
    if (id >= this.shared.maxValues) {
      throw new ConfigError('enrich.maxValues', `more than ${this.shared.maxValues} distinct values over the run`);
    }
    const bytes = jsonLiteralBytes(value);
    const start = id === 0 ? 0 : ends[id - 1];
    if (start + bytes.length > literals.length) {
      throw new ConfigError('enrich.maxValues',
        `the values' ${start + bytes.length} bytes exceed the shared dictionary's ${literals.length} (${DICTIONARY_BYTES_PER_VALUE} per value)`);
    }
    literals.set(bytes, start);
    ends[id] = start + bytes.length;
    // Release: the bytes and the end are visible to any thread that reads the new count.
    Atomics.store(count, 0, id + 1);
    return id;
  }
}

/** Worker side: the JSON literal of a value id, in place. */
export class SharedDictionaryReader {
  readonly literals: Uint8Array;
  readonly ends: Int32Array;
  private readonly countView: Int32Array;

  constructor(shared: SharedDictionaryShared) {
    const v = views(shared);
    this.literals = v.literals;
    this.ends = v.ends;
    this.countView = v.count;
  }

  /** Values published so far (acquire: their bytes are visible). */
  count(): number {
    return Atomics.load(this.countView, 0);
  }

  start(id: number): number {
    return id === 0 ? 0 : this.ends[id - 1];
  }

  end(id: number): number {
    return this.ends[id];
  }

  /** Throws when `id` was never published: the enrich kernel and the dictionary disagree. */
  static unknownId(id: number, count: number): never {
    throw new KernelError(`enriched value id ${id} is not in the shared dictionary (${count} values): was it appended before the table was published?`);
  }
}
