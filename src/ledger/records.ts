/**
 * The ledger's records as the library sees them: the letters table read into LedgerRecords (with
 * the last resolution of each), the resolutions kept as history, and the queries `ledger list` and
 * `ledger export` use. Never letter content: the ledger holds none.
 */
import type Database from 'better-sqlite3';
import type { Keys } from '../types.js';

export type LedgerStatus = 'pending' | 'sent' | 'failed' | 'unknown';

/** What a person found on the chart: the letter is there (`sent`) or not (`not-sent`). */
export type ResolutionOutcome = 'sent' | 'not-sent';

/** One resolution (`ledger resolve`), as kept in the history. */
export interface Resolution {
  outcome: ResolutionOutcome;
  /** With `sent`: the letter id the person found, when given. */
  letterId?: string;
  by: string;
  at: string; // ISO
}

export interface LedgerRecord extends Keys {
  letterKey: string;
  status: LedgerStatus;
  template: string;
  httpStatus?: number;
  letterId?: string;
  attempts: number;
  sourceFile: string;
  row: number;
  runId: string; // who last claimed it
  pid: number;
  createdAt: string; // ISO
  updatedAt: string;
  /** A sent letter's content sha256 (of the exact content string, UTF-8) and render date (YYYY-MM-DD), when recorded (schema 3). */
  contentSha256?: string;
  renderDate?: string;
  /** How many earlier sent letters of this key a resend (--resend-changed) superseded: kept in the superseded table. */
  superseded?: number;
  /** The approval the letter was sent under (send --approved), when it was. */
  approvalId?: string;
  approver?: string;
  /** The account the run that sent (claimed) the letter ran as (schema 4), when known. */
  sentBy?: string;
  /** The signature of its template's merge fields when it was claimed (schema 4), when known. */
  fieldsSha256?: string;
  /** The latest resolution of this key, when a person resolved it. */
  lastResolution?: Resolution;
}

/** What `ledger list` and `ledger export` select: every filter optional. */
export interface RecordFilter {
  status?: LedgerStatus;
  patientKey?: string;
  /** ISO time: records updated (sent, failed, resolved…) at or after it. */
  since?: string;
}

const LAST_RESOLUTION = `(SELECT json_object('outcome', r.outcome, 'letterId', r.letter_id, 'by', r.by, 'at', r.at)
  FROM resolutions r WHERE r.letter_key = letters.letter_key ORDER BY r.id DESC LIMIT 1)`;

const SUPERSEDED_COUNT = `(SELECT count(*) FROM superseded s WHERE s.letter_key = letters.letter_key AND s.restored_at IS NULL)`;

export const SELECT = `SELECT letter_key AS letterKey, status, patient_key AS patientKey, provider_key AS providerKey,
  practice_location_key AS practiceLocationKey, template, http_status AS httpStatus, letter_id AS letterId, attempts,
  source_file AS sourceFile, source_row AS row, run_id AS runId, pid, created_at AS createdAt, updated_at AS updatedAt,
  content_sha256 AS contentSha256, render_date AS renderDate, ${SUPERSEDED_COUNT} AS superseded,
  approval_id AS approvalId, approver, sent_by AS sentBy, fields_sha256 AS fieldsSha256, ${LAST_RESOLUTION} AS lastResolution
  FROM letters`;

type Nullable<T, K extends keyof T> = Omit<T, K> & { [P in K]: T[P] | null };
export type Row = Nullable<Omit<LedgerRecord, 'lastResolution' | 'superseded'>, 'httpStatus' | 'letterId' | 'contentSha256' | 'renderDate' | 'approvalId' | 'approver' | 'sentBy' | 'fieldsSha256'> & { lastResolution: string | null; superseded: number };
type ResolutionRow = Nullable<Resolution, 'letterId'>;

export function toRecord(r: Row): LedgerRecord {
  const { httpStatus, letterId, contentSha256, renderDate, superseded, approvalId, approver, sentBy, fieldsSha256, lastResolution, ...rest } = r;
  return {
    ...rest,
    ...(superseded > 0 && { superseded }),
    ...(httpStatus !== null && { httpStatus }),
    ...(letterId !== null && { letterId }),
    ...(contentSha256 !== null && { contentSha256 }),
    ...(renderDate !== null && { renderDate }),
    ...(approvalId !== null && { approvalId }),
    ...(approver !== null && { approver }),
    ...(sentBy !== null && { sentBy }),
    ...(fieldsSha256 !== null && { fieldsSha256 }),
    ...(lastResolution !== null && { lastResolution: toResolution(JSON.parse(lastResolution) as ResolutionRow) }),
  };
}

function toResolution(r: ResolutionRow): Resolution {
  const { letterId, ...rest } = r;
  return { ...rest, ...(letterId !== null && { letterId }) };
}

/**
 * The resolution that set the record's present status, if one did: the latest one, when no run has
 * touched the key since (a resolution sets updated_at to its own time; a claim or an outcome moves it).
 */
export function currentResolution(rec: LedgerRecord): Resolution | undefined {
  const last = rec.lastResolution;
  return last !== undefined && last.at === rec.updatedAt ? last : undefined;
}

