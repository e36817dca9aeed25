/**
 * Every file and folder the tool creates, writes, moves or changes the mode of goes through
 * here (the contract's "Files the tool writes"):
 *  - the last component of a path is never followed: it is checked with `lstat`, and a
 *    symbolic link, device, FIFO or socket is refused (UnsafePathError, exit 2) before
 *    anything is written; files are opened with O_NOFOLLOW (and O_NONBLOCK, so a FIFO swapped
 *    in meanwhile can never block);
 *  - new files are created with O_CREAT|O_EXCL, so nothing that exists is ever truncated or
 *    overwritten; a file that is replaced is written under a fresh temporary name (also
 *    O_EXCL) and renamed over;
 *  - modes are set with fchmod on a descriptor this module opened on what it created itself:
 *    files 0600 and folders 0700 whatever the umask. A path is never chmod'ed, and a file or
 *    folder that already existed keeps its mode.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CanvasLettersError } from './errors.js';
import { showName } from './escape.js';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, O_DIRECTORY } = constants;

/** A path the tool will not create, write, move into or change: a symlink, a device, a FIFO, or in the way. */
export class UnsafePathError extends CanvasLettersError {
  readonly path: string;

  constructor(path: string, why: string, hint?: string) {
    super(`${showName(path)} ${why}`, hint);
    this.path = path;
  }
}

/** Makes the error a refusal is thrown as (e.g. LedgerError for the ledger's files). */
export type Refusal = (message: string, hint: string) => Error;

/** The refusal of `path` for `why`, as `refuse` makes it or else as an UnsafePathError. */
function fail(path: string, why: string, hint: string, refuse?: Refusal): Error {
  return refuse ? refuse(`${showName(path)} ${why}`, hint) : new UnsafePathError(path, why, hint);
}

export type Want = 'file' | 'folder';

/** What `describeKind` needs of a Stats (or BigIntStats). */
export type Kind = Pick<Stats, 'isSymbolicLink' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket' | 'isDirectory' | 'isFile'>;

/** What a path that is not the wanted kind is, in words: `is a symbolic link`, `is a FIFO (named pipe)`. */
export function describeKind(st: Kind): string {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (st.isFIFO()) return 'is a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'is a character device';
  if (st.isBlockDevice()) return 'is a block device';
  if (st.isSocket()) return 'is a socket';
  if (st.isDirectory()) return 'is a folder, not a file';
  if (st.isFile()) return 'is a file, not a folder';
  return 'is not a regular file or folder';
}

function hintFor(st: Stats, want: Want): string {
  if (st.isSymbolicLink()) return `canvas-letters never follows a symbolic link it did not make: give the real ${want}'s path, or remove the link`;
  return `give the path of a regular ${want === 'file' ? 'file' : 'folder'}`;
}

/** The refusal for `path`, which is `st` but should be a `want`. */
export function refusalFor(path: string, st: Stats, want: Want, refuse?: Refusal): Error {
  return fail(path, describeKind(st), hintFor(st, want), refuse);
}

/** `lstat`, or undefined when nothing is there. */
export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Check the last component of `path` without following it: undefined when nothing is there,
 * its Stats when it is a regular file (`file`) or a real folder (`folder`); anything else
 * (a symlink, a device, a FIFO, a socket, the other kind) is refused.
 */
export function checkPath(path: string, want: Want, refuse?: Refusal): Stats | undefined {
  const st = lstatOrUndefined(path);
  if (st === undefined) return undefined;
  if (want === 'file' ? st.isFile() : st.isDirectory()) return st;
  throw refusalFor(path, st, want, refuse);
}

/**
 * Create a folder (and missing parents) as 0700. Folders that already existed are left as
 * they are (never chmod'ed). `dir` itself must not be a symlink or anything but a folder;
 * folders above it may be reached through symlinks (they are the user's).
 */
export function mkdirPrivate(dir: string): { created: boolean } {
  return { created: makeDir(resolve(dir), true) };
}

/** Make sure the folder `file` goes in exists (created 0700 when missing); it may be reached through symlinks. */
export function ensureParentDir(file: string): void {
  makeDir(dirname(resolve(file)), false);
}

