/**
 * `approve <preview-dir> --by <name>`: a person's approval of a sealed preview. `prepareApproval`
 * checks everything and writes nothing: the folder is a complete preview (batch.json) not sent (no
 * send report in it; not every letter recorded sent by the ledger, when one is given) and not yet
 * approved, every letter file is the one batch.json sealed, and `--exclude` names rows of the batch. `writeApproval` then writes `approval.json` (0600, a new file, never overwritten) and
 * re-renders `index.html` to show the approval and mark the excluded rows. The library returns
 * data; the CLI prints and asks.
 */
import { randomUUID } from 'node:crypto';
import { basename, join } from 'node:path';
import { plainText, UsageError } from '../errors.js';
import { showName } from '../escape.js';
import { readRegularFile, writePrivateFile } from '../fsutil.js';
import { renderIndexPage, SearchIndexBuilder } from '../preview/gallery.js';
import { reportCommand } from '../report/out-dir.js';
import { REPORT_JSON, type ReportSummary } from '../report/writer.js';
import type { LoadedTemplate } from '../templates/index.js';
import type { ReportRow } from '../types.js';
import type { Ledger } from '../ledger/ledger.js';
import { batchTemplates, changedRows, describeChanged, describeRows, readBatch, sealedFileRefusal, sha256Hex, type Batch, type BatchRow, type ChangedLetter } from './batch.js';
import { parseRowList } from './rows.js';

export { BATCH_FILE, readBatch, type Batch, type BatchRow } from './batch.js';

export const APPROVAL_FILE = 'approval.json';
export const APPROVAL_VERSION = 1;
const GALLERY = 'index.html';

/** `<dir>/approval.json`. */
export interface Approval {
  version: typeof APPROVAL_VERSION;
  /** A random UUID: carried by what is sent from this approval. */
  id: string;
  approver: string;
  /** ISO time. */
  approvedAt: string;
  /** sha256 (hex) of batch.json's bytes. */
  batchSha256: string;
  approved: number[];
  excluded: number[];
  /**
   * sha256 (hex) of the fields above (approvalSeal): an approval.json edited by hand (another
   * approver, rows moved between approved and excluded) no longer matches it. It is a check, not a
   * signature: whoever can write the folder could as well run approve.
   */
  seal: string;
}

/** The seal of an approval's fields, in a fixed order. */
export function approvalSeal(a: Omit<Approval, 'seal'>): string {
  return sha256Hex(JSON.stringify([a.version, a.id, a.approver, a.approvedAt, a.batchSha256, a.approved, a.excluded]));
}

export interface ApprovalRequest {
  /** The preview folder. */
  dir: string;
  /** Who approves (`--by`). */
  by: string;
  /** Rows to leave out, `7,12-15` (`--exclude`). */
  exclude?: string;
  /** The ledger the batch is to be sent with, when there is one: the letters it records sent are counted (all sent: refused), and those of unknown outcome. */
  ledger?: Pick<Ledger, 'lookup'>;
}

/** What is about to be approved: checked, nothing written yet. */
export interface PendingApproval {
  dir: string;
  by: string;
  batch: Batch;
  batchSha256: string;
  approved: number[];
  excluded: number[];
  /** Approved letters per template, by name. */
  templates: { name: string; count: number }[];
  /** The CSV's file name. */
  csv: string;
  renderDate: string;
  /** `<dir>/index.html`. */
  gallery: string;
  /** Approved rows whose letter key the ledger (when given) records sent: `send --approved` skips them. */
  alreadySent: number[];
  /**
   * Approved rows whose letter key the ledger records `unknown` or `pending`: they may already be
   * in Canvas (a person checks the charts and records it with `ledger resolve`).
   */
  unknown: number[];
}

/** Check a preview folder for approval. Throws UsageError (exit 2) for every refusal; writes nothing. */
export function prepareApproval(req: ApprovalRequest): PendingApproval {
  const by = checkApprover(req.by);
  const { dir } = req;
  const command = reportCommand(join(dir, REPORT_JSON));
  if (command !== undefined && command !== 'preview') {
    throw new UsageError(`${showName(dir)} holds the report of a \`${showName(command)}\` run: this batch was already sent`, 'nothing was approved; preview again into a new folder to approve new letters');
  }
  const { batch, sha256 } = readBatch(dir);
  refuseApproved(dir);
  const inBatch = new Set(batch.rows.map((r) => r.row));
  const excluded = req.exclude === undefined ? [] : parseRowList(req.exclude, '--exclude');
  const unknown = excluded.filter((row) => !inBatch.has(row));
  if (unknown.length > 0) {
    throw new UsageError(`--exclude: ${describeRows(unknown, 'not in the batch')}`, 'give rows the preview wrote letters for (see its report.csv)');
  }
  const changed = changedRows(dir, batch);
  if (changed.length > 0) throw changedError(dir, changed);
  const left = new Set(excluded);
  const approvedRows = batch.rows.filter((r) => !left.has(r.row));
  if (approvedRows.length === 0) {
    throw new UsageError(`${showName(dir)}: no letters left to approve`, batch.rows.length ? 'exclude fewer rows' : 'the preview wrote no letters');
  }
  const { sent: alreadySent, unknown: unknownOutcome } = ledgerRows(approvedRows, req.ledger);
  if (alreadySent.length === approvedRows.length) {
    throw new UsageError(
      `${showName(dir)}: this batch was already sent: the ledger records ${approvedRows.length === 1 ? 'the letter to approve' : `all ${approvedRows.length} letters to approve`} as sent; nothing was approved`,
      'ledger list shows them; preview again into a new folder to approve new letters',
    );
  }
  const counts = new Map<string, number>();
  for (const r of approvedRows) counts.set(r.template, (counts.get(r.template) ?? 0) + 1);
  return {
    alreadySent,
    unknown: unknownOutcome,
    dir,
    by,
    batch,
    batchSha256: sha256,
    approved: approvedRows.map((r) => r.row),
    excluded,
    templates: [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([name, count]) => ({ name, count })),
    csv: basename(batch.csv.path),
    renderDate: batch.renderDate,
    gallery: join(dir, GALLERY),
  };
}

