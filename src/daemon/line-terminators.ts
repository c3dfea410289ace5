/**
 * A chunk is complete lines, the last one possibly without '\n' (a Kafka message or an HTTP body is a
 * whole event); the ingest stream would carry such a tail over to the next push, and its offset could
 * be committed before it was counted. So such a chunk is copied once into a reused buffer per source
 * partition (at most one chunk of a partition is in flight) with a '\n' added; the others pass as they are.
 */
export class LineTerminators {
  private readonly buffers = new Map<number, Uint8Array>();

  terminated(sourcePartition: number, bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n === 0 || bytes[n - 1] === 0x0a) return bytes;
    let buf = this.buffers.get(sourcePartition);
    if (!buf || buf.length < n + 1) {
      buf = new Uint8Array(Math.max(n + 1, (buf?.length ?? 0) * 2, 4096));
      this.buffers.set(sourcePartition, buf);
    }
    buf.set(bytes, 0);
    buf[n] = 0x0a;
    return buf.subarray(0, n + 1);
  }
}