function makeDir(abs: string, strict: boolean): boolean {
  const st = lstatOrUndefined(abs);
  if (st !== undefined) {
    if (st.isDirectory()) return false;
    if (!strict && st.isSymbolicLink() && statSync(abs).isDirectory()) return false;
    throw refusalFor(abs, st, 'folder');
  }
  const parent = dirname(abs);
  if (parent !== abs) makeDir(parent, false);
  try {
    mkdirSync(abs, PRIVATE_DIR_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return makeDir(abs, strict); // made meanwhile by someone else: theirs
  }
  // mkdir's mode is filtered by the umask: set it on the folder this call made, through a descriptor.
  const fd = openSync(abs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    if (!fstatSync(fd).isDirectory()) throw new UnsafePathError(abs, 'changed while it was being created');
    fchmodSync(fd, PRIVATE_DIR_MODE);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Create a new file 0600 and return its descriptor (write-only, or read-write with `read`).
 * Never opens anything that exists: an existing path is refused, naming what it is.
 */
export function createPrivateFile(file: string, opts: { read?: boolean; refuse?: Refusal } = {}): number {
  let fd: number;
  try {
    fd = openSync(file, O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | (opts.read ? O_RDWR : O_WRONLY), PRIVATE_FILE_MODE);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const st = lstatOrUndefined(file);
    if (st && !st.isFile()) throw refusalFor(file, st, 'file', opts.refuse);
    throw fail(file, 'already exists', 'canvas-letters never overwrites a file it did not create: move it away, or choose another path', opts.refuse);
  }
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Make sure `file` exists as a regular file (created 0600 when missing); true when this call created it. */
export function ensurePrivateFile(file: string, refuse?: Refusal): boolean {
  if (checkPath(file, 'file', refuse)) return false;
  try {
    closeSync(createPrivateFile(file, refuse ? { refuse } : {}));
    return true;
  } catch (err) {
    if (checkPath(file, 'file', refuse)) return false; // made meanwhile by another process
    throw err;
  }
}

export interface WriteOptions {
  /** Replace the file if it exists (through a temporary file and a rename); otherwise an existing file is refused. */
  replace?: boolean;
  /** fsync the data before the file is put in place. */
  fsync?: boolean;
}

/** Write a whole file as 0600, creating its folder 0700 if missing. */
export function writePrivateFile(file: string, data: string | Uint8Array, opts: WriteOptions = {}): void {
  mkdirPrivate(dirname(file));
  if (!opts.replace) {
    writeAll(createPrivateFile(file), data, opts.fsync);
    return;
  }
  checkPath(file, 'file');
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeAll(createPrivateFile(tmp), data, opts.fsync);
    renameSync(tmp, file);
  } catch (err) {
    removeFile(tmp);
    throw err;
  }
}

function writeAll(fd: number, data: string | Uint8Array, fsync = false): void {
  try {
    writeFileSync(fd, data);
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Remove a file if it is there (unlink: a symlink itself is removed, never what it points to). */
export function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Move `from` to `to` (a rename) without replacing anything at `to`. */
export function moveNoReplace(from: string, to: string): void {
  const st = lstatOrUndefined(to);
  if (st !== undefined) {
    throw new UnsafePathError(to, 'already exists', 'canvas-letters never replaces a file it did not create: move it away');
  }
  renameSync(from, to);
}

/**
 * Get the ledger's file ready for SQLite: its folder exists, and the file is either new
 * (created here, 0600) or an existing regular file; `-wal` and `-shm`, when present, are
 * regular files. A symlink, device or FIFO is refused (never opened: a FIFO would block).
 * An existing empty file is not a new ledger: the ledger refuses it once it stays empty.
 */
export function prepareLedgerFile(file: string, refuse?: Refusal): { created: boolean } {
  ensureParentDir(file);
  for (const side of [`${file}-wal`, `${file}-shm`]) checkPath(side, 'file', refuse);
  // A file another process created between the check and the create is opened, not refused; an
  // existing empty file is judged by the ledger (it may be being made a database right now).
  return { created: ensurePrivateFile(file, refuse) };
}

/**
 * Read a whole file that must be a regular file, never through a symlink (O_NOFOLLOW, and the
 * descriptor checked with fstat: a FIFO or device is refused, never read; O_NONBLOCK so one
 * swapped in can never block). Undefined when nothing is there.
 */
export function readRegularFile(file: string, refuse?: Refusal): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    const st = lstatOrUndefined(file);
    if (st && !st.isFile()) throw refusalFor(file, st, 'file', refuse);
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refusalFor(file, st, 'file', refuse);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
