/**
 * What preview and send share after validation: the output folder, report rows built
 * from the plan, and the second streaming pass that yields each ready row with its data.
 */
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { CsvError } from './errors.js';
import { PRIVATE_DIR_MODE, mkdirPrivate } from './fsutil.js';
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

/** Create the output folder 0700 (tightening it if it existed) and clear letters a previous run left. */
export function prepareOutDir(out: string): void {
  mkdirPrivate(out);
  chmodSync(out, PRIVATE_DIR_MODE);
  const letters = join(out, LETTERS_DIR);
  let old: string[] = [];
  try {
    old = readdirSync(letters);
  } catch {
    return;
  }
  for (const f of old) if (/^row-\d+\.(html|pdf)$/.test(f)) rmSync(join(letters, f), { force: true });
}

export const LETTERS_DIR = 'letters';

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