/**
 * Write approval.json for a checked approval, after checking the letter files once more, and
 * re-render index.html (replaced atomically) to show it. Returns what was written.
 */
export function writeApproval(p: PendingApproval, now: Date = new Date()): Approval {
  const search = new SearchIndexBuilder();
  const templates = sealedTemplates(p.batch);
  const changed = changedRows(p.dir, p.batch, (row, bytes) => search.add(row.row, templates(row.template), bytes.toString('utf8')));
  if (changed.length > 0) throw changedError(p.dir, changed);
  const fields = {
    version: APPROVAL_VERSION,
    id: randomUUID(),
    approver: p.by,
    approvedAt: now.toISOString(),
    batchSha256: p.batchSha256,
    approved: p.approved,
    excluded: p.excluded,
  } as const;
  const approval: Approval = { ...fields, seal: approvalSeal(fields) };
  // Never overwrites: an approval made meanwhile is refused here (O_EXCL).
  writePrivateFile(join(p.dir, APPROVAL_FILE), `${JSON.stringify(approval, null, 2)}\n`);
  const report = readReport(p.dir);
  if (report) {
    const page = renderIndexPage(report.summary, report.rows, p.batch.warnings ?? [], search.index(), {
      approver: approval.approver,
      approvedAt: approval.approvedAt,
      approved: approval.approved.length,
      excluded: approval.excluded,
    });
    writePrivateFile(p.gallery, page, { replace: true });
  }
  return approval;
}

/**
 * The rows whose letter key (the same key a send claims) the ledger records sent, and those it
 * records `unknown` or `pending` (maybe in Canvas), each in row order.
 */
function ledgerRows(rows: readonly BatchRow[], ledger: Pick<Ledger, 'lookup'> | undefined): { sent: number[]; unknown: number[] } {
  if (ledger === undefined) return { sent: [], unknown: [] };
  const known = ledger.lookup(rows.map((r) => r.letterKey));
  const status = (r: BatchRow) => known.get(r.letterKey)?.status;
  return {
    sent: rows.filter((r) => status(r) === 'sent').map((r) => r.row),
    unknown: rows.filter((r) => status(r) === 'unknown' || status(r) === 'pending').map((r) => r.row),
  };
}

/** `--by`: a name, 1 to 200 characters, without control characters. */
function checkApprover(by: string): string {
  return plainText(by, '--by', 'the name of the person approving (e.g. --by "Dr. Ada Smith")', 'nothing was approved');
}

/** An approval.json already there: say who and when. */
function refuseApproved(dir: string): void {
  const file = join(dir, APPROVAL_FILE);
  const bytes = readRegularFile(file, sealedFileRefusal);
  if (bytes === undefined) return;
  let earlier: Partial<Approval> | undefined;
  try {
    earlier = JSON.parse(bytes.toString('utf8')) as Partial<Approval>;
  } catch {
    earlier = undefined;
  }
  const who = typeof earlier?.approver === 'string' ? showName(earlier.approver) : 'someone';
  const at = typeof earlier?.approvedAt === 'string' ? showName(earlier.approvedAt) : 'an unknown time';
  throw new UsageError(`${showName(dir)}: already approved by ${who} at ${at} (${APPROVAL_FILE})`, `to approve again, remove ${APPROVAL_FILE} after checking why`);
}

function changedError(dir: string, changed: readonly ChangedLetter[]): UsageError {
  return new UsageError(`${showName(dir)}: ${describeChanged(changed)}; nothing was approved`, 'preview again into a new folder, review it, then approve that');
}

/** report.json's summary and rows, or undefined when it cannot be read (the gallery is then left as it is). */
function readReport(dir: string): { summary: ReportSummary; rows: ReportRow[] } | undefined {
  try {
    const bytes = readRegularFile(join(dir, REPORT_JSON));
    if (bytes === undefined) return undefined;
    const report = JSON.parse(bytes.toString('utf8')) as { summary?: ReportSummary; rows?: ReportRow[] };
    return report.summary && Array.isArray(report.rows) ? { summary: report.summary, rows: report.rows } : undefined;
  } catch {
    return undefined;
  }
}

type OwnText = Pick<LoadedTemplate, 'name' | 'ownText'>;

/**
 * Each template's own words for the gallery's search index, from the templates folder when its
 * files are still those batch.json sealed (rendered at the batch's date); otherwise none, so
 * every word of those letters is indexed with them.
 */
function sealedTemplates(batch: Batch): (name: string) => OwnText {
  const templates = batchTemplates(batch);
  const cache = new Map<string, OwnText>();
  return (name) => {
    let t = cache.get(name);
    if (t === undefined) {
      t = { name, ownText: () => undefined };
      try {
        if (templates?.sealed(name)) t = templates.set.get(name);
      } catch {
        // a template that no longer loads: no common words
      }
      cache.set(name, t);
    }
    return t;
  };
}
