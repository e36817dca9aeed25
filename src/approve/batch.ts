/**
 * `<out>/batch.json`, the seal of a preview with letter files: the CSV's sha256 (the bytes the
 * letters were made from), the templates, partials and stylesheets each template used with their
 * sha256, the render date `{{today}}` gave, the options that shape letters, and per previewed row
 * its letter key, template, letter file and the sha256 of that file's bytes. It holds no patient
 * data beyond what the report already holds (keys, never names or letter text). `preview` writes
 * it last, after index.html, so its presence means a complete preview; `approve` (and later
 * `send --approved`) check the letter files against it.
 */
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { showName } from '../escape.js';
import { checkPath, lstatOrUndefined, readRegularFile, writePrivateFile, type Refusal } from '../fsutil.js';
import { fieldsSignature, isWellFormedKey } from '../plan/letter-key.js';
import { parseCalendarDate } from '../templates/dates.js';
import { isDateOrder, TemplateSet, type TemplateSource } from '../templates/index.js';
import { KEY_FIELDS, type Keys } from '../types.js';

export const BATCH_FILE = 'batch.json';
export const BATCH_VERSION = 1;

/** One previewed row of the batch. */
export interface BatchRow {
  row: number;
  letterKey: string;
  /** The three Canvas keys the letter is for (as in the report), sealed with it: `send --approved` sends with these. */
  keys?: Keys;
  template: string;
  /** The letter file, relative to the preview folder (`letters/row-NNNNN.html`). */
  file: string;
  /** sha256 (hex) of the letter file's bytes. */
  sha256: string;
}

/** The options that shape the letters, as the preview was given them. */
export interface BatchOptions {
  template?: string;
  map: Record<string, string>;
  provider?: string;
  location?: string;
  dateInput?: string;
  /** Fields were looked up in Canvas (`--lookup`). */
  lookup: boolean;
}

export interface Batch {
  version: typeof BATCH_VERSION;
  /** The CSV file (its absolute path) and the sha256 of the bytes the letters were made from. */
  csv: { path: string; sha256: string };
  /** The templates folder (absolute path). */
  templatesDir: string;
  /** Each template used by a previewed row, with the files it was made from. */
  templates: BatchTemplate[];
  /** The date `{{today}}` gave in every letter, YYYY-MM-DD. */
  renderDate: string;
  /** When the preview run started (ISO time, UTC). Absent from batches written before it was recorded. */
  createdAt?: string;
  options: BatchOptions;
  /** The run's notes shown at the top of the gallery (file, template and column names only). */
  warnings: string[];
  rows: BatchRow[];
}

/** A template a previewed row used: the files it was made from, and the signature of its merge fields (fieldsSignature; absent in older batches). */
export interface BatchTemplate {
  name: string;
  sources: TemplateSource[];
  fieldsSha256?: string;
}

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Collects a preview's batch as its letters are written. */
export class BatchBuilder {
  private readonly rows: BatchRow[] = [];

  add(row: Omit<BatchRow, 'sha256'>, html: string): void {
    this.rows.push({ ...row, sha256: sha256Hex(Buffer.from(html, 'utf8')) });
  }

  /** Write `<out>/batch.json` (0600, a new file). */
  write(out: string, run: { csv: string; csvSha256: string; templates: TemplateSet; options: BatchOptions; warnings: readonly string[]; createdAt: string }): Batch {
    const names = [...new Set(this.rows.map((r) => r.template))].sort();
    const batch: Batch = {
      version: BATCH_VERSION,
      csv: { path: resolve(run.csv), sha256: run.csvSha256 },
      templatesDir: resolve(run.templates.dir),
      templates: names.map((name) => ({ name, sources: run.templates.sources(name), fieldsSha256: fieldsSignature(run.templates.get(name).fields.all) })),
      renderDate: run.templates.renderDate,
      createdAt: run.createdAt,
      options: run.options,
      warnings: [...run.warnings],
      rows: [...this.rows].sort((a, b) => a.row - b.row),
    };
    writePrivateFile(join(out, BATCH_FILE), `${JSON.stringify(batch, null, 2)}\n`);
    return batch;
  }
}

/** A batch.json as read, with the sha256 of its bytes (what an approval seals). */
export interface SealedBatch {
  batch: Batch;
  sha256: string;
}

const LETTER_FILE = /^letters\/row-\d{5,}\.html$/;
const HEX = /^[0-9a-f]{64}$/;
const DAMAGED = 'it was damaged: preview again into a new folder';

