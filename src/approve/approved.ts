/**
 * An approved batch, as `send --approved <preview-dir>` opens it: every check made before
 * anything else (before a ledger is opened, before any request), and each refusal a
 * UsageError (exit 2) that names the rows. approval.json must seal this batch.json (its
 * sha256), every letter file must be the one batch.json sealed, and report.json (the
 * preview's rows) must agree with batch.json. The letters are then sent from the files, with
 * the keys batch.json sealed (older batches without them: the report's).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isPlainText, UsageError } from '../errors.js';
import { showName } from '../escape.js';
import { readRegularFile } from '../fsutil.js';
import { REPORT_JSON } from '../report/writer.js';
import { KEY_FIELDS, type Keys, type ReportRow } from '../types.js';
import { APPROVAL_ID } from '../canvas/letters.js';
import { BATCH_FILE, changedRows, describeChanged, describeRows, isIsoTime, readBatch, sealedFileRefusal, sha256Hex, wellFormedKeys, type Batch, type BatchRow } from './batch.js';
import { APPROVAL_FILE, APPROVAL_VERSION, approvalSeal, type Approval } from './index.js';

/** An approved letter: its batch row, with the keys it is sent with. */
export interface ApprovedLetter extends BatchRow {
  keys: Keys;
}

export interface ApprovedBatch {
  /** The preview folder. */
  dir: string;
  batch: Batch;
  approval: Approval;
  /** Rows of the preview (its report's rows: 1..rows). */
  rows: number;
  /** The approved letters, in row order. */
  letters: ApprovedLetter[];
  /** Every other row of the preview (excluded, not approved, not previewed): `not_attempted`, "not approved". */
  notApproved: ReportRow[];
  /** Notes for the person (file names only): the CSV changed since the preview. */
  warnings: string[];
}

const HEX = /^[0-9a-f]{64}$/;
const AGAIN = 'preview again into a new folder, review it, approve it, then send that folder';

/** Open and check an approved preview folder. Throws UsageError (exit 2) for every refusal; reads only. */
export function openApproved(dir: string): ApprovedBatch {
  const { batch, sha256 } = readBatch(dir);
  const approval = readApproval(dir);
  if (approval.batchSha256 !== sha256) {
    throw new UsageError(`${showName(dir)}: ${BATCH_FILE} changed since it was approved (its sha256 is not the one ${APPROVAL_FILE} sealed); nothing was sent`, AGAIN);
  }
  const inBatch = new Map(batch.rows.map((r) => [r.row, r]));
  checkApprovalRows(dir, approval, inBatch);
  const changed = changedRows(dir, batch);
  if (changed.length > 0) {
    throw new UsageError(`${showName(dir)}: ${describeChanged(changed)}; nothing was sent`, AGAIN);
  }
  const report = readReportRows(dir);
  const approved = new Set(approval.approved);
  const byRow = new Map(report.map((r) => [r.row, r]));
  const letters: ApprovedLetter[] = [];
  const disagree: number[] = [];
  for (const row of approval.approved) {
    const letter = withKeys(inBatch.get(row)!, byRow.get(row));
    if (letter) letters.push(letter);
    else disagree.push(row);
  }
  if (disagree.length > 0) {
    throw new UsageError(`${showName(dir)}: ${REPORT_JSON} does not agree with ${BATCH_FILE} (keys, template or letter file): ${describeRows(disagree, 'not matching')}; nothing was sent`, AGAIN);
  }
  // batch.json's keys were checked as it was read; an older batch's come from report.json.
  const malformed = letters.filter((l) => !wellFormedKeys(l.keys)).map((l) => l.row);
  if (malformed.length > 0) {
    const what = describeRows(malformed, 'with a malformed Canvas key (letters, digits and - only, at most 64 characters)');
    throw new UsageError(`${showName(dir)}: ${REPORT_JSON}, whose Canvas keys a ${BATCH_FILE} without keys is sent with, has ${what}; nothing was sent`, AGAIN);
  }
  const notApproved = report.filter((r) => !approved.has(r.row)).map((r) => notApprovedRow(r));
  return { dir, batch, approval, rows: report.length, letters, notApproved, warnings: csvNote(batch) };
}

