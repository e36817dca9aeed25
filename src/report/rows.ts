/** Report rows built from the plan: one per CSV row, whatever became of it. */
import type { Plan, PlannedRow } from '../plan/validate.js';
import type { ReportRow, RowStatus } from '../types.js';

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

/** A placeholder report row for a row that could not be read again (the file changed). */
export function unreadRow(row: number, why: string): ReportRow {
  return { row, status: 'not_attempted', patientKey: '', providerKey: '', practiceLocationKey: '', template: '', error: why };
}

/** What became of the rows already sent whose letter now differs: skipped, or (`resent`: with --resend-changed) how many were sent again, the rest over --limit. */
export function changedNote(changed: number, resent: number | undefined): string {
  if (resent === undefined) return 'skipped; --resend-changed sends them again';
  if (resent === changed) return 'sent again as new letters: --resend-changed';
  return `${resent} sent again as new letters (--resend-changed), ${changed - resent} over --limit`;
}
