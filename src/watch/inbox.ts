/**
 * Which CSV files in an inbox are complete. Polling, not file events: drops often land on
 * network or FUSE filesystems where events are unreliable. A `*.csv` file is taken when
 *  - it was renamed into place: its inode was seen under a temporary name (`*.part`, `*.tmp`,
 *    `*~`, dotfile) at an earlier poll, or its metadata changed after its last write (ctime
 *    after mtime, as a rename leaves it); or
 *  - it has been quiet for `settleMs`: unchanged in size and mtime, measured from its mtime
 *    and, once watched, from the poll that last saw it change.
 * Dotfiles and temporary names are never taken. Oldest first. A `*.csv` entry that is a
 * symlink or not a regular file (a FIFO, a device, a folder) is never taken either: it is
 * reported once (takeRefused) and left where it is.
 */
import { lstatSync, readdirSync, type BigIntStats } from 'node:fs';
import { describeKind } from '../fsutil.js';
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

export interface Refused {
  name: string;
  /** What it is instead of a regular file: `is a symbolic link`. */
  why: string;
}

export class InboxScanner {
  private readonly seen = new Map<string, Seen>();
  private tempInodes = new Set<bigint>();
  private readonly reported = new Set<string>();
  private refused: Refused[] = [];

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
    const odd = new Set<string>();
    for (const entry of readdirSync(this.inbox, { withFileTypes: true })) {
      const path = join(this.inbox, entry.name);
      let st: BigIntStats;
      try {
        st = lstatSync(path, { bigint: true });
      } catch {
        continue; // moved away between readdir and stat
      }
      if (!st.isFile()) {
        if (isCsvName(entry.name)) {
          odd.add(entry.name);
          if (!this.reported.has(entry.name)) this.refused.push({ name: entry.name, why: describeKind(st) });
        }
        continue;
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
    for (const r of this.refused) this.reported.add(r.name);
    for (const name of this.reported) if (!odd.has(name)) this.reported.delete(name);
    this.tempInodes = temps;
    return ready.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
  }

  /** The `*.csv` entries found by scans since the last call that are not regular files (each reported once while it stays). */
  takeRefused(): Refused[] {
    const r = this.refused;
    this.refused = [];
    return r;
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
