/**
 * One watcher per inbox. The lock is an exclusive SQLite transaction held open on
 * `<inbox>/.canvas-letters/watch.lock` for the watcher's whole life: the operating system
 * drops it when the process ends in any way (even SIGKILL), so a lock left by a killed
 * watcher never needs cleaning up and two watchers can never both hold it. Beside it,
 * `watch.owner.json` names the holder (pid, host, start) for the message a second watcher prints.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CanvasLettersError } from '../errors.js';
import { showName } from '../escape.js';
import { checkPath, ensurePrivateFile, removeFile, writePrivateFile } from '../fsutil.js';

export interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

/** Another live watcher holds the inbox. */
export class WatchLockedError extends CanvasLettersError {
  readonly owner?: LockOwner;

  constructor(inbox: string, owner?: LockOwner) {
    super(
      owner
        ? `${showName(inbox)}: already watched by process ${owner.pid} on ${showName(String(owner.host))} (since ${showName(String(owner.startedAt))})`
        : `${showName(inbox)}: already watched by another process`,
      'one watcher per inbox: stop the other one, or wait for its --once run to finish',
    );
    this.owner = owner;
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    if (!checkPath(file, 'file')) return undefined;
    const owner = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
    return typeof owner.pid === 'number' ? owner : undefined;
  } catch {
    return undefined;
  }
}

export class InboxLock {
  private constructor(
    private readonly db: Database.Database,
    private readonly ownerFile: string,
    readonly owner: LockOwner,
  ) {}

  /** Take the inbox lock (state folder must exist); throws WatchLockedError when it is held. */
  static acquire(inbox: string, stateDir: string): InboxLock {
    const ownerFile = join(stateDir, 'watch.owner.json');
    const file = join(stateDir, 'watch.lock');
    checkPath(ownerFile, 'file'); // refuse a symlink or FIFO before taking the lock
    ensurePrivateFile(file);
    const db = new Database(file, { timeout: 0 });
    try {
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) throw new WatchLockedError(inbox, readOwner(ownerFile));
      throw err;
    }
    const owner: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    try {
      writePrivateFile(ownerFile, JSON.stringify(owner) + '\n', { replace: true });
    } catch (err) {
      db.exec('ROLLBACK');
      db.close();
      throw err;
    }
    return new InboxLock(db, ownerFile, owner);
  }

  release(): void {
    if (!this.db.open) return;
    const holder = readOwner(this.ownerFile);
    if (holder?.pid === this.owner.pid && holder.startedAt === this.owner.startedAt) removeFile(this.ownerFile);
    this.db.exec('ROLLBACK');
    this.db.close();
  }
}
