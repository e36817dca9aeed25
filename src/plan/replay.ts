/**
 * The second streaming pass over a validated file: every row again, in order, and for a ready
 * row its merge data, checked against what validation saw.
 */
import { createHash } from 'node:crypto';
import { CsvError } from '../errors.js';
import type { LoadedTemplate } from '../templates/index.js';
import { letterKey } from './letter-key.js';
import type { Plan, PlannedRow } from './validate.js';

/** The file changed between validation and the second pass (a ready row's letter key differs, or the row count). */
export class FileChangedError extends CsvError {
  constructor(file: string, row: number) {
    super({ file, row }, 'the file changed while it was being processed', 'run again once the file is complete');
  }
}

/** A row of the second pass: what validation decided, and for a ready row its letter's input. */
export interface PassRow {
  planned: PlannedRow;
  /** Ready rows only: the template and the merge data, re-read from the file and checked. */
  letter?: { template: LoadedTemplate; data: Record<string, string> };
}

/**
 * Second pass: stream the file again and yield every row in order, with its keys and template,
 * and for a ready row its merge data. Throws FileChangedError if the file changed since validation
 * (a ready row's letter key differs, or the row count), so a letter is never made from data that
 * was not validated; a read that fails throws CsvError. With `sameBytes`, the pass also hashes
 * the bytes it reads and, at its end, throws FileChangedError unless they are validation's
 * (`plan.csvSha256`), byte for byte: what preview seals in batch.json.
 */
export async function* planRows(plan: Plan, opts: { sameBytes?: boolean } = {}): AsyncGenerator<PassRow> {
  let seen = 0;
  const bytes = opts.sameBytes ? createHash('sha256') : undefined;
  for await (const csvRow of plan.source.rows(bytes)) {
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
  if (bytes && bytes.digest('hex') !== plan.csvSha256) throw changed(plan, seen);
}

function changed(plan: Plan, row: number): FileChangedError {
  return new FileChangedError(plan.source.file, row);
}
