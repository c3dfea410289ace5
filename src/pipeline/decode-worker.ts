/**
 * Decode pool worker: one task = decode the complete NDJSON lines of one input slot into that slot's
 * columnar batch (decode + filter + key hashes), `__late` = 0 and `__raw` empty. The event-time gate
 * needs input order across the whole source, so the main thread runs it afterwards
 * (event-time-gate.ts); a decode task depends on nothing but its own bytes.
 *
 * Everything fixed for the pool's life (input config, slot buffers) arrives once as workerData; a
 * task message is five numbers. Invalid lines come back in the result as objects (rare path). Row
 * line numbers are RELATIVE to the piece (firstLine is 1 at the slot's first byte): the main thread
 * knows absolute numbers only once earlier pieces are done, and adds the offset in its gate pass.
 */
import { workerData } from 'piscina';
import { createNdjsonDecoder, rawCutEnd, type NdjsonDecoder, type RejectHandler } from '../kernels/decode/ndjson.js';
import type { InputConfig } from '../kernels/input/config.js';
import { BatchView } from '../runtime/batch.js';
import { computeLayout, type BatchLayout } from '../runtime/schema.js';

/** What DecodePool hands every decode worker (structured-cloned once per thread). */
export interface DecodeWorkerSetup {
  input: InputConfig;
  rowsPerSlot: number;
  /** Per slot: the NDJSON bytes the main thread copied in. */
  inputs: SharedArrayBuffer[];
  /** Per slot: one batch (computeLayout(schema, rowsPerSlot)) the task decodes into. */
  batches: SharedArrayBuffer[];
  /** Int32 per slot: the worker stores the task's ticket there last, so the main thread's load orders after the batch writes. */
  done: SharedArrayBuffer;
}

export interface DecodeTask {
  slot: number;
  /** Byte range of the slot's input to decode: complete lines only, except the last one when `final`. */
  start: number;
  end: number;
  /** Relative line number of the line at `start` (1 for a piece's first line). */
  firstLine: number;
  final: boolean;
  ticket: number;
}

export interface RejectedLine {
  /** Relative line number (see DecodeTask.firstLine). */
  line: number;
  reason: string;
  /** The line cut to 4 KiB, as text. */
  raw: string;
}

export interface DecodeTaskResult {
  /** First byte not decoded: < end when the slot's batch ran out of rows or string bytes. */
  endOffset: number;
  linesConsumed: number;
  rowsWritten: number;
  linesRejected: number;
  linesBlank: number;
  rejects: RejectedLine[];
}

const setup = workerData as DecodeWorkerSetup;
// ignoreBOM: a line's leading U+FEFF is part of its raw text (the reference keeps it).
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
let decoder: NdjsonDecoder | null = null;
let layout: BatchLayout | null = null;
const inputs: (Uint8Array | undefined)[] = [];
const batches: (BatchView | undefined)[] = [];
const done = new Int32Array(setup.done);
let rejects: RejectedLine[] = [];

const onReject: RejectHandler = (line, reason, chunk, start, end) => {
  rejects.push({ line, reason, raw: utf8.decode(chunk.subarray(start, rawCutEnd(chunk, start, end))) });
};

export default function decodeTask(task: DecodeTask): DecodeTaskResult {
  decoder ??= createNdjsonDecoder(setup.input);
  layout ??= computeLayout(decoder.schema, setup.rowsPerSlot);
  const s = task.slot;
  const input = (inputs[s] ??= new Uint8Array(setup.inputs[s]));
  const batch = (batches[s] ??= new BatchView(layout, setup.batches[s], 0));
  batch.clear();
  // Pieces hold complete lines, so the decoder never starts one mid-line: its skip state stays off.
  decoder.reset();
  rejects = [];
  const r = decoder.decode(input, task.start, task.end, task.firstLine, batch, onReject, task.final);
  const out: DecodeTaskResult = {
    endOffset: r.endOffset,
    linesConsumed: r.linesConsumed,
    rowsWritten: r.rowsWritten,
    linesRejected: r.linesRejected,
    linesBlank: r.linesBlank,
    rejects,
  };
  rejects = [];
  // Release store after every plain write to the slot's batch (the main thread loads it first).
  Atomics.store(done, s, task.ticket);
  return out;
}
