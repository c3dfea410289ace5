/**
 * Readiness (/readyz) of a running daemon: not failed, not shutting down, the source joined its
 * consumer group, no sink failing. Every reason it is not ready is listed, for the operator.
 */
import type { SinkCounters } from '../../sinks/sink.js';
import type { SourceGroupState } from '../../sources/source.js';

export interface ReadinessFacts {
  fatal: Error | undefined;
  shuttingDown: boolean;
  group: SourceGroupState | null;
}

export async function readiness(facts: ReadinessFacts, sinkCounters: () => Promise<Record<string, SinkCounters>>): Promise<{ ready: boolean; reasons: string[] }> {
  const reasons: string[] = [];
  if (facts.fatal) reasons.push(`failed: ${facts.fatal.message}`);
  if (facts.shuttingDown) reasons.push('shutting down');
  if (facts.group !== null && facts.group.joins === 0) reasons.push('the source has not joined its consumer group yet');
  const sinks = await sinkCounters().catch(() => null);
  if (sinks === null) reasons.push('the sink thread does not answer');
  else for (const [name, c] of Object.entries(sinks)) if (c.failing) reasons.push(`sink ${name} is failing (retrying)`);
  return { ready: reasons.length === 0, reasons };
}
