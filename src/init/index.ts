/**
 * `init`: write a working starting project into a folder: the files of the package's `starter/`
 * folder (a letter template, its letterhead partial, styles.css, a signature image, a sample CSV,
 * `.env.example` and `canvas-letters.config.json`), copied byte for byte.
 *
 * It never overwrites: a file that is already there is skipped (kept as it is), and every file is
 * created new through fsutil (O_CREAT|O_EXCL|O_NOFOLLOW, 0600; folders 0700, like everything the
 * tool writes: the project is where the practice's CSV exports will go). A symbolic link, device,
 * FIFO or folder where a file should go, or anything but a real folder where a folder should go,
 * is never followed: every path is checked first, and any such path refuses the whole run before
 * anything is written. Returns what it wrote and skipped; never prints.
 */
import { closeSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CanvasLettersError } from '../errors.js';
import { showName } from '../escape.js';
import { UnsafePathError, checkPath, createPrivateFile, describeKind, lstatOrUndefined, mkdirPrivate, removeFile } from '../fsutil.js';

/** The package's starter project (`starter/`, shipped in the package beside `dist/`). */
export const STARTER_DIR = fileURLToPath(new URL('../../starter/', import.meta.url));

export interface InitOptions {
  /** The folder whose files are copied (default: the package's `starter/`). */
  starter?: string;
}

export interface InitResult {
  /** The project folder, absolute. */
  dir: string;
  /** True when this run made the folder. */
  createdDir: boolean;
  /** Files written, relative to `dir` with `/` separators, in the order of the starter. */
  written: string[];
  /** Files left as they were because something was already there. */
  skipped: string[];
}

/** A path of the project that init will not write into or follow. */
export interface InitRefusal {
  /** Relative to the project folder, with `/` separators. */
  path: string;
  /** What is there, in words (`is a symbolic link`). */
  why: string;
}

/** Something is in the way (a symlink, a device, a file where a folder goes): nothing was written. */
export class InitRefusedError extends CanvasLettersError {
  readonly dir: string;
  readonly refused: readonly InitRefusal[];

  constructor(dir: string, refused: readonly InitRefusal[]) {
    super(
      `cannot set up ${showName(dir)}: ${refused.map((r) => `${showName(r.path)} ${r.why}`).join('; ')}`,
      `init never follows a symbolic link or replaces what is in the way, and wrote nothing: move ${refused.length === 1 ? 'it' : 'them'} away, or set up another folder`,
    );
    this.dir = dir;
    this.refused = refused;
  }
}

interface Entry {
  /** Relative path, `/` separators. */
  rel: string;
  kind: 'file' | 'folder';
}

/** The starter's files and folders: in each folder, its files (sorted) before its subfolders. */
export function starterEntries(starter: string = STARTER_DIR, under = ''): Entry[] {
  const items = readdirSync(join(starter, under), { withFileTypes: true });
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const prefix = under === '' ? '' : `${under}/`;
  const files: Entry[] = items.filter((d) => d.isFile()).sort(byName).map((d) => ({ rel: prefix + d.name, kind: 'file' }));
  const folders = items.filter((d) => d.isDirectory()).sort(byName);
  return [...files, ...folders.flatMap((d) => [{ rel: prefix + d.name, kind: 'folder' as const }, ...starterEntries(starter, prefix + d.name)])];
}

type Plan = { entry: Entry; action: 'create' | 'keep' }[];

/** What to do with each entry in an existing `dir`; the paths that refuse the run. */
function plan(dir: string, entries: readonly Entry[]): { steps: Plan; refused: InitRefusal[] } {
  const steps: Plan = [];
  const refused: InitRefusal[] = [];
  const blocked: string[] = [];
  for (const entry of entries) {
    if (blocked.some((b) => entry.rel.startsWith(`${b}/`))) continue; // inside a refused folder: named once
    const st = lstatOrUndefined(join(dir, entry.rel));
    const ok = st === undefined || (entry.kind === 'file' ? st.isFile() : st.isDirectory());
    if (ok) {
      steps.push({ entry, action: st === undefined ? 'create' : 'keep' });
      continue;
    }
    refused.push({ path: entry.rel, why: describeKind(st) });
    if (entry.kind === 'folder') blocked.push(entry.rel);
  }
  return { steps, refused };
}

/**
 * Write the starter project into `dir` (created, with missing parents, when it is not there;
 * refused when it is a symlink or not a folder). Existing files are skipped, never changed.
 */
export function initProject(dir: string, opts: InitOptions = {}): InitResult {
  const abs = resolve(dir);
  const starter = opts.starter ?? STARTER_DIR;
  const entries = starterEntries(starter);
  const exists = checkPath(abs, 'folder') !== undefined; // a symlink or a file here is refused
  const { steps, refused } = exists ? plan(abs, entries) : { steps: entries.map((entry) => ({ entry, action: 'create' as const })), refused: [] };
  if (refused.length > 0) throw new InitRefusedError(abs, refused);

  const result: InitResult = { dir: abs, createdDir: mkdirPrivate(abs).created, written: [], skipped: [] };
  for (const { entry, action } of steps) {
    const target = join(abs, entry.rel);
    if (entry.kind === 'folder') {
      mkdirPrivate(target); // refuses a symlink put there since the plan
    } else if (action === 'keep' || !writeNew(target, readFileSync(join(starter, entry.rel)))) {
      result.skipped.push(entry.rel);
    } else {
      result.written.push(entry.rel);
    }
  }
  return result;
}

/**
 * Create `file` (O_EXCL, never following a link) with `data`; false when a regular file appeared
 * there since the plan (it is kept). A file this call created and could not fill is removed.
 */
function writeNew(file: string, data: Uint8Array): boolean {
  let fd: number;
  try {
    fd = createPrivateFile(file);
  } catch (err) {
    if (err instanceof UnsafePathError && lstatOrUndefined(file)?.isFile()) return false;
    throw err;
  }
  try {
    writeFileSync(fd, data);
  } catch (err) {
    removeFile(file);
    throw err;
  } finally {
    closeSync(fd);
  }
  return true;
}
