/**
 * `ledger export`: the audit CSV of every letter the ledger holds (or those updated since a time):
 * keys, status, times, HTTP status, letter id, attempts, approval, every resolution in order, and
 * who sent it (the account the sending run ran as; schema 4, so empty for letters sent before);
 * an earlier letter a resend (--resend-changed) superseded is a line of status `superseded` just
 * before its key's record (updatedAt: when it was superseded). Never content (the ledger holds none). Cells go through the report's formula rule.
 */
import { stringify } from 'csv-stringify/sync';
import { neutraliseFormula } from '../report/writer.js';
import type { Ledger } from './ledger.js';
import type { AuditRecord, RecordFilter, Resolution } from './records.js';

export const AUDIT_COLUMNS = [
  'letterKey', 'status', 'patientKey', 'providerKey', 'practiceLocationKey', 'template', 'sourceFile', 'row',
  'createdAt', 'updatedAt', 'httpStatus', 'letterId', 'attempts', 'approvalId', 'approver', 'resolutions', 'sentBy',
] as const;

/** `2026-12-03T10:00:00.000Z not-sent by Ann; 2026-12-04T09:12:00.000Z sent (letter id L7) by Bob`. */
export function formatResolutions(list: readonly Resolution[]): string {
  return list.map((r) => `${r.at} ${r.outcome}${r.letterId !== undefined ? ` (letter id ${r.letterId})` : ''} by ${r.by}`).join('; ');
}

/** The audit CSV (header and one line per record), every cell formula-safe, and how many letters it holds. */
export function auditCsv(ledger: Pick<Ledger, 'records' | 'resolutions' | 'supersededLetters'>, filter: Pick<RecordFilter, 'since'> = {}): { text: string; letters: number } {
  const superseded = ledger.supersededLetters(filter);
  const records = ledger.records(filter).flatMap((rec): AuditRecord[] => {
    const earlier = superseded.get(rec.letterKey) ?? [];
    superseded.delete(rec.letterKey);
    return [...earlier, rec];
  });
  records.push(...[...superseded.values()].flat()); // superseded since `since`, their key's record not updated since
  const resolutions = ledger.resolutions();
  const lines = records.map((rec) => {
    const cells: Record<(typeof AUDIT_COLUMNS)[number], string | number | undefined> = { ...pick(rec), resolutions: rec.status === 'superseded' ? '' : formatResolutions(resolutions.get(rec.letterKey) ?? []) };
    return AUDIT_COLUMNS.map((col) => neutraliseFormula(cells[col] === undefined ? '' : String(cells[col])));
  });
  return { text: stringify([[...AUDIT_COLUMNS], ...lines], { record_delimiter: 'unix' }), letters: lines.length };
}

function pick(rec: AuditRecord): Omit<Record<(typeof AUDIT_COLUMNS)[number], string | number | undefined>, 'resolutions'> {
  const { letterKey, status, patientKey, providerKey, practiceLocationKey, template, sourceFile, row, createdAt, updatedAt, httpStatus, letterId, attempts, approvalId, approver, sentBy } = rec;
  return { letterKey, status, patientKey, providerKey, practiceLocationKey, template, sourceFile, row, createdAt, updatedAt, httpStatus, letterId, attempts, approvalId, approver, sentBy };
}
