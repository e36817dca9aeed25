/**
 * Which CSV files in an inbox are complete. Polling, not file events: drops often land on
 * network or FUSE filesystems where events are unreliable. A `*.csv` file is taken when
 *  - it was renamed into place: its inode was seen under a temporary name (`*.part`, `*.tmp`,
 *    `*~`, dotfile) at an earlier poll, or its metadata changed after its last write (ctime
 *    after mtime, as a rename leaves it); or
 *  - it has been quiet for `settleMs`: unchanged in size and mtime, measured from its mtime
 *    and, once watched, from the poll that last saw it change.
 * Dotfiles and temporary names are never taken. Oldest first.
 */
import { readdirSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';

export interface Candidate {
  name: string;
  path: string;
  mtimeMs: number;
}

interface Seen {
  size: bigint;
  mtimeNs: bigint;
  /** When this poller first saw the current size and mtime (ms). */
  since: number;
}

/** Names the watcher never takes: dotfiles and temporary or partial files. */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || /\.(part|tmp)$/i.test(name) || name.endsWith('~');
}

export function isCsvName(name: string): boolean {
  return /\.csv$/i.test(name) && !isIgnoredName(name);
}

export class InboxScanner {
  private readonly seen = new Map<string, Seen>();
  private tempInodes = new Set<bigint>();

  constructor(
    private readonly inbox: string,
    private readonly settleMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The complete CSV files in the inbox now, oldest first. */
  scan(): Candidate[] {
    const now = this.now();
    const ready: Candidate[] = [];
    const temps = new Set<bigint>();
    const present = new Set<string>();
    for (const entry of readdirSync(this.inbox, { withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(this.inbox, entry.name);
      let st: BigIntStats;
      try {
        st = statSync(path, { bigint: true });
      } catch {
        continue; // moved away between readdir and stat
      }
      if (isIgnoredName(entry.name)) {
        temps.add(st.ino);
        continue;
      }
      if (!isCsvName(entry.name)) continue;
      present.add(entry.name);
      if (this.isComplete(entry.name, st, now)) ready.push({ name: entry.name, path, mtimeMs: Number(st.mtimeNs / 1_000_000n) });
    }
    for (const name of this.seen.keys()) if (!present.has(name)) this.seen.delete(name);
    this.tempInodes = temps;
    return ready.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
  }

  /** Forget a file (taken, or moved away). */
  forget(name: string): void {
    this.seen.delete(name);
  }

  private isComplete(name: string, st: BigIntStats, now: number): boolean {
    const renamedIn = this.tempInodes.has(st.ino) || st.ctimeNs > st.mtimeNs;
    const prev = this.seen.get(name);
    const changed = prev !== undefined && (prev.size !== st.size || prev.mtimeNs !== st.mtimeNs);
    const since = prev === undefined || changed ? (prev === undefined ? Number(st.mtimeNs / 1_000_000n) : now) : prev.since;
    this.seen.set(name, { size: st.size, mtimeNs: st.mtimeNs, since });
    if (changed) return false; // still being written
    return renamedIn || now - since >= this.settleMs;
  }
}
