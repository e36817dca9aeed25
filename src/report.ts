/**
 * The per-row report: `report.csv` (the contract's columns, a row appended as each row
 * finishes, so a crash still leaves a partial report) and `report.json` (summary plus rows,
 * written at the end). Both files are 0600 in a 0700 folder: they hold patient keys.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import type { WriteStream } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import { createPrivateWriteStream, writePrivateFile } from './fsutil.js';
import {
  REPORT_COLUMNS,
  STATUSES,
  emptyCounts,
  type ReportRow,
  type RowStatus,
  type StatusCounts,
} from './types.js';
import type { ExitCode } from './errors.js';

export const REPORT_CSV = 'report.csv';
export const REPORT_JSON = 'report.json';

export interface ReportSummary {
  command: string;
  csv: string;
  out: string;
  startedAt: string;
  finishedAt: string;
  rows: number;
  counts: StatusCounts;
  /** True when the whole file was refused (invalid rows without --skip-invalid). */
  refused: boolean;
  /** True when the run was interrupted (Ctrl-C) or stopped early by a fatal error. */
  interrupted: boolean;
  /** Why the run stopped early, when it did (no patient data). */
  stopReason?: string;
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
 * skipped; 2 when the file was refused; 130 when interrupted; 1 otherwise.
 */
export function exitCodeFor(counts: StatusCounts, opts: { refused?: boolean; interrupted?: boolean } = {}): ExitCode {
  if (opts.refused) return 2;
  if (opts.interrupted) return 130;
  const bad: RowStatus[] = ['invalid', 'failed', 'unknown', 'not_attempted'];
  return bad.some((s) => counts[s] > 0) ? 1 : 0;
}

/** Appends rows to report.csv as they finish; writes report.json on close. */
export class ReportWriter {
  readonly out: string;
  readonly csvPath: string;
  readonly jsonPath: string;
  private readonly stream: WriteStream;
  private readonly rows: ReportRow[] = [];
  readonly counts: StatusCounts = emptyCounts();

  constructor(out: string) {
    this.out = out;
    this.csvPath = join(out, REPORT_CSV);
    this.jsonPath = join(out, REPORT_JSON);
    this.stream = createPrivateWriteStream(this.csvPath, 'w');
    this.stream.write(stringify([[...REPORT_COLUMNS]], { record_delimiter: 'unix' }));
  }

  /** The rows added so far, in row order. */
  sortedRows(): ReportRow[] {
    return [...this.rows].sort((a, b) => a.row - b.row);
  }

  add(row: ReportRow): void {
    this.rows.push(row);
    this.counts[row.status]++;
    this.stream.write(reportCsvLine(row));
  }

  /** Finish report.csv and write report.json (rows in row order). */
  async close(
    summary: Omit<ReportSummary, 'rows' | 'counts' | 'reportCsv' | 'reportJson' | 'exitCode' | 'finishedAt'>,
  ): Promise<ReportSummary> {
    this.stream.end();
    await once(this.stream, 'finish');
    const full: ReportSummary = {
      ...summary,
      finishedAt: new Date().toISOString(),
      rows: this.rows.length,
      counts: { ...this.counts },
      exitCode: exitCodeFor(this.counts, summary),
      reportCsv: this.csvPath,
      reportJson: this.jsonPath,
    };
    writePrivateFile(this.jsonPath, JSON.stringify({ summary: full, rows: this.sortedRows() }, null, 2) + '\n');
    return full;
  }
}

/** `20 rows: 18 sent, 2 skipped`. */
export function formatCounts(s: ReportSummary): string {
  const parts = STATUSES.filter((st) => s.counts[st] > 0).map((st) => `${s.counts[st]} ${st}`);
  return `${s.rows} row${s.rows === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/** The short summary for stderr: counts by status and where the report is. */
export function formatSummary(s: ReportSummary): string {
  const lines = [`${s.command}: ${formatCounts(s)}`];
  if (s.stopReason) lines.push(`stopped: ${s.stopReason}`);
  lines.push(`report: ${s.reportCsv}`);
  return lines.join('\n');
}
