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
import { checkPath, lstatOrUndefined, readRegularFile, writePrivateFile } from '../fsutil.js';
import type { TemplateSet, TemplateSource } from '../templates/index.js';
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
  templates: { name: string; sources: TemplateSource[] }[];
  /** The date `{{today}}` gave in every letter, YYYY-MM-DD. */
  renderDate: string;
  options: BatchOptions;
  /** The run's notes shown at the top of the gallery (file, template and column names only). */
  warnings: string[];
  rows: BatchRow[];
}

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Collects a preview's batch as its letters are written. */
export class BatchBuilder {
  private readonly rows: BatchRow[] = [];

  add(row: Omit<BatchRow, 'sha256'>, html: string): void {
    this.rows.push({ ...row, sha256: sha256Hex(Buffer.from(html, 'utf8')) });
  }

  /** Write `<out>/batch.json` (0600, a new file). */
  write(out: string, run: { csv: string; csvSha256: string; templates: TemplateSet; options: BatchOptions; warnings: readonly string[] }): Batch {
    const names = [...new Set(this.rows.map((r) => r.template))].sort();
    const batch: Batch = {
      version: BATCH_VERSION,
      csv: { path: resolve(run.csv), sha256: run.csvSha256 },
      templatesDir: resolve(run.templates.dir),
      templates: names.map((name) => ({ name, sources: run.templates.sources(name) })),
      renderDate: run.templates.renderDate,
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

/**
 * Read `<dir>/batch.json`. Refuses (UsageError, exit 2) a folder without one (not a preview with
 * letter files), one that is not a regular file, does not parse, or has another version.
 */
export function readBatch(dir: string): SealedBatch {
  const file = join(dir, BATCH_FILE);
  if (!checkPath(dir, 'folder')) throw new UsageError(`${showName(dir)}: folder not found`, 'give the folder a preview wrote (its --out)');
  const bytes = readRegularFile(file);
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
    throw new UsageError(`${showName(file)} is not valid JSON`, 'it was damaged: preview again into a new folder');
  }
  const batch = parsed as Partial<Batch> | null;
  if (typeof batch !== 'object' || batch === null || batch.version !== BATCH_VERSION) {
    const version = typeof batch === 'object' && batch !== null ? String(batch.version) : 'none';
    throw new UsageError(`${showName(file)}: version ${showName(version)} is not ${BATCH_VERSION}`, 'preview again with this version of canvas-letters');
  }
  if (!Array.isArray(batch.rows) || !batch.rows.every(isBatchRow)) {
    throw new UsageError(`${showName(file)}: its rows cannot be read`, 'it was damaged: preview again into a new folder');
  }
  return { batch: batch as Batch, sha256: sha256Hex(bytes) };
}

function isBatchRow(r: unknown): r is BatchRow {
  const row = r as Partial<BatchRow> | null;
  return (
    typeof row === 'object' && row !== null && Number.isInteger(row.row) && (row.row ?? 0) > 0 &&
    typeof row.template === 'string' && typeof row.letterKey === 'string' &&
    typeof row.file === 'string' && LETTER_FILE.test(row.file) && typeof row.sha256 === 'string' && HEX.test(row.sha256) &&
    (row.keys === undefined || (typeof row.keys === 'object' && row.keys !== null && KEY_FIELDS.every((f) => typeof row.keys![f] === 'string')))
  );
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