/** The records a filter selects, oldest first. */
export function selectRecords(db: Database.Database, filter: RecordFilter = {}): LedgerRecord[] {
  const where: string[] = [];
  if (filter.status !== undefined) where.push('status = @status');
  if (filter.patientKey !== undefined) where.push('patient_key = @patientKey');
  if (filter.since !== undefined) where.push('updated_at >= @since');
  const sql = `${SELECT}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at, source_file, source_row, letter_key`;
  return db.prepare<[RecordFilter], Row>(sql).all({ ...filter }).map(toRecord);
}

/** Every resolution of every key (or of one key), oldest first. */
export function selectResolutions(db: Database.Database, letterKey?: string): Map<string, Resolution[]> {
  const rows = db
    .prepare<[{ letterKey?: string }], ResolutionRow & { letterKey: string }>(
      `SELECT letter_key AS letterKey, outcome, letter_id AS letterId, by, at FROM resolutions
        ${letterKey !== undefined ? 'WHERE letter_key = @letterKey' : ''} ORDER BY id`,
    )
    .all(letterKey !== undefined ? { letterKey } : {});
  const byKey = new Map<string, Resolution[]>();
  for (const { letterKey: key, ...r } of rows) {
    const list = byKey.get(key) ?? [];
    list.push(toResolution(r));
    byKey.set(key, list);
  }
  return byKey;
}

/**
 * The earlier letters a resend (--resend-changed) superseded, by letter key, oldest first, as
 * records of status `superseded` (updatedAt: when they were superseded), with the keys and template
 * of the key's record. A superseding claim whose resend created nothing (restored) is not one.
 */
export function selectSuperseded(db: Database.Database, filter: Pick<RecordFilter, 'since'> = {}): Map<string, AuditRecord[]> {
  const rows = db
    .prepare<[{ since?: string }], Omit<AuditRecord, 'httpStatus' | 'letterId' | 'approvalId' | 'approver' | 'sentBy'> & Record<'httpStatus' | 'letterId' | 'approvalId' | 'approver' | 'sentBy', string | number | null>>(
      `SELECT s.letter_key AS letterKey, 'superseded' AS status, l.patient_key AS patientKey, l.provider_key AS providerKey,
        l.practice_location_key AS practiceLocationKey, l.template, s.source_file AS sourceFile, s.source_row AS row,
        s.created_at AS createdAt, s.superseded_at AS updatedAt, s.http_status AS httpStatus, s.letter_id AS letterId,
        s.attempts, s.approval_id AS approvalId, s.approver, s.sent_by AS sentBy
      FROM superseded s JOIN letters l USING (letter_key)
      WHERE s.restored_at IS NULL ${filter.since !== undefined ? 'AND s.superseded_at >= @since' : ''} ORDER BY s.id`,
    )
    .all(filter.since !== undefined ? { since: filter.since } : {});
  const byKey = new Map<string, AuditRecord[]>();
  for (const r of rows) {
    const rec = Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)) as unknown as AuditRecord;
    byKey.set(r.letterKey, [...(byKey.get(r.letterKey) ?? []), rec]);
  }
  return byKey;
}

/** A letter as the audit lists it: a record, or an earlier letter a resend superseded (`superseded`). */
export type AuditRecord = Omit<LedgerRecord, 'status' | 'runId' | 'pid' | 'lastResolution' | 'superseded' | 'contentSha256' | 'renderDate' | 'fieldsSha256'> & {
  status: LedgerStatus | 'superseded';
};

/** Per template, the distinct non-null fields_sha256 of its letters sent, unknown or pending. */
export function selectFieldSignatures(db: Database.Database): Map<string, Set<string>> {
  const rows = db
    .prepare<[], { template: string; fieldsSha256: string }>(
      "SELECT DISTINCT template, fields_sha256 AS fieldsSha256 FROM letters WHERE status IN ('sent', 'unknown', 'pending') AND fields_sha256 IS NOT NULL",
    )
    .all();
  const byTemplate = new Map<string, Set<string>>();
  for (const { template, fieldsSha256 } of rows) byTemplate.set(template, (byTemplate.get(template) ?? new Set()).add(fieldsSha256));
  return byTemplate;
}

/** The records sent, unknown or pending with one of these (template, three keys), oldest first. */
export function selectSentFor(db: Database.Database, letters: readonly ({ template: string } & Keys)[]): LedgerRecord[] {
  const wanted = JSON.stringify(letters.map((l) => [l.template, l.patientKey, l.providerKey, l.practiceLocationKey]));
  return db
    .prepare<[string], Row>(
      `${SELECT} WHERE status IN ('sent', 'unknown', 'pending') AND (template, patient_key, provider_key, practice_location_key) IN
        (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?)) ORDER BY updated_at`,
    )
    .all(wanted)
    .map(toRecord);
}

/** The records of one source file and row: the file as given (absolute), else every file of that base name. */
export function selectByFileRow(db: Database.Database, files: readonly string[], row: number): LedgerRecord[] {
  return db
    .prepare<[string, number], Row>(`${SELECT} WHERE source_file IN (SELECT value FROM json_each(?)) AND source_row = ? ORDER BY created_at`)
    .all(JSON.stringify(files), row)
    .map(toRecord);
}

/** The distinct source files the ledger holds (to match a base name). */
export function sourceFiles(db: Database.Database): string[] {
  return db.prepare<[], string>('SELECT DISTINCT source_file FROM letters ORDER BY source_file').pluck().all();
}
