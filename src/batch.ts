/**
 * What preview and send share after validation: the output folder, report rows built
 * from the plan, and the second streaming pass that yields each ready row with its data.
 */
import { readFileSync, readdirSync, rmdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { CsvError } from './errors.js';
import { showName } from './escape.js';
import { UnsafePathError, checkPath, lstatOrUndefined, mkdirPrivate, refusalFor, removeFile } from './fsutil.js';
import { REPORT_CSV, REPORT_JSON, REPORT_SCRATCH } from './report.js';
import { letterKey } from './letterkey.js';
import type { LoadedTemplate } from './templates/index.js';
import type { ReportRow, RowStatus } from './types.js';
import type { Plan, PlannedRow } from './validate.js';

/** A row of the second pass: what validation decided, and for a ready row its letter's input. */
export interface PassRow {
  planned: PlannedRow;
  /** Ready rows only: the template and the merge data, re-read from the file and checked. */
  letter?: { template: LoadedTemplate; data: Record<string, string> };
}

/** `./out/<csv-name>-<YYYYMMDD-HHMMSS>` (local time), the contract's default output folder. */
export function defaultOutDir(csv: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return resolve('out', `${basename(csv, extname(csv))}-${stamp}`);
}

/**
 * Get the output folder ready: created 0700 when missing; an existing folder (never chmod'ed,
 * never a symlink) must be empty or hold only an earlier preview, whose files are removed.
 * A folder holding a send report, or anything else, is refused before anything is written.
 */
/** Refuse an output folder that `prepareOutDir` would refuse, writing nothing (before a ledger is opened). */
export function checkOutDir(out: string): void {
  if (checkPath(out, 'folder')) earlierPreview(out);
}

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
function reportCommand(file: string): string | undefined {
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

/** The report row for a planned row, with a status and any extra columns. */
export function reportRow(p: PlannedRow, status: RowStatus, extra: Partial<ReportRow> = {}): ReportRow {
  return {
    row: p.row,
    status,
    patientKey: p.keys.patientKey,
    providerKey: p.keys.providerKey,
    practiceLocationKey: p.keys.practiceLocationKey,
    template: p.template,
    ...(p.error !== undefined ? { error: p.error } : {}),
    ...extra,
  };
}

/** The report row of a row in a file refused by validation: invalid as such, the rest not attempted. */
export function refusedRow(plan: Plan, p: PlannedRow): ReportRow {
  if (p.status === 'invalid') return reportRow(p, 'invalid');
  const why = `not attempted: the file has ${plan.invalid} invalid row${plan.invalid === 1 ? '' : 's'} (fix them or use --skip-invalid)`;
  return reportRow(p, 'not_attempted', { error: p.status === 'skipped' ? p.error : why });
}

/**
 * Second pass: stream the file again and yield every row in order, with its keys and template,
 * and for a ready row its merge data. Throws if the file changed since validation (a ready row's
 * letter key differs, or the row count), so a letter is never made from data that was not validated.
 */
export async function* planRows(plan: Plan): AsyncGenerator<PassRow> {
  let seen = 0;
  for await (const csvRow of plan.source.rows()) {
    const row = csvRow.row;
    if (row > plan.rows) throw changed(plan, row);
    seen = row;
    const status = plan.statusOf(row);
    const planned: PlannedRow = {
      row,
      status,
      keys: plan.mapper.keys(csvRow),
      template: plan.mapper.templateName(csvRow) ?? '',
    };
    const key = plan.letterKeyOf(row);
    if (key) planned.letterKey = key;
    const note = plan.noteOf(row);
    if (note) planned.error = note;
    if (status !== 'ready') {
      yield { planned };
      continue;
    }
    const template = plan.templates.get(planned.template);
    const data = plan.data(csvRow, planned.keys);
    if (letterKey(template.name, planned.keys, template.fields.all, data) !== key) throw changed(plan, row);
    yield { planned, letter: { template, data } };
  }
  if (seen !== plan.rows) throw changed(plan, seen + 1);
}

/** A placeholder report row for a row that could not be read again (the file changed). */
export function unreadRow(row: number, why: string): ReportRow {
  return { row, status: 'not_attempted', patientKey: '', providerKey: '', practiceLocationKey: '', template: '', error: why };
}

function changed(plan: Plan, row: number): CsvError {
  return new CsvError({ file: plan.source.file, row }, 'the file changed while it was being processed', 'run again once the file is complete');
}
