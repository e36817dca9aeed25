/**
 * The per-row report: `report.csv` (the contract's columns, a row appended as each row
 * finishes, so a crash still leaves a partial report) and `report.json` (summary plus rows,
 * written at the end). Both files are 0600 in a 0700 folder: they hold patient keys.
 */
import { closeSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { createPrivateFile, mkdirPrivate, removeFile } from '../fsutil.js';
import {
  REPORT_COLUMNS,
  STATUSES,
  emptyCounts,
  type ReportRow,
  type RowStatus,
  type StatusCounts,
} from '../types.js';
import type { ExitCode } from '../errors.js';
import { showName } from '../escape.js';
import { changedNote } from './rows.js';

export const REPORT_CSV = 'report.csv';
export const REPORT_JSON = 'report.json';
/** The scratch file beside report.json while a run is going (left by a crash). */
export const REPORT_SCRATCH = `.${REPORT_JSON}.rows`;

export interface ReportSummary {
  command: string;
  csv: string;
  out: string;
  startedAt: string;
  finishedAt: string;
  rows: number;
  counts: StatusCounts;
  /**
   * True when nothing was done because the run was refused: invalid rows without
   * --skip-invalid (preview, send), or, in send, not confirmed or credentials refused. Exit 2.
   */
  refused: boolean;
  /**
   * True when a send that had letters to send saw its signal (Ctrl-C): before the first token,
   * or by the end of the pass (letters not started are `not_attempted`). Exit 130 unless
   * refused. Never set by preview, nor by a stop on 403, a second 401 or the circuit breaker
   * (`stopReason` says why those stopped).
   */
  interrupted: boolean;
  /** Why the run stopped early, when it did (no patient data). */
  stopReason?: string;
  /**
   * send: rows already sent whose letter now differs from the one sent (an edited template,
   * partial or stylesheet), when there were any: skipped, or sent again with `resendChanged`.
   */
  changed?: number;
  /** send --resend-changed: the `changed` rows were sent again as new letters (`resent` of them were to be, the rest over --limit). */
  resendChanged?: boolean;
  resent?: number;
  /** The config file (absolute path) and job the run took its options from, when it did (not in report.csv). */
  config?: { file: string; job?: string };
  /** `send --approved`: the approval the letters were sent under, who approved them, and the preview folder (absolute). */
  approval?: { id: string; approver: string; dir: string };
  /** `send --approved`: notes on the batch, when there were any (file names only): its CSV changed or gone since the preview. */
  warnings?: string[];
  exitCode: ExitCode;
  reportCsv: string;
  reportJson: string;
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** Spreadsheets run cells that start with = + - @ tab or CR as formulas: prefix them with '. */
export function neutraliseFormula(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}

/** One report.csv line for a row, formula-safe. */
export function reportCsvLine(row: ReportRow): string {
  const cells = REPORT_COLUMNS.map((col) => {
    const v = row[col];
    return neutraliseFormula(v === undefined || v === null ? '' : String(v));
  });
  return stringify([cells], { record_delimiter: 'unix' });
}

/**
 * Exit code for a finished run, per the contract: 0 when every row is sent, previewed or
 * skipped; 2 when the run was refused; 130 when interrupted; 1 otherwise.
 */
export function exitCodeFor(counts: StatusCounts, opts: { refused?: boolean; interrupted?: boolean } = {}): ExitCode {
  if (opts.refused) return 2;
  if (opts.interrupted) return 130;
  const bad: RowStatus[] = ['invalid', 'failed', 'unknown', 'not_attempted'];
  return bad.some((s) => counts[s] > 0) ? 1 : 0;
}

/**
 * Appends rows to report.csv as they finish (one write each, so a crash loses none that
 * finished) and keeps them for report.json in a scratch file beside it, not in memory: at the
 * end report.json is written in row order from there. Memory stays flat with the row count.
 */
export class ReportWriter {
  readonly out: string;
  readonly csvPath: string;
  readonly jsonPath: string;
  readonly counts: StatusCounts = emptyCounts();
  private readonly scratchPath: string;
  private readonly csvFd: number;
  private readonly scratchFd: number;
  private scratchSize = 0;
  /** Per row number: offset and length of its JSON in the scratch file (0 length: none). */
  private offsets = new Float64Array(1024);
  private lengths = new Uint32Array(1024);
  private added = 0;
  private closed = false;

  constructor(out: string) {
    this.out = out;
    this.csvPath = join(out, REPORT_CSV);
    this.jsonPath = join(out, REPORT_JSON);
    this.scratchPath = join(out, REPORT_SCRATCH);
    mkdirPrivate(out);
    // New files only (O_EXCL, never through a symlink): an earlier run's files were removed by prepareOutDir.
    this.csvFd = createPrivateFile(this.csvPath);
    this.scratchFd = createPrivateFile(this.scratchPath, { read: true });
    writeSync(this.csvFd, stringify([[...REPORT_COLUMNS]], { record_delimiter: 'unix' }));
  }

  add(row: ReportRow): void {
    if (this.closed) throw new Error('report: add after close');
    this.counts[row.status]++;
    this.added++;
    writeSync(this.csvFd, reportCsvLine(row));
    const json = Buffer.from(JSON.stringify(row), 'utf8');
    writeSync(this.scratchFd, json, 0, json.length, this.scratchSize);
    this.grow(row.row);
    this.offsets[row.row] = this.scratchSize;
    this.lengths[row.row] = json.length;
    this.scratchSize += json.length;
  }

  /** The rows, in row order (from report.json: call after close). */
  sortedRows(): ReportRow[] {
    return (JSON.parse(readFileSync(this.jsonPath, 'utf8')) as { rows: ReportRow[] }).rows;
  }

  /** Finish report.csv and write report.json (summary, then the rows in row order). */
  async close(
    summary: Omit<ReportSummary, 'rows' | 'counts' | 'reportCsv' | 'reportJson' | 'exitCode' | 'finishedAt'>,
  ): Promise<ReportSummary> {
    this.closed = true;
    closeSync(this.csvFd);
    const full: ReportSummary = {
      ...summary,
      finishedAt: new Date().toISOString(),
      rows: this.added,
      counts: { ...this.counts },
      exitCode: exitCodeFor(this.counts, summary),
      reportCsv: this.csvPath,
      reportJson: this.jsonPath,
    };
    const fd = createPrivateFile(this.jsonPath);
    try {
      const head = JSON.stringify({ summary: full }, null, 2);
      writeSync(fd, `${head.slice(0, head.lastIndexOf('}')).trimEnd()},\n  "rows": [`);
      let first = true;
      const buf = Buffer.alloc(64 * 1024);
      for (let row = 0; row < this.offsets.length; row++) {
        const len = this.lengths[row]!;
        if (len === 0) continue;
        const chunk = len <= buf.length ? buf : Buffer.alloc(len);
        readSync(this.scratchFd, chunk, 0, len, this.offsets[row]!);
        writeSync(fd, first ? '\n    ' : ',\n    ');
        writeSync(fd, chunk, 0, len);
        first = false;
      }
      writeSync(fd, first ? ']\n}\n' : '\n  ]\n}\n');
    } finally {
      closeSync(fd);
      closeSync(this.scratchFd);
      removeFile(this.scratchPath);
    }
    return full;
  }

  private grow(row: number): void {
    if (row < this.offsets.length) return;
    let size = this.offsets.length;
    while (size <= row) size *= 2;
    const offsets = new Float64Array(size);
    offsets.set(this.offsets);
    this.offsets = offsets;
    const lengths = new Uint32Array(size);
    lengths.set(this.lengths);
    this.lengths = lengths;
  }
}

/** `20 rows: 18 sent, 2 skipped`. */
export function formatCounts(s: ReportSummary): string {
  const parts = STATUSES.filter((st) => s.counts[st] > 0).map((st) => `${s.counts[st]} ${st}`);
  return `${s.rows} row${s.rows === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/** `config: canvas-letters.config.json (job jury)`. */
export function formatConfigUsed(c: NonNullable<ReportSummary['config']>): string {
  return `config: ${showName(c.file)}${c.job !== undefined ? ` (job ${showName(c.job)})` : ''}`;
}

/** The short summary for stderr: counts by status, where the report is and, when one was written, the gallery (index.html). */
export function formatSummary(s: ReportSummary, files: { gallery?: string } = {}): string {
  const lines = [`${s.command}: ${formatCounts(s)}`];
  if (s.stopReason) lines.push(`stopped: ${s.stopReason}`);
  if (s.changed) lines.push(`${s.changed} already sent but now different (${changedNote(s.changed, s.resendChanged ? (s.resent ?? 0) : undefined)})`);
  if (s.config) lines.push(formatConfigUsed(s.config));
  if (s.approval) lines.push(`approved by ${showName(s.approval.approver)} (approval ${s.approval.id}, ${showName(s.approval.dir)})`);
  lines.push(`report: ${s.reportCsv}`);
  if (files.gallery !== undefined) lines.push(`gallery: ${files.gallery} (open it in a browser to review the letters)`);
  return lines.join('\n');
}
