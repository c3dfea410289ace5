/**
 * What a generator source needs from an event generator: the next NDJSON line, without its
 * newline. Implementations are seeded and deterministic: the same options give the same lines.
 */
export interface LineGenerator {
  nextLine(): string;
}

/**
 * An optional allocation-free path a generator may offer: write the next line and its '\n' into
 * `buffer` at `offset` and return the offset after it. Needs `maxLineBytes` of room.
 */
export interface LineWriter {
  writeNdjson(buffer: Buffer, offset: number): number;
  readonly maxLineBytes: number;
}
