/**
 * The ledger's errors: every SQLite error of every ledger operation arrives as a LedgerError
 * that names the file once, with a hint by SQLite result code.
 */
import { CanvasLettersError } from '../errors.js';
import { showName } from '../escape.js';

/**
 * The ledger cannot be used (unreadable, damaged, not a ledger, another instance's, full disk,
 * locked): every SQLite error of every ledger operation arrives as one, naming the file (exit 2).
 */
export class LedgerError extends CanvasLettersError {}

/** The ledger belongs to another Canvas instance than the run's CANVAS_BASE_URL. */
export class LedgerOriginError extends LedgerError {}

/** The database stayed locked by another process past the busy timeout. */
export class LedgerBusyError extends LedgerError {}

export const RESTORE_HINT = 'restore it from a backup (do not delete it or start a new ledger: the letters it recorded as sent would be sent again); if it is not your ledger, move it aside and give the right --ledger path';

/**
 * Any SQLite error of a ledger operation as a LedgerError that names the file once (no "ledger:"
 * prefix: callers add their own). Other errors (programming errors) pass unchanged.
 */
export function ledgerError(e: unknown, path: string, busyTimeoutMs: number, doing: string): unknown {
  if (e instanceof LedgerError) return e;
  const code = sqliteCode(e);
  if (code === undefined) return e;
  if (isBusy(e) || code.startsWith('SQLITE_LOCKED')) return new LedgerBusyError(busyMessage(path, busyTimeoutMs));
  const primary = /^SQLITE_[A-Z]+/.exec(code)?.[0] ?? code;
  return new LedgerError(
    `${showName(path)}: ${doing} failed (${code}: ${showName((e as Error).message)})`,
    HINTS[primary] ?? 'check the ledger file and its disk, then run again',
  );
}

export function sqliteCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

export function busyMessage(path: string, ms: number): string {
  return `${showName(path)}: the ledger stayed locked by another process for more than ${ms} ms`;
}

/** Hints by SQLite primary result code. */
const HINTS: Readonly<Record<string, string>> = {
  SQLITE_FULL: 'the disk holding the ledger is full: free space there, then run again (letters in flight stay pending and are reported unknown)',
  SQLITE_IOERR: 'the disk or file system failed: check it, then run again',
  SQLITE_CORRUPT: RESTORE_HINT,
  SQLITE_NOTADB: RESTORE_HINT,
  SQLITE_READONLY: 'make the ledger file and its folder writable by this user',
  SQLITE_CANTOPEN: 'check the --ledger path, its folder and their permissions',
  SQLITE_PERM: 'make the ledger file and its folder writable by this user',
};
