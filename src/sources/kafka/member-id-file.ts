/**
 * The consumer's group member id, kept in a file so a daemon restarted after a crash rejoins as the
 * member it was. The coordinator then hands it its partitions back at once; a new member id would
 * wait until the dead member's session times out (sessionTimeoutMs) before the group can rebalance.
 * Kafka's static membership (group.instance.id) solves the same problem in the Java client; kafkajs
 * has no static membership, so the id is reused through the JoinGroup request itself. A member id
 * the coordinator no longer knows is refused with UNKNOWN_MEMBER_ID and kafkajs joins as a new member.
 *
 * The file names the process that wrote it. A live process other than this one means another daemon
 * uses the file: its id is left alone (two live consumers with one member id would fence each other).
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

interface MemberRecord {
  groupId: string;
  memberId: string;
  pid: number;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class MemberIdFile {
  /** Whether this process may write the file (no other live process owns it). */
  private owned = true;

  constructor(private readonly path: string, private readonly groupId: string) {}

  /** The member id a crashed run of this daemon left, or null (none, another group, or another live daemon's). */
  async previous(): Promise<string | null> {
    let record: MemberRecord;
    try {
      record = JSON.parse(await readFile(this.path, 'utf8')) as MemberRecord;
    } catch {
      return null;
    }
    if (alive(record.pid)) {
      this.owned = false;
      return null;
    }
    return record.groupId === this.groupId && typeof record.memberId === 'string' && record.memberId !== '' ? record.memberId : null;
  }

  /** Records the id this process joined with (each join; written whole, then renamed into place). */
  async joined(memberId: string): Promise<void> {
    if (!this.owned || memberId === '') return;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify({ groupId: this.groupId, memberId, pid: process.pid } satisfies MemberRecord));
    await rename(tmp, this.path);
  }

  /** The member left the group cleanly: its id is of no use to a next run. */
  async left(): Promise<void> {
    if (this.owned) await rm(this.path, { force: true });
  }
}
