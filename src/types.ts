/** The row model shared by every stage: CSV input, validation, preview, send, report. */
import { showName } from './escape.js';

/** The three Canvas keys a letter is created with. */
export const KEY_FIELDS = ['patientKey', 'providerKey', 'practiceLocationKey'] as const;
export type KeyField = (typeof KEY_FIELDS)[number];
export type Keys = Record<KeyField, string>;

/** Statuses of the contract's report, in the order the summary lists them. */
export const STATUSES = [
  'previewed',
  'sent',
  'skipped',
  'invalid',
  'failed',
  'unknown',
  'not_attempted',
] as const;
export type RowStatus = (typeof STATUSES)[number];

/** One problem with one row: `row 7, column patientName: empty`. Data, not an exception. */
export interface Problem {
  row: number;
  column?: string;
  message: string;
}

/** The line for a problem. The column and message may repeat outside names: shown escaped, one line always. */
export function formatProblem(p: Problem): string {
  return showName(`row ${p.row}${p.column ? `, column ${p.column}` : ''}: ${p.message}`);
}

/** An empty record with no prototype: a name from a file (`__proto__`, `constructor`) is an ordinary key. */
export function emptyRecord<T = string>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** A field's value in merge data when it is the object's own string ("" otherwise): never an inherited name. */
export function ownValue(data: Readonly<Record<string, string>>, field: string): string {
  if (!Object.hasOwn(data, field)) return '';
  const value = data[field];
  return typeof value === 'string' ? value : '';
}

/** A data row as read from the CSV: values aligned with the header. */
export interface CsvRow {
  /** 1-based data row (the header is not a row). */
  row: number;
  values: string[];
}

/** One row of the report: exactly the contract's columns, plus warnings for report.json. */
export interface ReportRow extends Keys {
  row: number;
  status: RowStatus;
  template: string;
  httpStatus?: number;
  letterId?: string;
  attempts?: number;
  error?: string;
  /** Path of the rendered letter relative to the output folder. */
  preview?: string;
  warnings?: string[];
}

/** The report.csv columns, in the contract's order. */
export const REPORT_COLUMNS = [
  'row',
  'status',
  'patientKey',
  'providerKey',
  'practiceLocationKey',
  'template',
  'httpStatus',
  'letterId',
  'attempts',
  'error',
  'preview',
] as const;

export type StatusCounts = Record<RowStatus, number>;

export function emptyCounts(): StatusCounts {
  return Object.fromEntries(STATUSES.map((s) => [s, 0])) as StatusCounts;
}