/** `<dir>/approval.json`, checked field by field. */
export function readApproval(dir: string): Approval {
  const file = join(dir, APPROVAL_FILE);
  const bytes = readRegularFile(file, sealedFileRefusal);
  if (bytes === undefined) throw new UsageError(`${showName(dir)}: not approved yet (no ${APPROVAL_FILE}); nothing was sent`, `run canvas-letters approve ${showName(dir)} --by <name> once its index.html is reviewed`);
  let a: Partial<Approval> | null;
  try {
    a = JSON.parse(bytes.toString('utf8')) as Partial<Approval> | null;
  } catch {
    a = null;
  }
  const rows = (v: unknown) => Array.isArray(v) && v.every((n) => Number.isInteger(n) && (n as number) > 0);
  const ok =
    typeof a === 'object' && a !== null && a.version === APPROVAL_VERSION && typeof a.id === 'string' && APPROVAL_ID.test(a.id) &&
    isPlainText(a.approver) && isIsoTime(a.approvedAt) && typeof a.batchSha256 === 'string' &&
    HEX.test(a.batchSha256) && rows(a.approved) && rows(a.excluded) && typeof a.seal === 'string';
  if (!ok) throw new UsageError(`${showName(file)} cannot be read (damaged or edited); nothing was sent`, AGAIN);
  const approval = a as Approval;
  if (approvalSeal(approval) !== approval.seal) {
    throw new UsageError(`${showName(file)} was edited after the approval (its fields no longer match its seal); nothing was sent`, AGAIN);
  }
  return approval;
}

/**
 * The approval's rows are the batch's: each approved or excluded (never both, each once), none
 * outside it. approval.json was sealed (approvalSeal), so this fails only for a seal made again.
 */
function checkApprovalRows(dir: string, approval: Approval, inBatch: ReadonlyMap<number, BatchRow>): void {
  const strange = approval.approved.filter((row) => !inBatch.has(row));
  if (strange.length > 0) throw new UsageError(`${showName(dir)}: ${APPROVAL_FILE} approves ${describeRows(strange, 'not in the batch')}; nothing was sent`, AGAIN);
  const seen = new Map<number, number>();
  for (const row of [...approval.approved, ...approval.excluded]) seen.set(row, (seen.get(row) ?? 0) + 1);
  const twice = [...seen].filter(([, n]) => n > 1).map(([row]) => row);
  const neither = [...inBatch.keys()].filter((row) => !seen.has(row));
  const outside = approval.excluded.filter((row) => !inBatch.has(row));
  if (twice.length + neither.length + outside.length > 0) {
    const what = [
      twice.length ? describeRows(twice, 'listed twice') : '',
      neither.length ? describeRows(neither, 'neither approved nor excluded') : '',
      outside.length ? describeRows(outside, 'excluded but not in the batch') : '',
    ].filter(Boolean);
    throw new UsageError(`${showName(dir)}: ${APPROVAL_FILE} does not cover ${BATCH_FILE}'s rows (${what.join('; ')}); nothing was sent`, AGAIN);
  }
}

/** The preview's report rows (every row of its CSV), in row order. */
function readReportRows(dir: string): ReportRow[] {
  const file = join(dir, REPORT_JSON);
  let rows: unknown;
  try {
    const bytes = readRegularFile(file);
    rows = bytes === undefined ? undefined : (JSON.parse(bytes.toString('utf8')) as { rows?: unknown }).rows;
  } catch {
    rows = undefined;
  }
  const valid = Array.isArray(rows) && rows.every((r, i) => typeof r === 'object' && r !== null && (r as ReportRow).row === i + 1);
  if (!valid) throw new UsageError(`${showName(file)} cannot be read (missing, damaged or edited); nothing was sent`, AGAIN);
  return rows as ReportRow[];
}

/** The batch row with its keys (batch.json's, else the report's), or undefined when the report disagrees with it. */
function withKeys(b: BatchRow, r: ReportRow | undefined): ApprovedLetter | undefined {
  if (!r || r.status !== 'previewed' || r.template !== b.template || r.preview !== b.file) return undefined;
  const reported = Object.fromEntries(KEY_FIELDS.map((f) => [f, r[f]])) as Keys;
  if (!KEY_FIELDS.every((f) => typeof reported[f] === 'string')) return undefined;
  if (b.keys && !KEY_FIELDS.every((f) => b.keys![f] === reported[f])) return undefined;
  return { ...b, keys: b.keys ?? reported };
}

function notApprovedRow(r: ReportRow): ReportRow {
  const { row, patientKey, providerKey, practiceLocationKey, template } = r;
  const keys = { patientKey: String(patientKey ?? ''), providerKey: String(providerKey ?? ''), practiceLocationKey: String(practiceLocationKey ?? '') };
  return { row, status: 'not_attempted', ...keys, template: String(template ?? ''), error: 'not approved' };
}

/** The CSV edited (or gone) since the preview: noted; the approved files are what is sent. */
function csvNote(batch: Batch): string[] {
  let now: string | undefined;
  try {
    now = sha256Hex(readFileSync(batch.csv.path));
  } catch {
    now = undefined;
  }
  if (now === batch.csv.sha256) return [];
  const what = now === undefined ? 'cannot be read now' : 'changed since the preview';
  return [`${showName(batch.csv.path)} ${what}: the approved letter files are sent as they were approved`];
}