/**
 * The refusal of a file a preview or approve wrote at a fixed name in the preview folder
 * (batch.json, approval.json) that is a symlink, a device or a FIFO: the file to read is not
 * a path the person chose, so the way out is a new preview.
 */
export const sealedFileRefusal: Refusal = (message) =>
  new UsageError(message, 'canvas-letters reads only the regular file it wrote there, never through a symbolic link: preview again into a new folder');

/** An ISO time as `Date#toISOString` writes it (UTC, milliseconds): `2026-12-03T09:15:00.000Z`, a real time. */
export function isIsoTime(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value)) return false;
  const time = new Date(value);
  return !Number.isNaN(time.getTime()) && time.toISOString() === value;
}

/** The three Canvas keys are well formed (letters, digits and `-`, at most 64 characters), as a plain send requires of a CSV's. */
export const wellFormedKeys = (keys: Keys): boolean => KEY_FIELDS.every((f) => isWellFormedKey(keys[f]));

/**
 * Read `<dir>/batch.json`. Refuses (UsageError, exit 2) a folder without one (not a preview with
 * letter files), one that is not a regular file, does not parse, has another version, a field
 * that is not what preview writes, or a row whose Canvas keys are malformed.
 */
export function readBatch(dir: string): SealedBatch {
  const file = join(dir, BATCH_FILE);
  if (!checkPath(dir, 'folder')) throw new UsageError(`${showName(dir)}: folder not found`, 'give the folder a preview wrote (its --out)');
  const bytes = readRegularFile(file, sealedFileRefusal);
  if (bytes === undefined) {
    throw new UsageError(
      `${showName(dir)} is not a preview with letter files (no ${BATCH_FILE})`,
      'run canvas-letters preview <csv> --out <dir> (without --no-files), review its index.html, then approve that folder',
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new UsageError(`${showName(file)} is not valid JSON`, DAMAGED);
  }
  const batch = parsed as Partial<Batch> | null;
  if (typeof batch !== 'object' || batch === null || batch.version !== BATCH_VERSION) {
    const version = typeof batch === 'object' && batch !== null ? String(batch.version) : 'none';
    throw new UsageError(`${showName(file)}: version ${showName(version)} is not ${BATCH_VERSION}`, 'preview again with this version of canvas-letters');
  }
  const field = unreadableField(batch);
  if (field !== undefined) throw new UsageError(`${showName(file)}: its ${field} cannot be read`, DAMAGED);
  const malformed = (batch as Batch).rows.filter((r) => r.keys !== undefined && !wellFormedKeys(r.keys)).map((r) => r.row);
  if (malformed.length > 0) {
    throw new UsageError(`${showName(file)}: ${describeRows(malformed, 'with a malformed Canvas key (letters, digits and - only, at most 64 characters)')}`, DAMAGED);
  }
  return { batch: batch as Batch, sha256: sha256Hex(bytes) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const optionalString = (v: unknown) => v === undefined || typeof v === 'string';

/** The first field of a batch (past its version) that is not what preview writes, or undefined when all are. */
function unreadableField(b: Partial<Batch>): string | undefined {
  const checks: [string, boolean][] = [
    ['csv', isObject(b.csv) && isString(b.csv.path) && isString(b.csv.sha256) && HEX.test(b.csv.sha256)],
    ['templatesDir', isString(b.templatesDir)],
    ['templates', Array.isArray(b.templates) && b.templates.every(isBatchTemplate)],
    ['renderDate', isString(b.renderDate) && /^\d{4}-\d{2}-\d{2}$/.test(b.renderDate) && parseCalendarDate(b.renderDate) !== undefined],
    ['createdAt', b.createdAt === undefined || isIsoTime(b.createdAt)],
    ['options', isBatchOptions(b.options)],
    ['warnings', Array.isArray(b.warnings) && b.warnings.every(isString)],
    ['rows', Array.isArray(b.rows) && b.rows.every(isBatchRow)],
  ];
  return checks.find(([, ok]) => !ok)?.[0];
}

function isBatchTemplate(t: unknown): boolean {
  return (
    isObject(t) && isString(t.name) && Array.isArray(t.sources) && t.sources.every((s) => isObject(s) && isString(s.path) && isString(s.sha256) && HEX.test(s.sha256)) &&
    (t.fieldsSha256 === undefined || (isString(t.fieldsSha256) && HEX.test(t.fieldsSha256)))
  );
}

function isBatchOptions(o: unknown): o is BatchOptions {
  return (
    isObject(o) && isObject(o.map) && Object.values(o.map).every(isString) && typeof o.lookup === 'boolean' &&
    optionalString(o.template) && optionalString(o.provider) && optionalString(o.location) && optionalString(o.dateInput)
  );
}

function isBatchRow(r: unknown): r is BatchRow {
  const row = r as Partial<BatchRow> | null;
  return (
    typeof row === 'object' && row !== null && Number.isInteger(row.row) && (row.row ?? 0) > 0 &&
    typeof row.template === 'string' && typeof row.letterKey === 'string' && HEX.test(row.letterKey) &&
    typeof row.file === 'string' && LETTER_FILE.test(row.file) && typeof row.sha256 === 'string' && HEX.test(row.sha256) &&
    (row.keys === undefined || (isObject(row.keys) && KEY_FIELDS.every((f) => typeof row.keys![f] === 'string')))
  );
}

/**
 * The batch's templates folder loaded at the batch's render date (undefined when it no longer
 * loads), and whether a template's files are still the ones batch.json sealed.
 */
export function batchTemplates(batch: Batch): { set: TemplateSet; sealed: (name: string) => boolean } | undefined {
  let set: TemplateSet;
  try {
    set = TemplateSet.load(batch.templatesDir, { renderDate: batch.renderDate, ...(isDateOrder(batch.options.dateInput) && { dateInput: batch.options.dateInput }) });
  } catch {
    return undefined;
  }
  const sources = new Map(batch.templates.map((t) => [t.name, JSON.stringify(t.sources)]));
  const sealed = (name: string) => {
    try {
      return JSON.stringify(set.sources(name)) === sources.get(name);
    } catch {
      return false; // a template that no longer loads
    }
  };
  return { set, sealed };
}

/** How a letter file is not the one batch.json sealed. */
export type LetterFault = 'changed' | 'missing' | 'not a regular file (a symlink, a folder or a device)' | 'unreadable';

/** A letter file that is not the one sealed: its row and how. */
export interface ChangedLetter {
  row: number;
  fault: LetterFault;
}

/**
 * Re-hash every letter file of the batch (read as regular files, never through a symlink).
 * Returns the rows whose file is not the one sealed (it differs, is missing, is a symlink or
 * other non-file, or cannot be read), in row order. `onFile` gets each file's bytes as they
 * match (the gallery's search index is rebuilt from them).
 */
export function changedRows(dir: string, batch: Batch, onFile?: (row: BatchRow, bytes: Buffer) => void): ChangedLetter[] {
  const changed: ChangedLetter[] = [];
  for (const r of batch.rows) {
    const file = join(dir, r.file);
    let bytes: Buffer | undefined;
    try {
      bytes = readRegularFile(file);
    } catch {
      const st = lstatOrUndefined(file);
      changed.push({ row: r.row, fault: st && !st.isFile() ? 'not a regular file (a symlink, a folder or a device)' : 'unreadable' });
      continue;
    }
    if (bytes === undefined) changed.push({ row: r.row, fault: 'missing' });
    else if (sha256Hex(bytes) !== r.sha256) changed.push({ row: r.row, fault: 'changed' });
    else onFile?.(r, bytes);
  }
  return changed;
}

/**
 * `since the preview, 2 rows changed: rows 4, 9; 1 row missing: row 12 (the letter files are not
 * the ones batch.json sealed)`: the rows of each fault, in a fixed order.
 */
export function describeChanged(changed: readonly ChangedLetter[]): string {
  const faults: LetterFault[] = ['changed', 'missing', 'not a regular file (a symlink, a folder or a device)', 'unreadable'];
  const parts = faults.map((f) => changed.filter((c) => c.fault === f).map((c) => c.row)).flatMap((rows, i) => (rows.length ? [describeRows(rows, faults[i]!)] : []));
  return `since the preview, ${parts.join('; ')} (the letter files are not the ones ${BATCH_FILE} sealed)`;
}

/** `3 rows changed: rows 4, 9, 12` / `1 row changed: row 4` (the first 20 rows, then a count). */
export function describeRows(rows: readonly number[], what: string): string {
  const shown = rows.slice(0, 20).join(', ');
  const more = rows.length > 20 ? ` and ${rows.length - 20} more` : '';
  return `${rows.length} row${rows.length === 1 ? '' : 's'} ${what}: row${rows.length === 1 ? '' : 's'} ${shown}${more}`;
}
