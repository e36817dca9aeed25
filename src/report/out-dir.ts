/**
 * The output folder of a preview or a send: its default name, the rule for reusing one (only an
 * earlier preview is replaced), and the letter files' names inside it.
 */
import { readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { showName } from '../escape.js';
import { UnsafePathError, checkPath, lstatOrUndefined, mkdirPrivate, refusalFor, removeFile } from '../fsutil.js';
import { REPORT_CSV, REPORT_JSON, REPORT_SCRATCH } from './writer.js';

/** `./out/<csv-name>-<YYYYMMDD-HHMMSS>` (local time), the contract's default output folder. */
export function defaultOutDir(csv: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return resolve('out', `${basename(csv, extname(csv))}-${stamp}`);
}

/** Refuse an output folder that `prepareOutDir` would refuse, writing nothing (before a ledger is opened). */
export function checkOutDir(out: string): void {
  if (checkPath(out, 'folder')) earlierPreview(out);
}

/**
 * Get the output folder ready: created 0700 when missing; an existing folder (never chmod'ed,
 * never a symlink) must be empty or hold only an earlier preview, whose files are removed.
 * A folder holding a send report, or anything else, is refused before anything is written.
 */
export function prepareOutDir(out: string): void {
  if (!checkPath(out, 'folder')) {
    mkdirPrivate(out);
    return;
  }
  for (const file of earlierPreview(out)) removeFile(join(out, file));
  if (checkPath(join(out, LETTERS_DIR), 'folder')) rmdirSync(join(out, LETTERS_DIR));
}

export const LETTERS_DIR = 'letters';

/** Files a preview writes at the top of its folder (besides letters/). */
const PREVIEW_FILES: ReadonlySet<string> = new Set([REPORT_CSV, REPORT_JSON, REPORT_SCRATCH, 'index.html', 'batch.json']);
const LETTER_FILE = /^row-\d+\.(html|pdf)$/;
/** Written by `approve` into a preview's folder. */
const APPROVAL = 'approval.json';

const REUSE_HINT = 'choose a new --out folder (or leave --out out for a fresh one)';

/**
 * The files (relative to `out`) of an earlier preview that may be replaced: [] for an empty
 * folder. Throws when the folder holds anything else, or a report that is not a preview's.
 */
function earlierPreview(out: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(out)) {
    const path = join(out, name);
    if (name === LETTERS_DIR) {
      checkPath(path, 'folder');
      for (const letter of readdirSync(path)) {
        const lpath = join(path, letter);
        if (!LETTER_FILE.test(letter)) throw notPreview(out, `${LETTERS_DIR}/${letter}`);
        checkPath(lpath, 'file');
        files.push(`${LETTERS_DIR}/${letter}`);
      }
      continue;
    }
    if (name === APPROVAL) {
      throw new UnsafePathError(out, `holds an approved preview (${APPROVAL}), the record of an approval; it is never replaced`, REUSE_HINT);
    }
    if (!PREVIEW_FILES.has(name)) throw notPreview(out, name);
    const st = lstatOrUndefined(path);
    if (st && !st.isFile()) throw refusalFor(path, st, 'file');
    files.push(name);
  }
  if (files.length === 0) return files;
  const command = reportCommand(join(out, REPORT_JSON));
  if (command === 'preview') return files;
  if (command === undefined) {
    throw new UnsafePathError(out, `holds files but no readable ${REPORT_JSON} saying they are an earlier preview; it is not reused`, REUSE_HINT);
  }
  throw new UnsafePathError(out, `holds the report of an earlier \`${showName(command)}\` run, the record of what was sent; it is never reused`, REUSE_HINT);
}

function notPreview(out: string, name: string): UnsafePathError {
  return new UnsafePathError(out, `is not empty and does not hold only an earlier preview (found ${showName(name)})`, REUSE_HINT);
}

/** `summary.command` of a report.json, or undefined when it is missing or cannot be read. */
export function reportCommand(file: string): string | undefined {
  if (!checkPath(file, 'file')) return undefined;
  try {
    const command = (JSON.parse(readFileSync(file, 'utf8')) as { summary?: { command?: unknown } }).summary?.command;
    return typeof command === 'string' ? command : undefined;
  } catch {
    return undefined;
  }
}


/** Path of a row's letter file relative to the output folder; no patient data in the name. */
export function letterFileName(row: number, ext = 'html'): string {
  return `${LETTERS_DIR}/row-${String(row).padStart(5, '0')}.${ext}`;
}
