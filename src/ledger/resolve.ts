/**
 * `ledger resolve`: what a person found on the patient's chart for a letter whose outcome the
 * ledger does not know. `sent` makes the key sent (every later run skips it); `not-sent` makes it
 * failed, which a plain run sends again (no --resend-unknown). Each resolution is a new row of the
 * resolutions table, never changed afterwards: the history of who decided what, and when.
 *
 * Only a key that is unknown, or pending with no live run holding it, can be resolved; and a key
 * whose present status a resolution set (no run has touched it since) can be resolved again, to
 * correct a mistake: that adds to the history and changes the status again. A key a run sent or
 * failed is refused, naming its status.
 */
import { basename, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { plainText, UsageError } from '../errors.js';
import { showName } from '../escape.js';
import { SELECT, currentResolution, selectByFileRow, sourceFiles, toRecord, type LedgerRecord, type LedgerStatus, type Resolution, type ResolutionOutcome, type Row } from './records.js';

export interface ResolveRequest {
  /** The letter key; or `file` and `row`, the CSV file as a run was given it and its data row. */
  letterKey?: string;
  file?: string;
  row?: number;
  outcome: ResolutionOutcome;
  /** With `sent`: the id of the letter found on the chart. */
  letterId?: string;
  /** Who looked at the chart. */
  by: string;
  /** Where a relative `file` is resolved from (default: the working folder). */
  cwd?: string;
}

export interface ResolveResult {
  /** The record after the resolution. */
  record: LedgerRecord;
  /** Its status before. */
  previous: LedgerStatus;
  resolution: Resolution;
  /** The key had already been resolved (this corrects the earlier resolution). */
  again: boolean;
}

/** Record a resolution in one IMMEDIATE transaction; `inFlight` tells whether a pending key's run is still going. */
export function resolveLetter(db: Database.Database, ledgerFile: string, req: ResolveRequest, inFlight: (rec: LedgerRecord) => boolean): ResolveResult {
  const by = plainText(req.by, '--by', 'the name of the person who looked at the chart', 'nothing was recorded');
  const letterId = req.letterId === undefined ? undefined : plainText(req.letterId, '--letter-id', 'the id of the letter found on the chart', 'nothing was recorded');
  if (req.outcome === 'not-sent' && letterId !== undefined) throw new UsageError('--letter-id goes with --sent only', 'nothing was recorded');
  return db.transaction((): ResolveResult => {
    const rec = findRecord(db, ledgerFile, req);
    const again = currentResolution(rec) !== undefined;
    if (!again) refuseUnresolvable(rec, inFlight);
    const at = new Date().toISOString();
    const status = req.outcome === 'sent' ? 'sent' : 'failed';
    db.prepare('INSERT INTO resolutions (letter_key, outcome, letter_id, by, at) VALUES (?, ?, ?, ?, ?)').run(rec.letterKey, req.outcome, letterId ?? null, by, at);
    db.prepare(`UPDATE letters SET status = @status, updated_at = @at,
        letter_id = CASE WHEN @status = 'sent' THEN coalesce(@letterId, letter_id) ELSE NULL END
      WHERE letter_key = @letterKey`).run({ status, at, letterId: letterId ?? null, letterKey: rec.letterKey });
    const record = toRecord(db.prepare<[string], Row>(`${SELECT} WHERE letter_key = ?`).get(rec.letterKey)!);
    return { record, previous: rec.status, resolution: record.lastResolution!, again };
  }).immediate();
}

function refuseUnresolvable(rec: LedgerRecord, inFlight: (rec: LedgerRecord) => boolean): void {
  const which = `letter ${rec.letterKey} (${showName(rec.sourceFile)} row ${rec.row})`;
  if (rec.status === 'unknown') return;
  if (rec.status === 'pending') {
    if (!inFlight(rec)) return;
    throw new UsageError(`${which} is pending in a run still going (process ${rec.pid})`, 'wait for that run to finish; resolve it then if it ends unknown; nothing was recorded');
  }
  const hint =
    rec.status === 'sent'
      ? `a run created it in Canvas at ${rec.updatedAt}${rec.letterId ? ` (letter id ${showName(rec.letterId)})` : ''}: there is nothing to resolve`
      : 'Canvas refused it, or it never left: a plain send tries it again; there is nothing to resolve';
  throw new UsageError(`${which} is ${rec.status}, and only an unknown or pending letter can be resolved`, `${hint}; nothing was recorded`);
}

/** The record a request names: by letter key, or by CSV file (as given, else its base name) and row. */
function findRecord(db: Database.Database, ledgerFile: string, req: ResolveRequest): LedgerRecord {
  if (req.letterKey !== undefined) {
    const row = db.prepare<[string], Row>(`${SELECT} WHERE letter_key = ?`).get(req.letterKey);
    if (!row) throw new UsageError(`no letter ${showName(req.letterKey)} in ${showName(ledgerFile)}`, 'check the key: canvas-letters ledger list shows them; nothing was recorded');
    return toRecord(row);
  }
  if (req.file === undefined || req.row === undefined) throw new UsageError('give a letter key, or --file and --row', 'nothing was recorded');
  const file = matchFile(db, ledgerFile, req.file, req.cwd ?? process.cwd());
  const found = selectByFileRow(db, [file], req.row);
  const where = `${showName(file)} row ${req.row}`;
  if (found.length === 0) throw new UsageError(`no letter of ${where} in ${showName(ledgerFile)}`, 'check the row (canvas-letters ledger list shows the rows recorded); nothing was recorded');
  if (found.length > 1) {
    throw new UsageError(
      `${where} made ${found.length} letters in the ledger (${found.map((r) => `${r.letterKey} ${r.status}`).join(', ')})`,
      'give the letter key instead of --file and --row; nothing was recorded',
    );
  }
  return found[0]!;
}

/** The source file the ledger holds for `given`: the same path (absolute, or as given), else the one file of that base name. */
function matchFile(db: Database.Database, ledgerFile: string, given: string, cwd: string): string {
  const files = sourceFiles(db);
  const abs = resolve(cwd, given);
  if (files.includes(abs)) return abs;
  if (files.includes(given)) return given;
  const name = basename(given);
  const same = files.filter((f) => basename(f) === name);
  if (same.length === 1) return same[0]!;
  if (same.length === 0) throw new UsageError(`no letter from a file named ${showName(name)} in ${showName(ledgerFile)}`, 'give the CSV file a run was given (canvas-letters ledger list shows them); nothing was recorded');
  throw new UsageError(
    `${showName(name)} is ambiguous: the ledger holds letters from ${same.length} files of that name (${same.map(showName).join(', ')})`,
    'give the file with its folder; nothing was recorded',
  );
}
